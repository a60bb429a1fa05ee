"""The story page's "More in <section>" and "Related" lists: what they offer, what they never
offer (anything not live), and a query budget that does not grow with the archive."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from taggit.models import Tag

from stories.models import Story, StoryByline, TaggedStory
from stories.reader import related

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db


def ago(hours):
    return timezone.now() - timedelta(hours=hours)


def lists(response):
    """The headlines of the page's "More in" and "Related" lists."""
    html = response.content.decode()

    def headlines(heading_id):
        match = re.search(rf'aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
        if match is None:
            return []
        return re.findall(r'class="story-card__headline"><a href="[^"]+">([^<]+)</a>', match[1])

    return headlines("more-in-heading"), headlines("related-heading")


@pytest.fixture
def world():
    return SectionFactory(name="World", slug="world")


def story(headline, *, section, hours=1, tags=(), **kwargs):
    return StoryFactory(
        headline=headline,
        status=kwargs.pop("status", Story.Status.PUBLISHED),
        published_at=kwargs.pop("published_at", ago(hours)),
        section=section,
        tags=list(tags),
        **kwargs,
    )


def test_more_in_section_lists_the_newest_live_stories_of_the_section_but_this_one(client, world):
    sport = SectionFactory(name="Sport", slug="sport")
    page = story("This one", section=world, hours=3)
    for number in range(6):
        story(f"World {number}", section=world, hours=10 + number)
    story("Sport news", section=sport, hours=2)
    more, _ = lists(client.get(page.get_absolute_url()))
    assert more == ["World 0", "World 1", "World 2", "World 3"]
    html = client.get(page.get_absolute_url()).content.decode()
    assert 'More in <a href="/sections/world/">World</a>' in html


def test_related_ranks_by_shared_tags_then_recency_and_skips_more_in(client, world, settings):
    settings.FRAGMENT_CACHE_SECONDS = 0
    other = SectionFactory(name="Business", slug="business")
    page = story("This one", section=world, tags=["Peru", "Lima", "Mining"], hours=50)
    # Four newer World stories fill "More in"; the one sharing tags is not repeated.
    for number in range(4):
        story(f"World {number}", section=world, hours=1 + number, tags=["Peru"])
    story("Two tags, old", section=other, hours=40, tags=["Peru", "Lima"])
    story("Three tags, oldest", section=other, hours=45, tags=["Peru", "Lima", "Mining"])
    story("One tag, new", section=other, hours=5, tags=["Mining"])
    story("One tag, newer", section=other, hours=4, tags=["Lima"])
    story("No shared tag", section=other, hours=1, tags=["Chile"])
    story("Untagged", section=other, hours=1)
    more, found = lists(client.get(page.get_absolute_url()))
    assert more == ["World 0", "World 1", "World 2", "World 3"]
    assert found == ["Three tags, oldest", "Two tags, old", "One tag, newer", "One tag, new"]


HIDDEN = {
    "draft": {"status": Story.Status.DRAFT, "published_at": None},
    "review": {"status": Story.Status.REVIEW, "published_at": None},
    "unpublished": {"status": Story.Status.UNPUBLISHED, "published_at": None},
    "scheduled": {"published_at": timezone.now() + timedelta(days=1)},
}


@pytest.mark.parametrize("fragment_seconds", [300, 0])
@pytest.mark.parametrize("state", sorted(HIDDEN))
def test_more_in_and_related_never_offer_a_story_readers_may_not_see(
    client, world, settings, state, fragment_seconds
):
    settings.FRAGMENT_CACHE_SECONDS = fragment_seconds
    page = story("This one", section=world, tags=["Peru"], hours=5)
    kwargs = dict(HIDDEN[state])
    if state == "scheduled":
        kwargs["published_at"] = timezone.now() + timedelta(days=1)
    # Newer than the page and sharing every tag: first in both lists if it were live.
    story("Zqsecret merger", section=world, tags=["Peru"], **kwargs)
    story("Zqsecret elsewhere", section=SectionFactory(), tags=["Peru"], **kwargs)
    story("Live neighbour", section=world, hours=10, tags=["Peru"])
    response = client.get(page.get_absolute_url())
    assert lists(response) == (["Live neighbour"], [])
    assert "zqsecret" not in response.content.decode().casefold()


def test_a_scheduled_story_joins_the_lists_when_it_goes_live(client, world, settings):
    settings.FRAGMENT_CACHE_SECONDS = 300
    page = story("This one", section=world, tags=["Peru"], hours=5)
    at = timezone.now() + timedelta(hours=2)
    story("Scheduled", section=world, tags=["Peru"], published_at=at)
    story("Elsewhere", section=SectionFactory(), tags=["Peru"], published_at=at)
    assert lists(client.get(page.get_absolute_url())) == ([], [])
    with time_machine.travel(at + timedelta(minutes=1)):
        # The lists are kept with the page's pieces for at most FRAGMENT_CACHE_SECONDS and
        # follow the stories they show (edited, unpublished: their keys); a story newly live
        # joins them once that lifetime is over, as it is two hours on. Redis does not age
        # its entries with the travelling clock, so empty the cache as those hours would.
        cache.clear()
        assert lists(client.get(page.get_absolute_url())) == (["Scheduled"], ["Elsewhere"])


def test_related_reads_only_each_tags_newest_taggings(monkeypatch, world):
    """The window that keeps the query bounded: a story tagged before a tag's newest
    ``CANDIDATES_PER_TAG`` stories is not a candidate, however many tags it shares."""
    monkeypatch.setattr(related, "CANDIDATES_PER_TAG", 3)
    elsewhere = SectionFactory()
    old = story("Old, three tags", section=elsewhere, tags=["A", "B", "C"], hours=90)
    page = story("This one", section=world, tags=["A", "B", "C"], hours=80)
    newer = [story(f"New {n}", section=elsewhere, tags=["A", "B", "C"], hours=n) for n in (1, 2, 3)]
    tag_ids = list(Tag.objects.filter(name__in="ABC").values_list("pk", flat=True))
    found = related.related_stories(page, tag_ids, limit=10)
    assert [s.headline for s in found] == [s.headline for s in newer]
    assert old not in found
    monkeypatch.setattr(related, "CANDIDATES_PER_TAG", 4)
    assert old in related.related_stories(page, tag_ids, limit=10)


def test_related_query_reads_the_through_table_by_tag_with_a_limit(world):
    page = story("This one", section=world, tags=["Peru", "Lima"])
    tag_ids = [tag.pk for tag in page.tags.all()]
    with CaptureQueriesContext(connection) as queries:
        related.related_stories(page, tag_ids)
    (sql,) = [q["sql"] for q in queries.captured_queries]
    # One bounded range of the (tag, story) index per tag, never the whole table.
    assert sql.count("LIMIT 50") == 2
    assert sql.count("UNION ALL") == 1


def make_archive(count, section, tag_names, start=0):
    """``count`` live stories in ``section``, every one tagged with ``tag_names``, each with
    a byline: written in bulk, as the importer does."""
    byline = BylineFactory()
    now = timezone.now()
    numbers = range(start, start + count)
    Story.objects.bulk_create(
        [
            Story(
                headline=f"Archive {n}",
                slug=f"archive-{n}",
                body="<p>One.</p>",
                section=section,
                status=Story.Status.PUBLISHED,
                published_at=now - timedelta(minutes=n + 10),
            )
            for n in numbers
        ],
        batch_size=1000,
    )
    slugs = [f"archive-{n}" for n in numbers]
    stories = list(Story.objects.filter(slug__in=slugs).only("pk"))
    tags = [Tag.objects.get_or_create(name=name, slug=name.lower())[0] for name in tag_names]
    TaggedStory.objects.bulk_create(
        [TaggedStory(content_object=s, tag=tag) for s in stories for tag in tags], batch_size=2000
    )
    StoryByline.objects.bulk_create([StoryByline(story=s, byline=byline) for s in stories])


# Cold, measured: generation (with fragments on), story, section, bylines, tags, corrections,
# "More in", "Related", the bylines of both lists' cards, section menu, the footer's pages.
STORY_PAGE_BUDGET = 11


@pytest.mark.parametrize(
    ("page_seconds", "fragment_seconds"), [(300, 300), (0, 300), (300, 0), (0, 0)]
)
def test_story_page_query_budget_is_flat_from_100_to_10000_stories(
    client, settings, django_assert_max_num_queries, page_seconds, fragment_seconds
):
    settings.PAGE_CACHE_SECONDS = page_seconds
    settings.FRAGMENT_CACHE_SECONDS = fragment_seconds
    world = SectionFactory(name="World", slug="world")
    page = story("This one", section=world, tags=["Peru", "Lima", "Andes"], hours=0)
    StoryByline.objects.create(story=page, byline=BylineFactory())
    counts = []
    for total in (100, 10_000):
        made = Story.objects.count() - 1
        make_archive(total - made, world, ["Peru", "Lima"], start=made)
        with CaptureQueriesContext(connection) as queries:
            with django_assert_max_num_queries(STORY_PAGE_BUDGET):
                response = client.get(page.get_absolute_url())
        counts.append(len(queries))
        more, found = lists(response)
        assert len(more) == related.MORE_IN_SECTION
        assert len(found) == related.RELATED and not set(found) & set(more)
    assert counts[0] == counts[1]
    assert Story.objects.count() >= 10_000


def test_related_lists_stories_of_other_sections_in_a_large_archive(
    client, settings, django_assert_max_num_queries
):
    settings.FRAGMENT_CACHE_SECONDS = 0
    world, business = SectionFactory(slug="world"), SectionFactory(slug="business")
    page = story("This one", section=world, tags=["Peru", "Lima"], hours=0)
    make_archive(3_000, business, ["Peru"])
    best = story("Shares both", section=business, tags=["Peru", "Lima"], hours=30)
    with django_assert_max_num_queries(STORY_PAGE_BUDGET):
        _, found = lists(client.get(page.get_absolute_url()))
    assert found[0] == best.headline
    # Then one tag in common: of Peru's 50 newest taggings by story id (the best one and
    # Archive 2951-2999), the newest published.
    assert found[1:] == ["Archive 2951", "Archive 2952", "Archive 2953"]
