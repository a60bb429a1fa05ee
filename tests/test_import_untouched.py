"""``ImportRecord.untouched`` (migration 0029), outside the test transaction.

On PostgreSQL an import record says its story is untouched since the importer wrote it, and
triggers take that back on every write that can change what the record's state checksum
covers: the story's row (a form save, a list action, a restored revision, a QuerySet
update), its byline and tag links, and the renaming of its section, bylines or tags. A
re-import hashes the stored state only of stories whose records are not untouched, so each
path below must clear it, or an editor's edit would be overwritten as "unchanged".
"""

import json
import threading
from unittest import mock

import pytest
from django.core import serializers
from django.db import connection
from django.test import Client
from django.urls import reverse
from taggit.models import Tag

from stories.importer import import_briefings
from stories.importer.parser import parse_briefing
from stories.importer.plan import Plan, stored_imports_checked_in_database
from stories.models import Byline, ImportRecord, Section, Story, StoryByline

from .admin_forms import browser_post

pytestmark = pytest.mark.django_db(transaction=True)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs DATABASE_URL pointing at PostgreSQL: its triggers keep the flag",
)

TEXT = """Ferry to Peru reopens
Boats sailed to Peru again on Monday, officials said.
— By Ana Lima

Council votes on budget
The vote was close, members said.
— Jo Park
"""


def run_import(text=TEXT):
    return import_briefings([parse_briefing(text, source="ferries.txt")])


def actions(result):
    return {outcome.headline: outcome.action for outcome in result.outcomes}


def untouched(story):
    return ImportRecord.objects.get(story=story).untouched


@pytest.fixture
def stories():
    run_import()
    ferry = Story.objects.get(headline="Ferry to Peru reopens")
    council = Story.objects.get(headline="Council votes on budget")
    return ferry, council


def edit(name, ferry):
    if name == "save_with_a_change":
        ferry.deck = "An editor's deck."
        ferry.save()
    elif name == "queryset_update":
        Story.objects.filter(pk=ferry.pk).update(body="<p>Rewritten by code.</p>")
    elif name == "status_by_update":
        Story.objects.filter(pk=ferry.pk).update(status=Story.Status.UNPUBLISHED)
    elif name == "tag_added":
        ferry.tags.add("Local news")
    elif name == "tags_cleared":
        ferry.tags.clear()
    elif name == "byline_removed":
        ferry.story_bylines.all().delete()
    elif name == "byline_replaced":
        StoryByline.objects.filter(story=ferry).update(byline=Byline.objects.get(name="Jo Park"))
    elif name == "byline_renamed":
        Byline.objects.filter(name="Ana Lima").update(slug="ana")
    elif name == "tag_renamed":
        Tag.objects.filter(name="Peru").update(name="Perú")
    else:
        raise AssertionError(name)


@postgresql_only
@pytest.mark.parametrize(
    "name",
    [
        "save_with_a_change",
        "queryset_update",
        "status_by_update",
        "tag_added",
        "tags_cleared",
        "byline_removed",
        "byline_replaced",
        "byline_renamed",
        "tag_renamed",
    ],
)
def test_every_write_to_what_the_checksum_covers_clears_untouched(stories, name):
    ferry, council = stories
    assert untouched(ferry) and untouched(council)
    edit(name, ferry)
    assert not untouched(ferry)
    assert untouched(council)  # only the story written to
    # And so the re-import hashes it and finds the edit.
    assert actions(run_import()) == {
        "Ferry to Peru reopens": "conflict",
        "Council votes on budget": "unchanged",
    }


@postgresql_only
def test_renaming_a_section_clears_untouched_for_its_stories(stories):
    ferry, council = stories
    Section.objects.filter(pk=ferry.section_id).update(slug="elsewhere")
    assert not untouched(ferry) and not untouched(council)
    assert set(actions(run_import()).values()) == {"conflict"}


@postgresql_only
def test_writes_that_change_nothing_the_checksum_covers_keep_untouched(stories):
    ferry, council = stories
    Story.objects.filter(pk=ferry.pk).update(version=ferry.version + 5)
    with connection.cursor() as cursor:  # the search index rebuilt
        cursor.execute(
            "UPDATE stories_story s SET search_vector = stories_story_search_document(s)"
        )
    Byline.objects.filter(name="Ana Lima").update(name="Ana Lima")
    assert untouched(ferry) and untouched(council)
    assert set(actions(run_import()).values()) == {"unchanged"}
    assert untouched(ferry) and untouched(council)


@postgresql_only
def test_the_importer_marks_what_it_writes_untouched_again(stories):
    ferry, council = stories
    Story.objects.filter(pk=ferry.pk).update(body="<p>Code wrote here.</p>")
    ImportRecord.objects.filter(story=council).update(untouched=False)
    corrected = TEXT.replace("members said.", "members said, again.")
    assert actions(run_import(corrected)) == {
        "Ferry to Peru reopens": "conflict",
        "Council votes on budget": "updated",
    }
    assert not untouched(ferry)  # left alone: still the editor's
    assert untouched(council)  # written again by the importer
    assert actions(run_import(corrected))["Council votes on budget"] == "unchanged"


@postgresql_only
def test_a_re_import_hashes_only_records_not_untouched(stories):
    """What the flag saves: an untouched record's story is not hashed at all. (A record
    whose checksum no longer matches is shown as unedited while it says untouched, which
    only a write around the triggers could cause.)"""
    ferry, _ = stories
    ImportRecord.objects.filter(story=ferry).update(state_checksum="0" * 64)
    found = stored_imports_checked_in_database({"ferries.txt"})
    assert not found["ferries.txt", "Ferry to Peru reopens"].is_edited
    ImportRecord.objects.filter(story=ferry).update(untouched=False)
    found = stored_imports_checked_in_database({"ferries.txt"})
    assert found["ferries.txt", "Ferry to Peru reopens"].is_edited
    assert found["ferries.txt", "Ferry to Peru reopens"].tags == ["Peru"]


def test_records_say_untouched_only_where_triggers_keep_it():
    """SQLite has no triggers for it: its records never say untouched, so a backup loaded
    from it into PostgreSQL has every story checked in full."""
    run_import()
    expected = connection.vendor == "postgresql"
    assert list(ImportRecord.objects.values_list("untouched", flat=True)) == [expected] * 2


# The admin's write paths, as an editor submits them


def login(user):
    client = Client()
    client.force_login(user)
    return client


@postgresql_only
def test_admin_change_form_save_clears_untouched(stories, editor_user):
    ferry, council = stories
    url = reverse("admin:stories_story_change", args=[ferry.pk])
    response = browser_post(login(editor_user), url, {"deck": "An editor's deck."})
    assert response.status_code == 302
    assert not untouched(ferry) and untouched(council)


@postgresql_only
def test_admin_list_action_clears_untouched(stories, editor_user):
    ferry, council = stories
    response = login(editor_user).post(
        reverse("admin:stories_story_changelist"),
        {"action": "unpublish", "_selected_action": [ferry.pk]},
    )
    assert response.status_code == 302
    assert not untouched(ferry) and untouched(council)


@postgresql_only
def test_admin_restoring_a_revision_clears_untouched(stories, editor_user):
    ferry, council = stories
    client = login(editor_user)
    url = reverse("admin:stories_story_change", args=[ferry.pk])
    imported = ferry.history.latest()
    browser_post(client, url, {"headline": "Ferry to Peru reopens at last"})
    ImportRecord.objects.filter(story=ferry).update(untouched=True)  # as if not noticed
    revert = reverse("admin:stories_story_simple_history", args=[ferry.pk, imported.history_id])
    assert browser_post(client, revert).status_code == 302
    ferry.refresh_from_db()
    assert ferry.headline == "Ferry to Peru reopens"
    assert not untouched(ferry) and untouched(council)


def test_backups_leave_untouched_out():
    """A restored record is not taken as untouched: the backup may come from SQLite, or from
    a database edited since with no trigger to say so. Its story is hashed in full."""
    run_import()
    dumped = json.loads(serializers.serialize("json", ImportRecord.objects.all()))
    assert dumped and all("untouched" not in row["fields"] for row in dumped)
    assert all("state_checksum" in row["fields"] for row in dumped)


# A rename racing an import waits for it to commit, then clears the flag it set


def blocked_while_importing(write, patch_target, method):
    """Run ``write`` in another session (giving up after 200 ms of waiting for a lock) just
    after ``method`` of ``patch_target`` ran inside an import; what it raised, if anything."""
    from django.db import OperationalError, transaction

    raised = []

    def other_session():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '200ms'")
                write()
        except OperationalError as error:
            raised.append(error)
        finally:
            connection.close()

    original = getattr(patch_target, method)

    def then_write(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        thread = threading.Thread(target=other_session)
        thread.start()
        thread.join()
        return result

    with mock.patch.object(patch_target, method, then_write):
        result = run_import(TEXT.replace("officials said.", "officials said, again."))
    assert actions(result)["Ferry to Peru reopens"] == "updated"
    return raised


@postgresql_only
def test_a_rename_waits_for_an_import_in_progress(stories):
    """The import's checksums name the tags as it read them: a rename committed meanwhile
    could not reach the stories it writes, so the rename waits for it (migration 0029's
    advisory lock, shared by imports)."""
    ferry, _ = stories

    def rename():
        Tag.objects.filter(name="Peru").update(name="Perú")

    raised = blocked_while_importing(rename, Plan, "make")
    assert raised and "lock timeout" in str(raised[0])
    assert untouched(ferry)
    rename()  # after the import: it goes through, and the story is checked in full again
    assert not untouched(ferry)
