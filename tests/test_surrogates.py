"""Invalidation by surrogate key (stories/delivery/surrogates.py, dependencies.py): each change
invalidates exactly the keys of what shows it, pages carry their keys for the cache in front,
and the purge of that cache happens after commit, in the worker, retried on failure."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from stories.delivery import frontend, surrogates
from stories.delivery.dependencies import story_keys
from stories.delivery.tasks import purge_frontend_cache
from stories.models import Story

from .factories import BylineFactory, SectionFactory, StoryFactory


@pytest.fixture
def invalidated(monkeypatch):
    """The keys every ``surrogates.invalidate`` call is given, in order."""
    calls = []
    original = surrogates.invalidate

    def record(keys):
        calls.append(set(keys))
        original(keys)

    monkeypatch.setattr(surrogates, "invalidate", record)
    return calls


@pytest.fixture
def two_sections(db):
    world, sport = SectionFactory(slug="world"), SectionFactory(slug="sport")
    byline = BylineFactory()
    story = StoryFactory(section=world, published=True, bylines=[byline], tags=["Harbours"])
    other = StoryFactory(section=sport, published=True)
    return {"world": world, "sport": sport, "byline": byline, "story": story, "other": other}


def from_cache(client, url):
    return getattr(client.get(url), "from_reader_page_cache", False)


def test_an_edit_leaves_pages_that_do_not_show_it_cached(client, page_cache, two_sections):
    story, other = two_sections["story"], two_sections["other"]
    unrelated = [other.get_absolute_url(), "/sections/sport/"]
    touched = [story.get_absolute_url(), "/sections/world/", "/"]
    for url in unrelated + touched:
        client.get(url)
        assert from_cache(client, url), url
    story.headline = "A new headline"
    story.save()
    for url in unrelated:
        assert from_cache(client, url), url  # kept: it does not show the story
    for url in touched:
        response = client.get(url)
        assert not getattr(response, "from_reader_page_cache", False), url
        assert b"A new headline" in response.content, url


def test_a_story_moved_invalidates_both_sections(two_sections, invalidated):
    story, world, sport = two_sections["story"], two_sections["world"], two_sections["sport"]
    StoryFactory(section=world, published=True)  # world keeps a live story: same menu
    invalidated.clear()
    story.section = sport
    story.save()
    keys = set().union(*invalidated)
    assert {f"story-{story.pk}", f"section-{world.pk}", f"section-{sport.pk}", "home"} <= keys
    assert f"byline-{two_sections['byline'].pk}" in keys
    assert "sections" not in keys  # both sections still have a live story
    story.section = world  # moved back; then the last live story leaves sport
    story.save()
    StoryFactory(section=world, published=True)
    invalidated.clear()
    two_sections["other"].section = world
    two_sections["other"].save()
    assert "sections" in set().union(*invalidated)
    assert f"story-{two_sections['other'].pk}" not in keys


def test_a_draft_edit_touches_only_its_own_key(db, invalidated):
    draft = StoryFactory(section=SectionFactory())
    invalidated.clear()
    draft.headline = "Still a draft"
    draft.save()
    assert invalidated == [{f"story-{draft.pk}"}]


def test_the_menu_changes_only_when_a_section_gains_its_first_live_story(two_sections, invalidated):
    politics = SectionFactory(slug="politics")
    draft = StoryFactory(section=politics)
    invalidated.clear()
    StoryFactory(section=two_sections["world"], published=True)
    assert "sections" not in set().union(*invalidated)
    draft.status, draft.published_at = Story.Status.PUBLISHED, timezone.now()
    draft.save()
    assert "sections" in set().union(*invalidated)


def test_a_byline_renamed_invalidates_its_stories_wherever_they_are_listed(
    two_sections, invalidated
):
    byline, story = two_sections["byline"], two_sections["story"]
    byline.name = "A. N. Other"
    byline.save()
    keys = set().union(*invalidated)
    assert {f"byline-{byline.pk}", f"story-{story.pk}", "home"} <= keys
    assert f"section-{two_sections['world'].pk}" in keys
    assert f"story-{two_sections['other'].pk}" not in keys


def test_a_section_edit_changes_the_menu(two_sections, invalidated):
    sport = two_sections["sport"]
    sport.name = "Sports"
    sport.save()
    assert {f"section-{sport.pk}", "sections", "sitemaps"} <= set().union(*invalidated)


def test_story_keys_of_a_story_that_is_not_live_name_only_it(db):
    scheduled = StoryFactory(scheduled=True, section=SectionFactory())
    assert story_keys([scheduled.pk]) == {f"story-{scheduled.pk}"}


def test_public_pages_carry_their_keys_for_the_cache_in_front(client, two_sections, settings):
    settings.FRONTEND_CACHE_KEY_PREFIX = "site1"
    story = two_sections["story"]
    response = client.get(story.get_absolute_url())
    keys = set(response["xkey"].split())
    assert keys == {"site1-all", "site1-sections", "site1-pages", f"site1-story-{story.pk}"}
    assert response["Surrogate-Key"] == response["xkey"]
    listing = set(client.get("/sections/world/")["xkey"].split())
    assert f"site1-section-{two_sections['world'].pk}" in listing


@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/", "TESTSERVER"),
        ("/", "testserver:8080"),
        ("/", "testserver."),
        ("/?utm_source=x", "testserver"),
        ("/sections/world/?zz=1", "testserver"),
        ("/search/?q=%20harbours", "testserver"),
    ],
)
def test_other_spellings_of_an_address_are_kept_out_of_the_cache_in_front(
    client, two_sections, path, host
):
    # Made-up ports, hosts and query strings would each be a copy of their own in front,
    # none of which a purge names, and a flood of them would evict real pages.
    response = client.get(path, HTTP_HOST=host)
    assert response.status_code == 200
    assert "xkey" not in response and "Surrogate-Key" not in response
    assert "s-maxage=0" in response["Cache-Control"]
    canonical = client.get(path.split("?")[0])
    assert "xkey" in canonical and "s-maxage=0" not in canonical["Cache-Control"]


def test_staff_pages_carry_no_keys(client, two_sections, editor_user):
    client.force_login(editor_user)
    response = client.get(two_sections["story"].get_absolute_url())
    assert "private" in response["Cache-Control"]
    assert "xkey" not in response and "Surrogate-Key" not in response


def test_shared_lifetime_stops_at_the_next_go_live(client, db, settings):
    settings.CDN_CACHE_SECONDS = 3600
    StoryFactory(published=True, section=SectionFactory())
    StoryFactory(
        section=SectionFactory(),
        status=Story.Status.PUBLISHED,
        published_at=timezone.now() + timedelta(seconds=90),
    )
    cache_control = client.get("/")["Cache-Control"]
    seconds = int(cache_control.split("s-maxage=")[1].split(",")[0])
    assert 85 <= seconds <= 89  # rounded down: expired before the story goes live


class Recorder:
    purged = []
    fail = False

    def __init__(self, params):
        pass

    def purge(self, keys):
        if Recorder.fail:
            raise frontend.PurgeError("down")
        Recorder.purged.append(list(keys))


@pytest.fixture
def recorder(settings):
    settings.FRONTEND_CACHE = {"test": {"BACKEND": f"{__name__}.Recorder"}}
    settings.FRONTEND_CACHE_KEY_PREFIX = "site1"
    Recorder.purged, Recorder.fail = [], False
    return Recorder


def purge_tasks():
    return DBTaskResult.objects.filter(task_path=purge_frontend_cache.module_path)


@pytest.mark.django_db(transaction=True)
def test_the_purge_is_enqueued_once_after_commit_with_the_changes_keys(recorder):
    section = SectionFactory()
    purge_tasks().delete()
    with transaction.atomic():
        story = StoryFactory(section=section, published=True)
        story.headline = "Edited twice"
        story.save()
        assert not purge_tasks().exists()  # nothing before the commit
    (task,) = purge_tasks()
    keys = set(task.args_kwargs["args"][0])
    assert {f"story-{story.pk}", f"section-{section.pk}", "home"} <= keys
    assert not recorder.purged  # the worker purges, not the editor's request


@pytest.mark.django_db(transaction=True)
def test_a_failed_purge_is_retried_and_a_done_one_repeated_once(recorder):
    purge_tasks().delete()
    recorder.fail = True
    assert purge_frontend_cache.call(["story-1"]) is False
    (retry,) = purge_tasks()
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    assert retry.run_after > timezone.now()
    purge_tasks().delete()
    recorder.fail = False
    assert purge_frontend_cache.call(["story-1"]) is True
    assert recorder.purged == [["site1-story-1"]]
    (again,) = purge_tasks()
    assert again.args_kwargs["kwargs"]["repurge"] is False
