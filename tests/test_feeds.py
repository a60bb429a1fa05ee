"""RSS and Atom feeds, read back with feedparser as a feed reader would."""

import calendar
import html
from html.parser import HTMLParser
from unittest import mock
from xml.etree import ElementTree

import feedparser
import pytest
from django.db import connection
from django.urls import reverse
from django.utils.http import parse_http_date

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

FEED_URLS = [
    ("/feed/", "rss20"),
    ("/feed/atom/", "atom10"),
    ("/sections/world/feed/", "rss20"),
    ("/sections/world/feed/atom/", "atom10"),
    ("/tags/china/feed/", "rss20"),
    ("/tags/china/feed/atom/", "atom10"),
    ("/bylines/william-roberts/feed/", "rss20"),
    ("/bylines/william-roberts/feed/atom/", "atom10"),
]


def read_feed(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, f"{url}: {parsed.get('bozo_exception')}"
    return parsed


@pytest.mark.parametrize(("url", "version"), FEED_URLS)
def test_feed_parses_cleanly_and_lists_only_live_stories(client, discovery_newsroom, url, version):
    response = client.get(url)
    assert "secretword" not in response.content.decode().casefold()
    parsed = read_feed(client, url)
    assert parsed.version == version
    assert [entry.title for entry in parsed.entries] == ["Live story about harbours"]


@pytest.mark.parametrize(("url", "version"), FEED_URLS)
def test_feed_entry_is_full(client, discovery_newsroom, url, version):
    story = discovery_newsroom["live"]
    [entry] = read_feed(client, url).entries
    assert entry.link == f"http://testserver{story.get_absolute_url()}"
    assert entry.id == f"tag:localhost,{story.created_at.date().isoformat()}:story:{story.pk}"
    assert calendar.timegm(entry.published_parsed) == int(story.published_at.timestamp())
    # Saved after publication, but nothing substantive: "updated" stays the publication time.
    assert calendar.timegm(entry.updated_parsed) == int(story.published_at.timestamp())
    assert [author["name"] for author in entry.authors] == ["William Roberts", "Ana Lima"]
    assert [tag.term for tag in entry.tags] == ["World", "China", "Taiwan"]
    assert entry.summary == "A deck about ports."
    assert entry.content[0].value == ("<p>First paragraph about ships.</p><p>Second paragraph.</p>")


def test_atom_authors_link_to_byline_pages(client, discovery_newsroom):
    [entry] = read_feed(client, "/feed/atom/").entries
    assert [author.get("href") for author in entry.authors] == [
        "http://testserver/bylines/william-roberts/",
        "http://testserver/bylines/ana-lima/",
    ]


def test_feed_guid_survives_a_new_headline_slug_and_date(client, discovery_newsroom):
    story = discovery_newsroom["live"]
    [before] = read_feed(client, "/feed/").entries
    story.headline = "A new headline"
    story.slug = "a-new-slug"
    story.published_at = story.published_at.replace(year=story.published_at.year - 1)
    story.save()
    [after] = read_feed(client, "/feed/").entries
    assert after.title == "A new headline"
    assert after.link != before.link
    assert after.id == before.id


@pytest.mark.parametrize("url", ["/feed/", "/feed/atom/"])
def test_feed_text_round_trips_markup_characters(client, url):
    StoryFactory(
        published=True,
        headline="Tom & Jerry <b>not bold</b> </script>",
        deck='A "deck" with <i>tags</i> & ampersands',
        body="<p>Body &lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>"
        "<script>alert(2)</script>",
        bylines=[BylineFactory(name="O'Brien <Ed>")],
    )
    [entry] = read_feed(client, url).entries
    # feedparser hands back HTML for HTML fields and plain text for text ones.
    assert as_text(entry.title_detail) == "Tom & Jerry <b>not bold</b> </script>"
    assert as_text(entry.summary_detail) == 'A "deck" with <i>tags</i> & ampersands'
    assert [author["name"] for author in entry.authors] == ["O'Brien <Ed>"]
    text = TextOnly()
    text.feed(entry.content[0].value)
    # The body is HTML: its escaped text comes back as text, its script not at all.
    assert text.text == "Body <script>alert(1)</script> & more"
    assert "alert(2)" not in entry.content[0].value


def as_text(detail):
    return html.unescape(detail.value) if detail.type == "text/html" else detail.value


class TextOnly(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = ""

    def handle_data(self, data):
        self.text += data


def test_story_without_deck_is_summed_up_by_its_first_paragraph(client):
    StoryFactory(published=True, deck="", body="<p>Opening words.</p><p>More.</p>")
    [entry] = read_feed(client, "/feed/").entries
    assert entry.summary == "Opening words."


def test_feed_holds_the_newest_twenty(client):
    section = SectionFactory()
    for number in range(25):
        StoryFactory(published=True, section=section, headline=f"Story {number}")
    entries = read_feed(client, "/feed/").entries
    assert len(entries) == 20


@pytest.mark.parametrize(
    "url", ["/sections/nowhere/feed/", "/tags/nowhere/feed/atom/", "/bylines/nobody/feed/"]
)
def test_feed_of_unknown_object_is_404(client, url):
    assert client.get(url).status_code == 404


def test_section_tag_and_byline_feeds_filter(client):
    world, sport = SectionFactory(slug="world"), SectionFactory(slug="sport")
    writer = BylineFactory(slug="writer")
    StoryFactory(published=True, section=world, headline="In world", tags=["Peru"])
    StoryFactory(published=True, section=sport, headline="In sport", bylines=[writer])
    assert [e.title for e in read_feed(client, "/sections/world/feed/").entries] == ["In world"]
    assert [e.title for e in read_feed(client, "/tags/peru/feed/").entries] == ["In world"]
    assert [e.title for e in read_feed(client, "/bylines/writer/feed/").entries] == ["In sport"]


@pytest.mark.parametrize(
    ("page", "feeds"),
    [
        ("/", ["/feed/", "/feed/atom/"]),
        ("/sections/world/", ["/sections/world/feed/", "/sections/world/feed/atom/"]),
        ("/tags/china/", ["/tags/china/feed/", "/tags/china/feed/atom/"]),
        (
            "/bylines/william-roberts/",
            ["/bylines/william-roberts/feed/", "/bylines/william-roberts/feed/atom/"],
        ),
    ],
)
def test_pages_link_their_feeds(client, discovery_newsroom, parse_html, page, feeds):
    links = parse_html(client.get(page)).find_all("link", rel="alternate")
    by_type = {(link["attrs"]["type"], link["attrs"]["href"]) for link in links}
    assert ("application/rss+xml", feeds[0]) in by_type
    assert ("application/atom+xml", feeds[1]) in by_type
    for _, href in by_type:
        assert read_feed(client, href).entries


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # the content generation (scheduled stories), stories with sections, bylines, tags,
        # corrections (for the honest updated date). Re-pinned from 6 and 7 when feeds were
        # cached whole (stories.delivery.fragments.cached_response) instead of entry by
        # entry: the query for the feed's story keys, which the entries were looked up
        # by, is gone.
        ("/feed/", 5),
        ("/feed/atom/", 5),
        # + the section, tag or byline itself
        ("/sections/world/feed/", 6),
        ("/tags/china/feed/atom/", 6),
        ("/bylines/william-roberts/feed/", 6),
    ],
)
def test_feed_query_budget_is_pinned_and_flat(client, django_assert_num_queries, url, expected):
    section = SectionFactory(name="World", slug="world")
    writer = BylineFactory(name="William Roberts", slug="william-roberts")
    StoryFactory(published=True, section=section, bylines=[writer], tags=["China"])
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    for number in range(25):
        StoryFactory(
            published=True,
            section=section,
            bylines=[writer, BylineFactory()],
            tags=["China", f"Tag {number}"],
        )
    # New stories start a new generation: nothing cached is used, all is read again.
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    # Cached: the whole response.
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200
    assert reverse("stories:feed") == "/feed/"


@pytest.mark.parametrize(("url", "version"), FEED_URLS)
def test_feed_updated_date_moves_for_a_correction_not_a_typo_fix(
    client, discovery_newsroom, url, version
):
    from datetime import timedelta

    from stories.models import Correction

    story = discovery_newsroom["live"]
    story.body = story.body.replace("ships", "ship")
    story.save()
    [entry] = read_feed(client, url).entries
    assert calendar.timegm(entry.updated_parsed) == int(story.published_at.timestamp())
    corrected_at = story.published_at + timedelta(minutes=30)
    Correction.objects.create(story=story, text="A name was wrong.", published_at=corrected_at)
    [entry] = read_feed(client, url).entries
    assert calendar.timegm(entry.updated_parsed) == int(corrected_at.timestamp())


# --- cached feeds (stories.reader.feeds, stories.delivery.fragments.cached_response) -----


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


@pytest.mark.parametrize("url", [url for url, _ in FEED_URLS])
def test_cached_feed_is_byte_for_byte_the_feed_rendered_afresh(client, settings, url):
    section = SectionFactory(name="World", slug="world")
    writer = BylineFactory(name="William Roberts", slug="william-roberts")
    for number in range(3):
        StoryFactory(
            published=True,
            section=section,
            headline=f"Story {number} <&> “quoted” Curaçao",
            bylines=[writer, BylineFactory(name=f"O'Brien {number}")],
            tags=["China", f"Tag {number}"],
        )
    cold = fetch(client, url)
    warm = fetch(client, url)
    settings.FRAGMENT_CACHE_SECONDS = 0
    fresh = fetch(client, url)
    assert cold.content == warm.content == fresh.content
    assert cold["Last-Modified"] == warm["Last-Modified"]
    # With the caches on, Last-Modified also counts when the feed's keys were invalidated
    # (removals leave no date in the feed), so it is never earlier than the feed's own date.
    assert parse_http_date(cold["Last-Modified"]) >= parse_http_date(fresh["Last-Modified"])
    assert len(read_feed(client, url).entries) == 3


@pytest.mark.parametrize("url", [url for url, _ in FEED_URLS])
def test_warm_feed_runs_no_query(client, discovery_newsroom, django_assert_max_num_queries, url):
    first = fetch(client, url)
    # The whole response is cached.
    with django_assert_max_num_queries(0):
        second = fetch(client, url)
    assert second.content == first.content


def test_cached_feeds_are_rendered_once_per_generation(client, discovery_newsroom, edits):
    from stories.reader.feeds import LatestStoriesFeed

    with mock.patch.object(
        LatestStoriesFeed, "get_feed", autospec=True, side_effect=LatestStoriesFeed.get_feed
    ) as rendered:
        for url in ("/feed/", "/feed/", "/sections/world/feed/", "/sections/world/feed/"):
            assert "Live story about harbours" in fetch(client, url).content.decode()
        # Each feed once; read again, it is served as it was rendered.
        assert rendered.call_count == 2
        edits["edit_headline"](discovery_newsroom)
        fetch(client, "/feed/")
        assert rendered.call_count == 3


def test_cached_feeds_are_per_host(client, discovery_newsroom, settings):
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    fetch(client, "/feed/atom/")
    [entry] = feedparser.parse(client.get("/feed/atom/", HTTP_HOST="other.example").content).entries
    assert entry.link.startswith("http://other.example/")
    assert entry.authors[0]["href"].startswith("http://other.example/")


@pytest.mark.parametrize(
    "url",
    [
        "/feed/",
        "/feed/atom/",
        "/sections/world/feed/",
        "/tags/china/feed/atom/",
        "/bylines/william-roberts/feed/",
    ],
)
@pytest.mark.parametrize(
    "edit",
    [
        "edit_headline",
        "rename_section",
        "rename_byline",
        "rename_tag",
        "add_byline",
        "add_tag",
        "publish_draft",
    ],
)
def test_edits_reach_the_next_cached_feed(client, discovery_newsroom, edits, url, edit):
    # Corrections: test_feed_updated_date_moves_for_a_correction_not_a_typo_fix.
    fetch(client, url)
    fetch(client, url)
    expected = edits[edit](discovery_newsroom)
    assert expected in fetch(client, url).content.decode()


def test_unpublished_story_leaves_the_cached_feed(client, discovery_newsroom):
    fetch(client, "/sections/world/feed/")
    story = discovery_newsroom["live"]
    story.status = "draft"
    story.save()
    assert read_feed(client, "/feed/").entries == []
    # It was the only live story of its section, bylines and tags: their feeds are gone.
    for url in ("/sections/world/feed/", "/bylines/ana-lima/feed/", "/tags/taiwan/feed/"):
        assert client.get(url).status_code == 404, url


def test_previews_and_drafts_never_reach_cached_feeds(
    client, discovery_newsroom, editor_user, django_assert_max_num_queries
):
    from stories.models import PreviewLink

    draft = discovery_newsroom["hidden"]["draft"]
    assert client.get(PreviewLink.objects.create(story=draft).get_absolute_url()).status_code == 200
    client.force_login(editor_user)
    assert client.get(draft.get_absolute_url()).status_code in (200, 404)
    for url, _ in FEED_URLS:
        fetch(client, url)
        assert "secretword" not in fetch(client, url).content.decode().casefold()
    client.logout()
    for url, _ in FEED_URLS:
        fetch(client, url)
        # Read again, the feed is all cached (no query): what was cached shows no hidden story.
        with django_assert_max_num_queries(0):
            cached = fetch(client, url).content.decode()
        assert "secretword" not in cached.casefold()


def test_scheduled_story_reaches_cached_feeds_when_it_goes_live(client, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now()
    section = SectionFactory(slug="world")
    StoryFactory(published=True, section=section, published_at=start - timedelta(hours=1))
    # A minute ahead: well within FRAGMENT_CACHE_SECONDS (300), so the feeds show the story
    # because its go-live started a new generation, not because the kept entries expired.
    StoryFactory(
        headline="Coming soon",
        status="published",
        section=section,
        published_at=start + timedelta(seconds=60),
        tags=["Soon"],
    )
    time_machine.move_to(start, tick=False)
    for url in ("/feed/", "/sections/world/feed/atom/"):
        fetch(client, url)
        assert "Coming soon" not in fetch(client, url).content.decode()
    assert client.get("/tags/soon/feed/").status_code == 404
    time_machine.shift(61)
    for url in ("/feed/", "/sections/world/feed/atom/", "/tags/soon/feed/"):
        assert "Coming soon" in fetch(client, url).content.decode()


def test_feeds_are_rendered_afresh_at_zero_seconds(client, discovery_newsroom, settings, edits):
    settings.FRAGMENT_CACHE_SECONDS = 0
    fetch(client, "/sections/world/feed/")
    with (
        mock.patch("django.core.cache.cache.get_many", side_effect=AssertionError("lookup")),
        mock.patch("django.core.cache.cache.get", side_effect=AssertionError("lookup")),
    ):
        assert read_feed(client, "/sections/world/feed/").entries
    expected = edits["edit_headline"](discovery_newsroom)
    assert expected in fetch(client, "/sections/world/feed/").content.decode()


# Names that are markup, an entity, the end of a CDATA section and quotes: feed readers
# must show each as the text it is, in the channel and in the entries, in both formats.
HOSTILE_NAMES = [
    "<img src=x onerror=alert(1)>",
    "&amp;",
    "Tom &amp; Jerry ]]> end",
    "\"Double\" and 'single' quotes",
    "<b>bold</b> & <script>alert(1)</script>",
]


def hostile_feed_urls(section, tag, byline):
    bases = ["/", f"/sections/{section.slug}/", f"/tags/{tag.slug}/", byline.get_absolute_url()]
    return [(base, f"{base}{feed}") for base in bases for feed in ("feed/", "feed/atom/")]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_feeds_read_hostile_names_as_text_in_the_channel_and_entries(client, name):
    section = SectionFactory(name=name, slug="hostile", description=f"About {name}")
    byline = BylineFactory(name=name, slug="hostile-writer", bio=f"Bio {name}")
    StoryFactory(published=True, section=section, bylines=[byline], headline=name, tags=[name])
    from taggit.models import Tag

    tag = Tag.objects.get()
    channels = {
        "/": ("Newsroom", "The latest stories from Newsroom."),
        f"/sections/{section.slug}/": (f"{name} · Newsroom", f"About {name}"),
        f"/tags/{tag.slug}/": (f"{name} · Newsroom", f"The latest stories tagged {name}."),
        byline.get_absolute_url(): (f"{name} · Newsroom", f"Bio {name}"),
    }
    for base, url in hostile_feed_urls(section, tag, byline):
        parsed = read_feed(client, url)
        title, description = channels[base]
        assert as_text(parsed.feed.title_detail) == title, url
        assert as_text(parsed.feed.subtitle_detail) == description, url
        [entry] = parsed.entries
        assert as_text(entry.title_detail) == name, url
        assert [category.term for category in entry.tags] == [name], url  # section = tag
        assert [author["name"] for author in entry.authors] == [name], url


def test_feeds_write_no_characters_xml_cannot_carry_even_if_stored(client, settings):
    """Rows written straight to the database (past the forms' checks) with every control
    character XML 1.0 forbids: every feed still answers, parses, and shows the text."""
    from taggit.models import Tag

    from stories.models import Byline, Section, Story

    # Every C0 control character but tab and line breaks (which XML carries), DEL, U+FFFE.
    bad = "".join(chr(code) for code in [*range(0x20), 0x7F] if chr(code) not in "\t\n\r")
    bad += "\ufffe"
    if connection.vendor == "postgresql":
        bad = bad.replace("\x00", "")  # its text type cannot hold NUL at all
    section = SectionFactory(name="World", slug="world")
    byline = BylineFactory(name="Ana", slug="ana")
    StoryFactory(published=True, section=section, bylines=[byline], tags=["Peru"])
    Story.objects.update(headline=f"Quake{bad}hits", deck=f"Deck{bad}", body=f"Body{bad}.")
    Section.objects.update(name=f"World{bad}", description=f"About{bad}")
    Byline.objects.update(name=f"Ana{bad}", bio=f"Bio{bad}")
    Tag.objects.update(name=f"Peru{bad}")
    for seconds in (settings.FRAGMENT_CACHE_SECONDS, 0):  # cached, and rendered afresh
        settings.FRAGMENT_CACHE_SECONDS = seconds
        for _, url in hostile_feed_urls(section, Tag.objects.get(), byline):
            parsed = read_feed(client, url)
            [entry] = parsed.entries
            assert as_text(entry.title_detail) == "Quakehits", url
            assert [author["name"] for author in entry.authors] == ["Ana"], url
            assert sorted(category.term for category in entry.tags) == ["Peru", "World"], url
    for url in ("/sitemap-news.xml", "/sitemap-stories.xml", "/sitemap-sections.xml"):
        response = client.get(url)
        assert response.status_code == 200, url
        ElementTree.fromstring(response.getvalue())  # well-formed
