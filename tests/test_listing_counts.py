"""Each listing's count of live stories is kept in its row (``stories.listings.live_count``)
so a page prints "Page N of M" without counting the archive: the count readers get is exact
after every write path and at a scheduled story's hour, whether the writers' notes are still
waiting (the page counts) or applied (the row's count is read)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from taggit.models import Tag

from stories.changes import content_changed
from stories.editorial.tags import merge_tags
from stories.importer import import_briefings
from stories.importer.parser import parse_briefing
from stories.listings import MODELS, apply_pending, count_state, live_count
from stories.models import (
    ListingChange,
    ListingChangeNote,
    Section,
    Story,
    StoryByline,
    TaggedStory,
)

from .factories import BylineFactory, SectionFactory, StoryFactory

Kind = ListingChange.Kind


def later(seconds):
    return mock.patch(
        "django.utils.timezone.now", return_value=timezone.now() + timedelta(seconds=seconds)
    )


def expected():
    """``{(kind, pk): live stories}`` worked out the slow way, story by story (``None`` for
    every live story, the home page's)."""
    live = [story for story in Story.objects.all() if story.is_live()]
    found = {(None, None): len(live)}
    for kind, model in MODELS.items():
        for pk in model.objects.values_list("pk", flat=True):
            found[kind, pk] = 0
    for story in live:
        found[Kind.SECTION, story.section_id] += 1
        for tag in TaggedStory.objects.filter(content_object=story).values_list("tag", flat=True):
            found[Kind.TAG, tag] += 1
        for byline in StoryByline.objects.filter(story=story).values_list("byline", flat=True):
            found[Kind.BYLINE, byline] += 1
    return found


def assert_counts_exact():
    """Every listing's count is right as readers get it: first with the writers' notes still
    waiting, then once they are applied, when each listing with a live story (and the home
    page) reads its count from its row."""
    wanted = expected()
    assert {listing: live_count(*listing) for listing in wanted} == wanted
    apply_pending()
    assert {listing: live_count(*listing) for listing in wanted} == wanted
    for (kind, pk), count in wanted.items():
        if count or kind is None:
            state = count_state(kind, pk, timezone.now())
            assert state == {"count": count, "valid": True, "pending": False}, (kind, pk)


@pytest.fixture
def newsroom():
    """Two sections, tags and bylines; live, draft and scheduled stories. Counted once, so
    the rows hold counts before each write."""
    world, sport = SectionFactory(slug="world"), SectionFactory(slug="sport")
    ana, ben = BylineFactory(slug="ana"), BylineFactory(slug="ben")
    stories = {
        "live": StoryFactory(published=True, section=world, tags=["Ports", "Kenya"], bylines=[ana]),
        "other": StoryFactory(published=True, section=world, tags=["Ports"], bylines=[ben]),
        "draft": StoryFactory(status="draft", section=world, tags=["Ports"], bylines=[ana]),
        "scheduled": StoryFactory(
            scheduled=True, section=sport, tags=["Kenya", "Embargo"], bylines=[ben]
        ),
    }
    assert_counts_exact()
    return {"world": world, "sport": sport, "ana": ana, "ben": ben, **stories}


def save(story, **changes):
    for name, value in changes.items():
        setattr(story, name, value)
    story.save()


IMPORTED = "Dam opens on the river\nWater flowed through the gates in Kenya.\n— By Ana Lima\n"
CORRECTED = "Dam opens on the river\nWater flowed through the gates.\n— By Ana Lima\n"

WRITES = {
    "publish": lambda n: StoryFactory(
        published=True, section=n["sport"], tags=["Ports"], bylines=[n["ana"]]
    ),
    "publish-draft": lambda n: save(n["draft"], status="published", published_at=timezone.now()),
    "unpublish": lambda n: save(n["live"], status="unpublished"),
    "back-to-draft": lambda n: save(n["other"], status="draft"),
    "reschedule-live": lambda n: save(n["live"], published_at=timezone.now() + timedelta(days=2)),
    "move-section": lambda n: save(n["live"], section=n["sport"]),
    "edit-live": lambda n: save(n["live"], headline="A new headline"),
    "delete": lambda n: n["live"].delete(),
    "bulk-delete": lambda n: Story.objects.filter(section=n["world"]).delete(),
    "bulk-unpublish": lambda n: Story.objects.filter(pk=n["live"].pk).update(status="draft"),
    "bulk-publish": lambda n: Story.objects.filter(pk=n["draft"].pk).update(
        status="published", published_at=timezone.now()
    ),
    "tags-add": lambda n: n["other"].tags.add("Kenya", "Chad"),
    "tags-remove": lambda n: n["live"].tags.remove("Kenya"),
    "tags-set": lambda n: n["live"].tags.set(["Chad"]),
    "tags-clear": lambda n: n["live"].tags.clear(),
    "tag-rows-delete": lambda n: TaggedStory.objects.filter(tag__name="Ports").delete(),
    "tag-merge": lambda n: merge_tags(
        Tag.objects.get(name="Kenya"), [Tag.objects.get(name="Ports")]
    ),
    "byline-add": lambda n: StoryByline.objects.create(
        story=n["other"], byline=n["ana"], position=1
    ),
    "byline-delete": lambda n: StoryByline.objects.filter(story=n["live"]).delete(),
    "byline-move": lambda n: StoryByline.objects.filter(story=n["live"]).update(byline=n["ben"]),
    "import": lambda n: import_briefings([parse_briefing(IMPORTED, source="briefing.txt")]),
    "import-corrected": lambda n: [
        import_briefings([parse_briefing(text, source="briefing.txt")])
        for text in (IMPORTED, CORRECTED)
    ],
    "import-scheduled": lambda n: import_briefings(
        [parse_briefing(IMPORTED, source="2099-01-01-briefing.txt")]
    ),
}


def unnamed_bulk_write(n):
    with mock.patch("stories.models.ContentQuerySet.ANNOUNCED_ROWS", 0):
        Story.objects.filter(pk=n["live"].pk).update(status="draft")


WRITES["bulk-unnamed"] = unnamed_bulk_write


def check_write(newsroom, write):
    WRITES[write](newsroom)
    assert_counts_exact()
    # A day on, the scheduled stories (the newsroom's, any the write scheduled) are live:
    # their listings count them from their hour, the rows' counts being due.
    with later(3 * 24 * 3600):
        assert_counts_exact()


@pytest.mark.django_db
@pytest.mark.parametrize("write", sorted(WRITES))
def test_counts_stay_exact_after_every_write_path(newsroom, write):
    check_write(newsroom, write)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", sorted(WRITES))
def test_counts_stay_exact_outside_a_test_transaction(newsroom, write):
    check_write(newsroom, write)


@pytest.mark.django_db
def test_a_scheduled_story_counts_from_its_hour_and_not_before(newsroom):
    listings = [(None, None), (Kind.SECTION, newsroom["sport"].pk)]
    listings.append((Kind.TAG, Tag.objects.get(name="Embargo").pk))
    assert [live_count(*listing) for listing in listings] == [2, 0, 0]
    hour = newsroom["scheduled"].published_at
    with mock.patch("django.utils.timezone.now", return_value=hour - timedelta(microseconds=1)):
        assert [live_count(*listing) for listing in listings] == [2, 0, 0]
    with mock.patch("django.utils.timezone.now", return_value=hour):
        assert [live_count(*listing) for listing in listings] == [3, 1, 1]
        # Worked out again once, then read from the row.
        assert count_state(Kind.SECTION, newsroom["sport"].pk, hour)["valid"]


@pytest.mark.django_db
def test_a_counted_listing_costs_one_query(newsroom):
    for listing in [(None, None), (Kind.SECTION, newsroom["world"].pk)]:
        with CaptureQueriesContext(connection) as captured:
            assert live_count(*listing) == 2
        assert len(captured) == 1
        assert count_state(*listing, timezone.now())["valid"]


@pytest.mark.django_db
def test_pages_print_the_kept_count(client, settings, newsroom):
    settings.PAGE_CACHE_SECONDS = settings.FRAGMENT_CACHE_SECONDS = 0
    StoryFactory.create_batch(settings.STORIES_PER_PAGE, published=True, section=newsroom["world"])
    apply_pending()
    for url in ["/", "/sections/world/"]:
        assert "Page 1 of 2" in client.get(url).content.decode()
    # The row now holds the count: the page prints what the row says.
    ListingChange.objects.filter(kind=Kind.SECTION, listing_id=newsroom["world"].pk).update(
        live_count=99
    )
    assert "Page 1 of 5" in client.get("/sections/world/").content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", ["update", "delete", "bulk_create"])
def test_a_bulk_write_commits_with_its_notes(write):
    """Outside any transaction, a bulk write's announcements (the listings' notes) are made
    in the write's own transaction: else a reader could find the rows written and a kept
    count not yet noted stale."""
    story = StoryFactory(published=True)
    seen = []

    def listener(sender, **kwargs):
        seen.append(connection.in_atomic_block)

    content_changed.connect(listener, dispatch_uid="test-bulk-write-notes")
    try:
        if write == "update":
            Story.objects.filter(pk=story.pk).update(status="draft")
        elif write == "delete":
            Story.objects.filter(pk=story.pk).delete()
        else:
            Section.objects.bulk_create([Section(name="Later", slug="later")])
    finally:
        content_changed.disconnect(dispatch_uid="test-bulk-write-notes")
    assert seen and all(seen)
    assert_counts_exact()


@pytest.mark.django_db
def test_a_listing_without_a_row_gets_one_when_read(newsroom):
    """Rows from before counts were kept have none; a row lost (or never made) is made."""
    world = newsroom["world"].pk
    ListingChange.objects.filter(kind=Kind.SECTION, listing_id=world).delete()
    ListingChange.objects.filter(kind=Kind.TAG).update(live_count=None)
    assert live_count(Kind.SECTION, world) == 2
    assert count_state(Kind.SECTION, world, timezone.now())["valid"]
    assert_counts_exact()


@pytest.mark.django_db
@pytest.mark.parametrize("edit", ["headline", "tags-add"])
def test_an_edit_of_a_live_story_leaves_its_listings_counts_standing(newsroom, edit):
    """A live story edited in place counts once in the same listings: with its notes still
    waiting, every listing but a tag it was given reads its row's count (one query)."""
    story = newsroom["live"]
    if edit == "headline":
        save(story, headline="A new headline")
    else:
        story.tags.add("Chad")
    assert ListingChangeNote.objects.exists()
    chad = Tag.objects.filter(name="Chad").values_list("pk", flat=True).first()
    for listing in [(None, None), (Kind.SECTION, newsroom["world"].pk)] + [
        (Kind.TAG, pk) for pk in Tag.objects.exclude(pk=chad).values_list("pk", flat=True)
    ]:
        assert count_state(*listing, timezone.now())["valid"], listing
    assert_counts_exact()


@pytest.mark.django_db
def test_many_listings_changed_at_once_are_counted_by_their_pages(newsroom):
    """Past ``RECOUNT_HERE_MAX`` tags or bylines changed, applying notes leaves their counts
    to their pages (one listing at a time) instead of counting them all at once."""
    with mock.patch("stories.listings.RECOUNT_HERE_MAX", 1):
        StoryFactory(published=True, section=newsroom["sport"], tags=["Ports", "Kenya", "Chad"])
        apply_pending()
        tags = ListingChange.objects.filter(kind=Kind.TAG, live_count__isnull=True)
        assert tags.count() == 3
        assert_counts_exact()


@pytest.mark.django_db
def test_the_background_workers_tick_applies_writers_notes(newsroom):
    """Pages do not apply notes; the worker's tick does, within seconds of the write, so the
    pages after it read the kept counts again instead of counting."""
    from stories.webhooks.tasks import tick

    StoryFactory(published=True, section=newsroom["sport"], tags=["Ports"])
    assert ListingChangeNote.objects.exists()
    assert not count_state(None, None, timezone.now())["valid"]
    tick.call()
    assert not ListingChangeNote.objects.exists()
    assert count_state(None, None, timezone.now())["valid"]
    assert_counts_exact()
