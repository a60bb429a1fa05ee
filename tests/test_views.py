import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.models import Story

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 10


@pytest.fixture
def newsroom():
    """Live, draft, review and scheduled stories sharing a section, a tag and a byline."""
    section = SectionFactory(name="World", slug="world")
    writer = BylineFactory(name="William Roberts", slug="william-roberts")
    second = BylineFactory(name="Ana Lima", slug="ana-lima")
    live = StoryFactory(
        headline="Live story",
        slug="live-story",
        published=True,
        section=section,
        bylines=[writer, second],
        tags=["China", "Taiwan"],
        deck="A deck.",
    )
    hidden = {
        "draft": StoryFactory(headline="Draft story", slug="draft-story", section=section),
        "review": StoryFactory(
            headline="Review story", slug="review-story", section=section, status="review"
        ),
        "scheduled": StoryFactory(
            headline="Scheduled story", slug="scheduled-story", scheduled=True, section=section
        ),
    }
    for story in hidden.values():
        StoryByline = story.story_bylines.model
        StoryByline.objects.create(story=story, byline=writer, position=0)
        story.tags.add("China")
    return {"section": section, "byline": writer, "live": live, "hidden": hidden}


def listing_urls():
    return [
        reverse("stories:home"),
        reverse("stories:section", args=["world"]),
        reverse("stories:tag", args=["china"]),
        reverse("stories:byline", args=["william-roberts"]),
    ]


@pytest.mark.parametrize("url_index", range(4), ids=["home", "section", "tag", "byline"])
def test_listing_pages_show_only_live_stories(client, newsroom, url_index):
    response = client.get(listing_urls()[url_index])
    assert response.status_code == 200
    content = response.content.decode()
    assert "Live story" in content
    for name in ("Draft story", "Review story", "Scheduled story"):
        assert name not in content


@pytest.mark.parametrize("state", ["draft", "review", "scheduled"])
def test_story_page_answers_404_to_readers_until_live(client, newsroom, state):
    story = newsroom["hidden"][state]
    if story.published_at is None:
        story.published_at = timezone.now()
    response = client.get(story.get_absolute_url())
    assert response.status_code == 404


def test_story_page_renders_headline_deck_bylines_tags_and_paragraphs(client, newsroom, parse_html):
    story = newsroom["live"]
    response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    page = parse_html(response)
    [h1] = page.find_all("h1")
    assert h1["text"].strip() == "Live story"
    assert [e["text"] for e in page.find_all("p", **{"class": "story__deck"})] == ["A deck."]
    byline_links = page.find_all("a", **{"class": "byline"})
    assert [(a["text"], a["attrs"]["href"]) for a in byline_links] == [
        ("William Roberts", "/bylines/william-roberts/"),
        ("Ana Lima", "/bylines/ana-lima/"),
    ]
    assert [a["attrs"]["href"] for a in page.find_all("a", **{"class": "tag"})] == [
        "/tags/china/",
        "/tags/taiwan/",
    ]
    assert page.find_all("a", href="/sections/world/")
    [published] = [t for t in page.find_all("time") if "datetime" in t["attrs"]][:1]
    assert published["attrs"]["datetime"] == story.published_at.replace(microsecond=0).isoformat()
    body = response.content.decode().split('<div class="story__body">')[1].split("</div>")[0]
    assert re.findall(r"<p>(.*?)</p>", body) == ["First paragraph.", "Second paragraph."]
    assert re.sub(r"<p>.*?</p>", "", body).strip() == ""


def test_story_page_escapes_every_field(client):
    hostile = '<script>alert("x")</script>'
    story = StoryFactory(
        published=True,
        headline=f"Headline {hostile}",
        deck=f"Deck {hostile}",
        body=f"<p>Body {hostile}</p><p><img src=x onerror=alert(1)></p>",
        bylines=[BylineFactory(name=f"Name {hostile}")],
        tags=[f"Tag {hostile}"],
    )
    response = client.get(story.get_absolute_url())
    content = response.content.decode()
    assert "<script>" not in content
    assert "<img src=x" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content
    # The body is HTML: markup outside its allowlist is removed, not shown.
    assert "onerror" not in content
    assert "<p>Body </p>" in content


def test_story_page_with_wrong_date_redirects_permanently_to_canonical(client, newsroom):
    story = newsroom["live"]
    response = client.get("/1999/01/02/live-story/")
    assert response.status_code == 301
    assert response["Location"] == story.get_absolute_url()


@pytest.mark.parametrize(
    "url",
    [
        "/2024/02/30/live-story/",
        "/2024/13/01/live-story/",
        "/2024/01/01/no-such-story/",
        "/sections/nowhere/",
        "/tags/nowhere/",
        "/bylines/nobody/",
        "/?page=999",
        "/?page=abc",
    ],
)
def test_unknown_addresses_answer_404(client, newsroom, url):
    assert client.get(url).status_code == 404


def test_home_lists_newest_first_and_paginates(client, settings, parse_html):
    section = SectionFactory()
    now = timezone.now()
    for hours in range(25):
        StoryFactory(
            headline=f"Story {hours:02}",
            published=True,
            published_at=now - timedelta(hours=hours),
            section=section,
        )
    first_page = parse_html(client.get("/"))
    assert card_headlines(first_page) == [f"Story {hours:02}" for hours in range(20)]
    second_page = parse_html(client.get("/?page=2"))
    assert card_headlines(second_page) == [f"Story {hours:02}" for hours in range(20, 25)]
    assert second_page.find_all("a", rel="prev")


def card_headlines(page):
    # The lead is an <h2>, the stories under a section heading are <h3>s.
    return [
        e["text"].strip()
        for e in page.elements
        if "story-card__headline" in e["attrs"].get("class", "")
    ]


def test_home_leads_with_the_newest_story_then_groups_the_rest_by_section(client, parse_html):
    # With nothing pinned, the newest story leads and the next newest fill the top stories'
    # places (tests/test_front_page.py has pinned ones); the rest are grouped by section.
    world = SectionFactory(name="World", slug="world", position=1)
    sport = SectionFactory(name="Sport", slug="sport", position=2)
    now = timezone.now()
    for hours, section in enumerate([sport, world] * 4):
        StoryFactory(
            headline=f"{section.name} {hours}",
            published=True,
            published_at=now - timedelta(hours=hours),
            section=section,
        )
    page = parse_html(client.get("/"))
    [lead] = [e for e in page.elements if e["attrs"].get("class") == "lead"]
    assert "Sport 0" in lead["text"]
    headings = [(e["tag"], e["text"].strip()) for e in page.elements if e["tag"] in {"h2", "h3"}]
    assert headings == [
        ("h2", "Sport 0"),
        ("h2", "World 1"),
        ("h2", "Sport 2"),
        ("h2", "World 3"),
        ("h2", "Sport 4"),
        ("h2", "World"),
        ("h3", "World 5"),
        ("h3", "World 7"),
        ("h2", "Sport"),
        ("h3", "Sport 6"),
    ]
    assert len(page.find_all("h1")) == 1


def test_pagination_links_drop_other_query_parameters_and_mark_the_current_page(client, parse_html):
    section = SectionFactory(name="World", slug="world")
    for _ in range(45):
        StoryFactory(published=True, section=section)
    page = parse_html(client.get("/sections/world/?page=2&utm=x"))
    [nav] = page.find_all("nav", **{"aria-label": "Pages"})
    [newer] = page.find_all("a", rel="prev")
    [older] = page.find_all("a", rel="next")
    # Page 1 has one address; a campaign's parameters stay with the reader who brought them.
    assert (newer["text"], newer["attrs"]["href"]) == ("← Newer stories", "/sections/world/")
    assert (older["text"], older["attrs"]["href"]) == ("Older stories →", "?page=3")
    # The section menu marks its own current link; the page number is the other one.
    current = [
        a for a in page.find_all("a", **{"aria-current": "page"}) if "page=" in a["attrs"]["href"]
    ]
    [current] = current
    assert (current["text"], current["attrs"]["href"]) == ("Page 2", "?page=2")
    assert "Page 2 of 3" in nav["text"]


def make_stories(count, section, bylines, tags):
    for number in range(count):
        StoryFactory(
            published=True,
            section=section,
            bylines=bylines[number % 2 :] or bylines,
            tags=tags,
        )


@pytest.mark.parametrize(
    ("url", "few"),
    [
        ("/", 2),
        ("/sections/world/", 2),
        ("/tags/china/", 2),
        ("/bylines/william-roberts/", 2),
        ("/?page=2", 21),
    ],
)
def test_listing_query_count_does_not_grow_with_data(
    client, django_assert_max_num_queries, django_assert_num_queries, url, few
):
    section = SectionFactory(name="World", slug="world")
    bylines = [
        BylineFactory(name="William Roberts", slug="william-roberts"),
        BylineFactory(name="Ana Lima", slug="ana-lima"),
    ]
    make_stories(few, section, bylines, ["China"])
    with django_assert_max_num_queries(QUERY_BUDGET) as small:
        assert client.get(url).status_code == 200
    # A full page, more sections in the menu, more bylines and tags per story.
    for number in range(6):
        SectionFactory(name=f"Extra {number}", slug=f"extra-{number}")
    more_bylines = bylines + [BylineFactory() for _ in range(4)]
    make_stories(45, section, more_bylines, ["China", "Peru", "Chile", "Mali"])
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


def test_story_page_query_count_does_not_grow_with_bylines_or_tags(
    client, django_assert_max_num_queries, django_assert_num_queries
):
    story = StoryFactory(published=True, bylines=[BylineFactory()], tags=["China"])
    with django_assert_max_num_queries(QUERY_BUDGET) as small:
        assert client.get(story.get_absolute_url()).status_code == 200
    big = StoryFactory(
        published=True,
        bylines=[BylineFactory() for _ in range(5)],
        tags=[f"Tag {n}" for n in range(12)],
    )
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(big.get_absolute_url()).status_code == 200


def test_section_menu_lists_sections_in_position_order(client):
    StoryFactory(published=True, section=SectionFactory(name="Sport", slug="sport", position=2))
    StoryFactory(published=True, section=SectionFactory(name="World", slug="world", position=1))
    assert section_menu(client.get("/")) == ["World", "Sport"]


def section_menu(response):
    """The names in the page's section menu (story cards link sections too)."""
    nav = re.search(r'<nav class="section-nav".*?</nav>', response.content.decode(), re.DOTALL)
    return re.findall(r">([^<]+)</a>", nav.group()) if nav else []


@pytest.mark.parametrize("state", ["empty", "draft", "review", "scheduled", "unpublished"])
def test_section_menu_lists_only_sections_with_a_live_story(client, state):
    StoryFactory(published=True, section=SectionFactory(name="World", slug="world"))
    hidden = SectionFactory(name="Zqhidden desk", slug="zqhidden-desk")
    if state == "scheduled":
        StoryFactory(scheduled=True, section=hidden)
    elif state != "empty":
        StoryFactory(status=state, section=hidden, published_at=timezone.now())
    response = client.get("/")
    assert section_menu(response) == ["World"]
    assert "zqhidden" not in response.content.decode().casefold()
    assert client.get("/sections/zqhidden-desk/").status_code == 404


def test_drafts_stay_hidden_when_published_in_the_future(client):
    story = StoryFactory(scheduled=True)
    assert client.get(story.get_absolute_url()).status_code == 404
    assert Story.objects.live().count() == 0


@pytest.mark.parametrize(
    ("url", "cold"),
    [
        # Cold, the first view after a content change: the content generation (when the next
        # scheduled story goes live), count, section menu (the footer lists the same
        # sections), stories with sections and lead images (page keys as a subquery), bylines,
        # the footer's site pages; cards show no tags, so listings do not fetch them; page one
        # also reads the stories pinned on it (tests/test_front_page.py) and loads the lead
        # story's body for its opening paragraph.
        ("/", 8),
        # + the section itself and the story pinned atop it, with its lead's body
        ("/sections/world/", 9),
        # + the tag itself and its lead's body (no pins)
        ("/tags/china/", 8),
        # + the byline itself
        ("/bylines/william-roberts/", 7),
        # generation, story (its section and lead image joined), bylines, tags and
        # corrections, "More in" (with sections), "Related", section menu, site pages (no
        # other story is live here, so no card's bylines are read: tests/test_related.py pins
        # the page with cards)
        ("/story", 9),
    ],
)
def test_page_query_budget_is_pinned(client, newsroom, django_assert_num_queries, url, cold):
    if url == "/story":
        url = newsroom["live"].get_absolute_url()
    with django_assert_num_queries(cold):
        first = client.get(url)
    # Warm: what the page shows (its object, count, cards, meta tags, content, menu) is
    # cached for the content generation (stories/delivery/fragments.py, {% cache %}), and
    # rendered into the page.
    with django_assert_num_queries(0):
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content


@pytest.mark.parametrize("fragment_seconds", [300, 0])
def test_front_page_query_count_does_not_grow_with_its_sections(
    client, settings, django_assert_num_queries, fragment_seconds
):
    settings.FRAGMENT_CACHE_SECONDS = fragment_seconds
    for number in range(8):
        section = SectionFactory(name=f"Desk {number}", slug=f"desk-{number}", position=number)
        StoryFactory.create_batch(3, published=True, section=section, bylines=[BylineFactory()])
    # Cold: generation (if fragments are cached), count, menu, stories, the pinned stories,
    # all the cards' bylines in one query, the lead story's body, the footer's site pages;
    # eight sections on the page change none of it.
    with django_assert_num_queries(8 if fragment_seconds else 7):
        page = client.get("/").content.decode()
    assert all(f"Desk {number}" in page for number in range(8))


def test_pagination_links_carry_no_other_readers_parameters(client):
    section = SectionFactory(slug="world")
    StoryFactory.create_batch(25, published=True, section=section)
    first = client.get("/sections/world/", {"page": 2, "utm_source": "mail"}).content.decode()
    again = client.get("/sections/world/", {"page": 2}).content.decode()
    assert "utm_source" not in first and first == again
    assert 'href="/sections/world/"' in again and 'href="?page=2"' in again
