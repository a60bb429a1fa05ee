"""The front page as editors choose it (issue 14): pins, what fills the places left, what
drops out by itself, and how home, section and tag pages lead with their top story."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.forms import modelform_factory
from django.utils import timezone

from stories.models import FrontPage, FrontPagePin, SectionTopStory, Story
from stories.reader.pieces import lead_and_top

from .factories import BylineFactory, SectionFactory, StoryFactory
from .sqlite_statistics import use_bench_statistics

pytestmark = pytest.mark.django_db


def story_at(hours_ago, **fields):
    fields.setdefault("published", True)
    if fields.pop("published"):
        fields.update(status="published", published_at=timezone.now() - timedelta(hours=hours_ago))
    return StoryFactory(**fields)


def pin(*stories):
    front_page = FrontPage.load()
    for position, story in enumerate(stories, start=1):
        front_page.pins.create(story=story, position=position)


def pin_atop(section, story):
    FrontPage.load().section_top_stories.update_or_create(
        section=section, defaults={"story": story}
    )


def card_headlines(page):
    return [
        e["text"].strip()
        for e in page.elements
        if "story-card__headline" in e["attrs"].get("class", "")
    ]


def headlines_in(html, css_class):
    """Card headlines inside the page's ``<section class="{css_class}">``s, in order."""
    sections = re.findall(rf'<section class="{css_class}".*?</section>', html, re.DOTALL)
    return [
        unescape(headline)
        for section in sections
        for headline in re.findall(r'story-card__headline"><a [^>]*>([^<]*)</a>', section)
    ]


def top_headlines(response):
    """The lead, then the top stories, as the home page prints them."""
    html = response.content.decode()
    return headlines_in(html, "lead") + headlines_in(html, "top-stories")


def lead_headlines_of(client, url):
    return headlines_in(client.get(url).content.decode(), "lead")


# --- the rules, without pages --------------------------------------------------------------


def test_lead_and_top_puts_pins_first_then_the_newest_once_each():
    a, b, c, d = (Story(pk=n, headline=str(n)) for n in range(1, 5))
    assert lead_and_top([c], [a, b, c, d], 3) == [c, a, b]
    assert lead_and_top([], [a, b], 3) == [a, b]
    assert lead_and_top([d, c, b], [a], 2) == [d, c]
    assert lead_and_top([], [], 5) == []


def test_pinned_on_home_keeps_the_editors_order_and_only_live_stories():
    first, second = story_at(30), story_at(2)
    scheduled = StoryFactory(scheduled=True)
    pulled = story_at(1)
    pin(second, scheduled, pulled, first)
    pulled.status = Story.Status.UNPUBLISHED
    pulled.save()
    assert list(Story.objects.live().pinned_on_home()) == [second, first]
    # The pins stay: a scheduled story takes its place when its time comes.
    assert FrontPagePin.objects.count() == 4


def test_pinned_atop_a_section_needs_the_story_live_and_still_in_it():
    world, sport = SectionFactory(slug="world"), SectionFactory(slug="sport")
    story = story_at(5, section=world)
    pin_atop(world, story)
    assert list(Story.objects.live().pinned_atop(world)) == [story]
    story.section = sport
    story.save()
    assert list(Story.objects.live().pinned_atop(world)) == []
    assert list(Story.objects.live().pinned_atop(sport)) == []


def test_a_section_top_story_must_be_in_that_section():
    world, sport = SectionFactory(name="World"), SectionFactory(name="Sport")
    choice = SectionTopStory(
        front_page=FrontPage.load(), section=world, story=story_at(1, section=sport)
    )
    with pytest.raises(ValidationError, match="is in Sport, not World"):
        choice.full_clean()


def test_a_story_is_pinned_on_home_once():
    story = story_at(1)
    pin(story)
    with pytest.raises(IntegrityError), transaction.atomic():
        FrontPage.load().pins.create(story=story, position=9)


def test_there_is_one_front_page():
    FrontPage.load()
    with pytest.raises(IntegrityError), transaction.atomic():
        FrontPage.objects.create(pk=2)


@pytest.mark.parametrize("state", ["draft", "review", "unpublished"])
def test_only_published_stories_may_be_pinned(state):
    form_class = modelform_factory(FrontPagePin, fields=["story", "position"])
    hidden = StoryFactory(status=state, published_at=timezone.now())
    scheduled, live = StoryFactory(scheduled=True), story_at(1)
    assert set(form_class().fields["story"].queryset) == {scheduled, live}
    form = form_class(data={"story": hidden.pk, "position": 1})
    assert not form.is_valid() and "story" in form.errors


# --- the home page --------------------------------------------------------------------------


def test_home_leads_with_the_pinned_story_and_fills_the_places_left(client, parse_html):
    section = SectionFactory(slug="world")
    newest = [story_at(hours, headline=f"Newest {hours}", section=section) for hours in range(8)]
    old_lead = story_at(72, headline="Pinned lead from three days ago", section=section)
    pinned_top = newest[6]
    pin(old_lead, pinned_top)
    response = client.get("/")
    assert top_headlines(response) == [
        "Pinned lead from three days ago",
        "Newest 6",
        "Newest 0",
        "Newest 1",
        "Newest 2",
    ]
    # Each story once on the page: the pinned top story is not repeated in its section.
    headlines = card_headlines(parse_html(response))
    assert len(headlines) == len(set(headlines)) == 9


def test_home_with_nothing_pinned_leads_with_the_newest(client, parse_html):
    for hours in range(3):
        story_at(hours, headline=f"Newest {hours}")
    assert top_headlines(client.get("/")) == ["Newest 0", "Newest 1", "Newest 2"]


def secrets_of(story):
    return [story.headline, story.slug, "Zqsecret"]


def assert_not_on(body, story):
    for secret in secrets_of(story):
        assert secret not in body


@pytest.mark.parametrize("fragment_seconds", [300, 0])
def test_pinned_scheduled_story_leads_from_its_time_without_an_edit(
    client, settings, page_cache, time_machine, fragment_seconds
):
    settings.FRAGMENT_CACHE_SECONDS = fragment_seconds
    start = timezone.now()
    section = SectionFactory(slug="world")
    story_at(3, headline="Yesterday's news", section=section)
    go_live = start + timedelta(minutes=10)
    embargoed = StoryFactory(
        headline="Zqsecret embargoed lead",
        slug="zqsecret-embargoed",
        deck="Zqsecret deck",
        section=section,
        status="published",
        published_at=go_live,
    )
    pin(embargoed)
    pin_atop(section, embargoed)
    time_machine.move_to(start, tick=False)
    for url in ("/", "/sections/world/", "/feed/"):
        for _ in range(2):  # rendered, then from the caches
            assert_not_on(client.get(url).content.decode(), embargoed)
    time_machine.move_to(go_live + timedelta(seconds=1), tick=False)
    for url in ("/", "/sections/world/"):
        [lead] = lead_headlines_of(client, url)
        assert lead == "Zqsecret embargoed lead"


def test_unpublished_pinned_story_is_gone_at_once(client, page_cache):
    section = SectionFactory(slug="world")
    story_at(3, headline="Still here", section=section)
    pulled = story_at(
        1, headline="Zqsecret pulled", slug="zqsecret-pulled", section=section, tags=["Peru"]
    )
    pin(pulled)
    pin_atop(section, pulled)
    for url in ("/", "/sections/world/", "/tags/peru/"):
        assert "Zqsecret pulled" in client.get(url).content.decode()
    pulled.status = Story.Status.UNPUBLISHED
    pulled.save()
    for url in ("/", "/sections/world/"):
        body = client.get(url).content.decode()
        assert_not_on(body, pulled)
        assert "Still here" in body
    assert client.get("/tags/peru/").status_code == 404


def test_pinning_and_unpinning_show_at_once_past_the_caches(client, page_cache, settings):
    settings.FRAGMENT_CACHE_SECONDS = 300
    section = SectionFactory(slug="world")
    old = story_at(100, headline="An old story worth leading", section=section)
    for hours in range(30):
        story_at(hours, section=section)
    assert "An old story worth leading" not in client.get("/").content.decode()
    client.get("/")  # now from the page cache
    pin(old)
    assert lead_headlines_of(client, "/") == ["An old story worth leading"]
    FrontPagePin.objects.filter(story=old).delete()  # a bulk delete announces itself too
    assert "An old story worth leading" not in client.get("/").content.decode()
    pin_atop(section, old)
    assert lead_headlines_of(client, "/sections/world/") == ["An old story worth leading"]
    SectionTopStory.objects.get().delete()
    assert lead_headlines_of(client, "/sections/world/") != ["An old story worth leading"]


# --- section and tag pages -----------------------------------------------------------------


def test_section_page_leads_with_its_pinned_story_or_its_newest(client, parse_html):
    world = SectionFactory(slug="world", name="World")
    stories = [story_at(hours, headline=f"World {hours}", section=world) for hours in range(22)]
    assert lead_headlines_of(client, "/sections/world/") == ["World 0"]
    pin_atop(world, stories[21])  # older than the first page
    page = parse_html(client.get("/sections/world/"))
    assert lead_headlines_of(client, "/sections/world/") == ["World 21"]
    # The pinned story once, atop twenty in all: the others are the newest nineteen.
    assert card_headlines(page) == ["World 21", *(f"World {hours}" for hours in range(19))]
    # Page 2 stays a plain list, newest first, with no lead, and without the pinned story.
    second = parse_html(client.get("/sections/world/?page=2"))
    assert card_headlines(second) == ["World 19", "World 20"]
    assert not [e for e in second.elements if "story-card--lead" in e["attrs"].get("class", "")]


def bulk_stories(count, section, prefix):
    """``count`` live stories in ``section``, "{prefix} 0" the newest, written in bulk."""
    now = timezone.now()
    Story.objects.bulk_create(
        Story(
            headline=f"{prefix} {n}",
            slug=f"{prefix.lower()}-{n}",
            body="<p>One.</p>",
            section=section,
            status=Story.Status.PUBLISHED,
            published_at=now - timedelta(minutes=n + 1),
        )
        for n in range(count)
    )
    return list(Story.objects.filter(headline__startswith=f"{prefix} ").order_by("-published_at"))


def every_page(client, parse_html, url):
    """Each page's card headlines, following "Page 1 of N" to the last page."""
    first = parse_html(client.get(url))
    [status] = [
        e["text"] for e in first.elements if e["attrs"].get("class") == "pagination__status"
    ]
    pages = int(status.split(" of ")[1])
    return [card_headlines(first)] + [
        card_headlines(parse_html(client.get(f"{url}?page={number}")))
        for number in range(2, pages + 1)
    ]


def assert_listed_once_each(pages, stories):
    """Every story on exactly one page, twenty a page but the last, as many pages as the
    count makes."""
    listed = [headline for page in pages for headline in page]
    assert sorted(listed) == sorted(story.headline for story in stories)
    assert [len(page) for page in pages[:-1]] == [20] * (len(pages) - 1)
    assert len(pages) == -(-len(stories) // 20)


@pytest.mark.parametrize("fragment_seconds", [300, 0])
def test_home_pins_are_listed_once_and_the_pages_stay_whole(
    client, parse_html, settings, fragment_seconds
):
    settings.FRAGMENT_CACHE_SECONDS = fragment_seconds
    world = SectionFactory(slug="world")
    # Past the deferred join's offset, so the deep pages read their keys first.
    stories = bulk_stories(150, world, "Story")
    # Pinned: one from page 2, one from deep in the archive, one among the newest, and a
    # scheduled one, which takes no place until its time comes.
    pin(stories[25], stories[140], StoryFactory(scheduled=True, section=world), stories[3])
    pages = every_page(client, parse_html, "/")
    assert top_headlines(client.get("/")) == [
        "Story 25",
        "Story 140",
        "Story 3",
        "Story 0",
        "Story 1",
    ]
    assert_listed_once_each(pages, stories)
    # Page 1: the three pinned and the seventeen newest others (0 to 17 but 3); page 2
    # goes on from there.
    assert pages[1][:3] == ["Story 18", "Story 19", "Story 20"]


def test_a_section_pin_is_listed_once_and_the_pages_stay_whole(client, parse_html):
    world, sport = SectionFactory(slug="world"), SectionFactory(slug="sport")
    stories = bulk_stories(130, world, "World")
    others = bulk_stories(30, sport, "Sport")
    pin_atop(world, stories[120])
    # Pinned on the home page only: the section lists it in its date order.
    pin(stories[60])
    section_pages = every_page(client, parse_html, "/sections/world/")
    assert section_pages[0][0] == "World 120"
    assert_listed_once_each(section_pages, stories)
    assert_listed_once_each(every_page(client, parse_html, "/"), stories + others)


# Outside the test's transaction: keys are invalidated when the pin's write commits.
@pytest.mark.django_db(transaction=True)
def test_a_pin_leaving_the_date_order_reaches_every_page_past_the_caches(
    client, parse_html, page_cache, settings
):
    settings.FRAGMENT_CACHE_SECONDS = 300
    world = SectionFactory(slug="world")
    stories = bulk_stories(45, world, "World")

    def later_pages():
        return {
            url: card_headlines(parse_html(client.get(f"{url}?page={number}")))
            for url in ("/", "/sections/world/")
            for number in (2, 3)
        }

    def headlines(*numbers):
        return [f"World {n}" for n in numbers]

    later_pages()  # cached, pages and pieces
    pin(stories[42])
    pin_atop(world, stories[42])
    for url in ("/", "/sections/world/"):
        assert card_headlines(parse_html(client.get(f"{url}?page=2"))) == headlines(*range(19, 39))
        assert card_headlines(parse_html(client.get(f"{url}?page=3"))) == headlines(
            39, 40, 41, 43, 44
        )
    FrontPagePin.objects.all().delete()  # bulk deletes announce themselves too
    SectionTopStory.objects.all().delete()
    for url in ("/", "/sections/world/"):
        assert card_headlines(parse_html(client.get(f"{url}?page=2"))) == headlines(*range(20, 40))
        assert card_headlines(parse_html(client.get(f"{url}?page=3"))) == headlines(*range(40, 45))


def test_a_section_whose_only_story_is_pinned_leads_with_it(client):
    world = SectionFactory(slug="world")
    story = story_at(1, headline="Alone", section=world)
    pin_atop(world, story)
    pin(story)
    assert lead_headlines_of(client, "/sections/world/") == ["Alone"]
    assert lead_headlines_of(client, "/") == ["Alone"]


def test_tag_page_leads_with_its_newest_story(client, parse_html):
    for hours in range(3):
        story_at(hours, headline=f"Tagged {hours}", tags=["Peru"])
    page = parse_html(client.get("/tags/peru/"))
    assert lead_headlines_of(client, "/tags/peru/") == ["Tagged 0"]
    assert card_headlines(page) == ["Tagged 0", "Tagged 1", "Tagged 2"]


def test_byline_page_stays_a_plain_list(client):
    byline = BylineFactory(slug="ada")
    story_at(1, bylines=[byline])
    assert "story-card--lead" not in client.get("/bylines/ada/").content.decode()


# --- images on listings ---------------------------------------------------------------------


def card_images(page):
    return [e["attrs"] for e in page.find_all("img") if "story-card__image" in e["attrs"]["class"]]


def ratio(attrs):
    return int(attrs["width"]) / int(attrs["height"])


def test_cards_carry_the_lead_image_cropped_and_lazy_only_below_the_fold(
    client, parse_html, media_root
):
    from .library import library_image

    image = library_image(size=(1000, 600), alt="Cranes at the harbour")
    section = SectionFactory(slug="world")
    for hours in range(8):
        story_at(hours, headline=f"Pictured {hours}", section=section, lead_image=image)
    story_at(9, headline="Words only", section=section)
    for url, eager in (("/", 5), ("/sections/world/", 4)):
        images = card_images(parse_html(client.get(url)))
        assert len(images) == 8, url  # the story without an image has none
        lead, *cards = images
        # The lead: the wide crop (16:9); the cards: 3:2; all around the focal point.
        assert round(ratio(lead), 2) == round(16 / 9, 2)
        assert all(round(ratio(card), 2) == 1.5 for card in cards)
        for attrs in images:
            assert attrs["alt"] == "Cranes at the harbour"
            assert attrs["decoding"] == "async"
            assert attrs["sizes"]
            candidates = [part.split() for part in attrs["srcset"].split(", ")]
            assert len(candidates) > 1 and all(c[1].endswith("w") for c in candidates)
            assert attrs["src"] == candidates[-1][0]  # the widest, for browsers without srcset
        # The lead and the first row load at once, the rest lazily.
        assert ["loading" in attrs for attrs in images] == [False] * eager + [True] * (8 - eager)
        assert all(attrs["loading"] == "lazy" for attrs in images[eager:])


def test_cards_without_an_image_are_marked_as_such(client, parse_html):
    story_at(1, headline="Words only")
    page = parse_html(client.get("/"))
    [card] = page.find_all("article")
    assert card["attrs"]["class"] == "story-card story-card--lead"
    assert not page.find_all("img", **{"class": "story-card__image"})


def test_a_pinned_scheduled_story_shows_not_even_its_image(client, parse_html, media_root):
    from .library import library_image

    story_at(2, headline="Out already")
    secret_image = library_image(alt="Zqsecret picture")
    embargoed = StoryFactory(scheduled=True, lead_image=secret_image, headline="Zqsecret")
    pin(embargoed)
    body = client.get("/").content.decode()
    assert "Zqsecret" not in body
    names = [r["name"] for shape in secret_image.renditions["shapes"].values() for r in shape]
    assert names and not any(name in body for name in names)


# --- query budgets --------------------------------------------------------------------------


def fake_image():
    """A library image row with renditions described (no files: pages only print names)."""
    from stories.models import Image

    shapes = {
        shape: [
            {"name": f"images/budget-{shape}-{width}.webp", "width": width, "height": height}
            for width, height in sizes
        ]
        for shape, sizes in {
            "card": [(320, 213), (640, 427)],
            "wide": [(640, 360), (1280, 720)],
        }.items()
    }
    return Image.objects.create(
        file="images/budget.jpg", alt="A picture", renditions={"shapes": shapes}
    )


def make_many(count):
    """``count`` live stories in one section, a tag on the newest 200, a lead image on every
    other one, and pins on home and atop the section (a live one each, besides a scheduled
    and a pulled one on home), written in bulk."""
    from taggit.models import Tag

    from stories.models import StoryByline, TaggedStory

    from .factories import BylineFactory

    world = SectionFactory(slug="world", name="World")
    for number in range(5):
        SectionFactory(slug=f"desk-{number}", name=f"Desk {number}", position=number + 1)
    image, byline = fake_image(), BylineFactory(slug="ada")
    now = timezone.now()
    Story.objects.bulk_create(
        (
            Story(
                headline=f"Story {n}",
                slug=f"story-{n}",
                body="<p>One.</p><p>Two.</p>",
                section=world,
                status=Story.Status.PUBLISHED,
                published_at=now - timedelta(minutes=n + 1),
                lead_image=image if n % 2 else None,
            )
            for n in range(count)
        ),
        batch_size=1000,
    )
    newest = list(Story.objects.order_by("-published_at")[:200])
    tag = Tag.objects.create(name="China", slug="china")
    StoryByline.objects.bulk_create(StoryByline(story=s, byline=byline) for s in newest)
    TaggedStory.objects.bulk_create(TaggedStory(content_object=s, tag=tag) for s in newest)
    oldest = Story.objects.order_by("published_at").first()
    pulled = story_at(1, headline="Pulled", section=world)
    pin(StoryFactory(scheduled=True, section=world), oldest, pulled)
    pulled.status = Story.Status.UNPUBLISHED
    pulled.save()
    pin_atop(world, oldest)
    return oldest


# Cold, the first view after a content change (fragments on; off, the generation is not
# looked up, one query less): the generation, count, section menu, the page's stories with
# their sections and lead images, their bylines; page one also reads the pinned stories and
# its lead's body; section and tag pages also read their section or tag; every page reads the
# footer's site pages.
CURATED_PAGE_BUDGETS = {"/": 8, "/sections/world/": 9, "/tags/china/": 8, "/?page=2": 6}


@pytest.mark.parametrize("count", [100, 10_000])
def test_curated_pages_query_budgets_are_flat(
    client, settings, django_assert_max_num_queries, django_assert_num_queries, count
):
    oldest = make_many(count)
    for page_cache_seconds, fragment_seconds in [(0, 300), (0, 0), (300, 300), (300, 0)]:
        settings.PAGE_CACHE_SECONDS = page_cache_seconds
        settings.FRAGMENT_CACHE_SECONDS = fragment_seconds
        cache.clear()
        for url, budget in CURATED_PAGE_BUDGETS.items():
            with django_assert_max_num_queries(budget):
                response = client.get(url)
            assert response.status_code == 200
            if url in ("/", "/sections/world/"):
                # The pinned story (the oldest of them all) leads.
                assert headlines_in(response.content.decode(), "lead") == [oldest.headline]
            if page_cache_seconds or fragment_seconds:
                # Read again: from the page cache, or rendered from cached pieces.
                with django_assert_num_queries(0):
                    assert client.get(url).content == response.content


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner without statistics")
def test_pinned_stories_are_read_from_the_pins_not_by_walking_every_live_story():
    """With statistics for the story table and none for the pins' (empty when analyzed), a
    join made SQLite walk every live story by date looking for its pin (1.3 ms at 10,000
    stories, twice a page now that the paginator leaves the pinned out)."""
    section = SectionFactory()
    stories = [StoryFactory(published=True, section=section) for _ in range(30)]
    use_bench_statistics()
    FrontPagePin.objects.create(front_page=FrontPage.load(), story=stories[3], position=1)
    SectionTopStory.objects.create(front_page=FrontPage.load(), section=section, story=stories[5])
    for pinned, wanted in (
        (Story.objects.live().pinned_on_home(), stories[3]),
        (Story.objects.live().pinned_atop(section), stories[5]),
    ):
        assert list(pinned) == [wanted]
        sql, params = pinned.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            steps = [row[-1] for row in cursor.fetchall()]
        # Each pinned story looked up by its key, none found by walking the live stories.
        story_steps = [step for step in steps if step.startswith("SEARCH stories_story ")]
        assert story_steps and all(step.endswith(("rowid=?)", "id=?)")) for step in story_steps), (
            steps
        )
