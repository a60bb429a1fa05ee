"""The section, tag and byline sitemaps read each listing's latest change from rows kept on
write (``stories.listings``): every write path keeps them equal to what the stories say, a
scheduled story counts from its hour, and the queries do not grow with the listings."""

from datetime import UTC, datetime, timedelta
from unittest import mock
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from taggit.models import Tag

from stories.editorial.tags import merge_tags
from stories.importer import import_briefings
from stories.importer.parser import parse_briefing
from stories.listings import RELATED, last_changes
from stories.models import Byline, ListingChangeNote, Section, Story, StoryByline, TaggedStory

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
MODELS = {"section": Section, "tag": Tag, "byline": Byline}


def listed(client, name):
    """``{address: lastmod}`` of a sitemap."""
    response = client.get(f"/sitemap-{name}.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.getvalue())
    return {
        url.find(f"{SITEMAP}loc").text.removeprefix("http://testserver"): (
            datetime.fromisoformat(url.find(f"{SITEMAP}lastmod").text)
        )
        for url in root.iter(f"{SITEMAP}url")
    }


def expected(kind):
    """What the stories say, worked out the slow way: each listing with a live story, and
    the latest save or publication among its live stories."""
    found = {}
    for story in Story.objects.live():
        at = max(story.updated_at, story.published_at)
        for pk in Story.objects.filter(pk=story.pk).values_list(RELATED[kind], flat=True):
            if pk is not None:
                found[pk] = max(found.get(pk, at), at)
    return found


def assert_rows_agree():
    for kind, model in MODELS.items():
        pks = list(model.objects.values_list("pk", flat=True))
        assert last_changes(kind, pks) == expected(kind), kind


def second(at):
    """A lastmod as the sitemap writes it: to the second."""
    return at.replace(microsecond=0)


def later(seconds):
    return mock.patch(
        "django.utils.timezone.now", return_value=timezone.now() + timedelta(seconds=seconds)
    )


def test_tag_of_drafts_and_scheduled_stories_only_appears_at_its_hour(client):
    StoryFactory(published=True, tags=["Harbours"])
    StoryFactory(status="draft", tags=["Merger talks"])
    scheduled = StoryFactory(
        published=True,
        published_at=timezone.now() + timedelta(hours=1),
        tags=["Merger talks", "Embargo"],
    )
    assert set(listed(client, "tags")) == {"/tags/harbours/"}
    with later(2 * 3600):
        tags = listed(client, "tags")
        assert set(tags) == {"/tags/harbours/", "/tags/merger-talks/", "/tags/embargo/"}
        assert tags["/tags/embargo/"] == second(scheduled.published_at)
        assert_rows_agree()


def test_scheduled_story_section_and_byline_count_from_its_hour(client):
    section = SectionFactory(slug="events")
    byline = BylineFactory(slug="new-hire")
    StoryFactory(
        published=True,
        published_at=timezone.now() + timedelta(hours=1),
        section=section,
        bylines=[byline],
    )
    assert "/sections/events/" not in listed(client, "sections")
    assert "/bylines/new-hire/" not in listed(client, "bylines")
    with later(2 * 3600):
        assert "/sections/events/" in listed(client, "sections")
        assert "/bylines/new-hire/" in listed(client, "bylines")


def test_lastmod_follows_an_edit_of_an_old_story(client):
    old = StoryFactory(
        published=True, published_at=timezone.now() - timedelta(days=30), tags=["Ports"]
    )
    StoryFactory(published=True, published_at=timezone.now() - timedelta(days=1), tags=["Ports"])
    before = listed(client, "tags")["/tags/ports/"]
    with later(60):
        old.headline = "Corrected"
        old.save()
        after = listed(client, "tags")["/tags/ports/"]
        assert after > before
        assert after == second(Story.objects.get(pk=old.pk).updated_at)
        assert_rows_agree()


@pytest.mark.parametrize(
    "take_away",
    [
        lambda story: story.tags.remove("Ports"),
        lambda story: story.tags.clear(),
        lambda story: story.tags.set(["Other"]),
        lambda story: Story.objects.filter(pk=story.pk).update(status="draft"),
        lambda story: Story.objects.filter(pk=story.pk).delete(),
        lambda story: story.delete(),
        lambda story: TaggedStory.objects.filter(content_object=story).delete(),
    ],
    ids=["remove", "clear", "set", "bulk-unpublish", "bulk-delete", "delete", "untag-rows"],
)
def test_a_tag_whose_last_live_story_goes_leaves_the_sitemap(client, take_away):
    story = StoryFactory(published=True, tags=["Ports"])
    StoryFactory(status="draft", tags=["Ports"])
    assert "/tags/ports/" in listed(client, "tags")
    take_away(story)
    assert "/tags/ports/" not in listed(client, "tags")
    assert_rows_agree()


def test_unpublishing_the_newest_story_moves_lastmod_back(client):
    older = StoryFactory(published=True, published_at=timezone.now() - timedelta(days=3))
    newest = StoryFactory(published=True, section=older.section, bylines=[])
    newest.bylines.set(older.bylines.all())
    with later(60):
        newest.status = Story.Status.UNPUBLISHED
        newest.save()
        sections = listed(client, "sections")
        assert sections[older.section.get_absolute_url()] == second(
            max(older.published_at, Story.objects.get(pk=older.pk).updated_at)
        )
        assert_rows_agree()


def test_moving_a_story_to_another_section_and_byline(client):
    story = StoryFactory(published=True, bylines=[BylineFactory(slug="first")])
    old_section = story.section
    story.section = SectionFactory(slug="elsewhere")
    story.save()
    StoryByline.objects.filter(story=story).update(byline=BylineFactory(slug="second"))
    assert old_section.get_absolute_url() not in listed(client, "sections")
    assert "/sections/elsewhere/" in listed(client, "sections")
    assert set(listed(client, "bylines")) == {"/bylines/second/"}
    assert_rows_agree()


def test_merging_tags_moves_the_listing(client):
    StoryFactory(published=True, tags=["Ports"])
    StoryFactory(published=True, tags=["Harbours"])
    merge_tags(Tag.objects.get(name="Harbours"), [Tag.objects.get(name="Ports")])
    assert set(listed(client, "tags")) == {"/tags/harbours/"}
    assert_rows_agree()


def test_imported_stories_count_in_their_listings(client):
    briefing = "Dam opens on the river\nWater flowed through the gates in Kenya.\n— By Ana Lima\n"
    import_briefings([parse_briefing(briefing, source="briefing.txt")])
    assert "/bylines/ana-lima/" in listed(client, "bylines")
    assert "/tags/kenya/" in listed(client, "tags")
    assert_rows_agree()
    # A correction that drops the tag takes it away again.
    corrected = "Dam opens on the river\nWater flowed through the gates.\n— By Ana Lima\n"
    import_briefings([parse_briefing(corrected, source="briefing.txt")])
    assert "/tags/kenya/" not in listed(client, "tags")
    assert_rows_agree()


def test_a_bulk_write_that_names_no_rows_makes_every_listing_worked_out_again(client):
    story = StoryFactory(published=True, tags=["Ports"])
    with mock.patch("stories.models.ContentQuerySet.ANNOUNCED_ROWS", 0):
        Story.objects.filter(pk=story.pk).update(status="draft")
    assert "/tags/ports/" not in listed(client, "tags")
    assert_rows_agree()


def test_listing_sitemaps_queries_do_not_grow_with_listings(client, django_assert_max_num_queries):
    def queries(name):
        listed(client, name)  # rows due after the writes are worked out once
        with CaptureQueriesContext(connection) as captured:
            listed(client, name)
        return len(captured)

    StoryFactory(published=True, tags=["A"])
    with CaptureQueriesContext(connection) as captured:
        listed(client, "tags")
    notes_applied = len(captured)
    few = {name: queries(name) for name in ("sections", "tags", "bylines")}
    for number in range(12):
        StoryFactory(published=True, tags=[f"Tag {number}", f"Other {number}"])
    # The first read applies the writes' notes, in as many queries for 12 stories as for 1.
    with django_assert_max_num_queries(notes_applied):
        listed(client, "tags")
    for name, count in few.items():
        with django_assert_max_num_queries(count):
            listed(client, name)
    assert not ListingChangeNote.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_write_paths_outside_a_test_transaction(client):
    story = StoryFactory(published=True, tags=["Ports", "Kenya"])
    scheduled = StoryFactory(
        published=True, published_at=timezone.now() + timedelta(hours=1), tags=["Embargo"]
    )
    assert set(listed(client, "tags")) == {"/tags/ports/", "/tags/kenya/"}
    story.tags.remove("Kenya")
    briefing = "Dam opens on the river\nWater flowed through the gates in Chad.\n— By Ana Lima\n"
    import_briefings([parse_briefing(briefing, source="briefing.txt")])
    assert set(listed(client, "tags")) == {"/tags/ports/", "/tags/chad/"}
    assert_rows_agree()
    with later(2 * 3600):
        assert "/tags/embargo/" in listed(client, "tags")
        assert listed(client, "tags")["/tags/embargo/"] == second(scheduled.published_at)
        assert_rows_agree()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Sao_Paulo"])
def test_story_child_addresses_and_lastmods_across_local_midnights(client, settings, zone):
    """The story child works out a day's address once per local day: each address is the
    story's own, around midnight and the change of clocks, and each lastmod its own."""
    settings.TIME_ZONE = zone
    base = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # Paris moves its clocks on the 29th
    for hours in range(0, 72, 2):
        StoryFactory(published=True, published_at=base + timedelta(hours=hours, minutes=59))
    StoryFactory(published=True, slug="économie-en-été", published_at=base)
    listed_stories = listed(client, "stories")
    with timezone.override(zone):
        expected_stories = {
            story.get_absolute_url(): second(
                max(story.published_at, story.updated_at).astimezone(
                    timezone.get_current_timezone()
                )
            )
            for story in Story.objects.live()
        }
    assert listed_stories == expected_stories
