"""A story the newsroom deleted stays deleted: re-importing its briefing (``make run``'s seed
import, ``manage.py import_briefing`` again, the admin's import) leaves it out and says so,
until an operator asks for it back with ``--restore-deleted``.

Every test commits for real (``transaction=True``), so on PostgreSQL (``DATABASE_URL``) the
write paths, ``COPY`` and the state checksum made in SQL included, are what is checked.
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from stories.importer import import_briefings, read_briefing_file
from stories.importer.parser import parse_briefing
from stories.models import ImportRecord, Story

from .admin_forms import BRIEFING, confirm, preview
from .factories import SectionFactory
from .test_admin_import import login, rows
from .test_importing import SEED_HEADLINES, SMALL, actions, run_import

pytestmark = pytest.mark.django_db(transaction=True)

KIM = SEED_HEADLINES[0]


def import_seed(seed_path, **options):
    return import_briefings([read_briefing_file(seed_path)], **options)


def command(*args):
    out = StringIO()
    call_command("import_briefing", *map(str, args), stdout=out)
    return out.getvalue()


def test_a_deleted_story_leaves_its_import_record_as_a_tombstone(seed_path):
    import_seed(seed_path)
    before = timezone.now()
    Story.objects.filter(headline=KIM).delete()
    record = ImportRecord.objects.get(headline=KIM)
    assert record.story is None
    assert record.deleted_at >= before
    # The other stories' records are untouched.
    assert ImportRecord.objects.filter(story__isnull=False, deleted_at=None).count() == 3


def test_reimport_does_not_bring_back_a_deleted_story(seed_path):
    import_seed(seed_path)
    Story.objects.get(headline=KIM).delete()
    result = import_seed(seed_path)
    assert actions(result) == [
        (KIM, "deleted"),
        *((headline, "unchanged") for headline in SEED_HEADLINES[1:]),
    ]
    assert result.counts["deleted"] == 1
    deleted = result.outcomes[0]
    day = timezone.localdate()
    assert deleted.reason == (
        f"deleted in the newsroom on {day:%Y-%m-%d}; not imported again "
        "(manage.py import_briefing --restore-deleted brings it back)"
    )
    assert deleted.url == "" and deleted.story_id is None
    assert not Story.objects.filter(headline=KIM).exists()
    assert Story.objects.count() == 3
    # Not on the desk's "Import conflicts" panel: there is no story to resolve.
    assert not Story.objects.filter(import_conflict__isnull=False).exists()


def test_other_stories_of_the_briefing_still_update_and_new_ones_are_created():
    run_import(SMALL, name="small.txt")
    Story.objects.get(headline="Dam opens on the river").delete()
    corrected = SMALL.replace("members said", "members said on Tuesday")
    corrected += "\nBridge reopens\nTraffic crossed again.\n— Jo Park\n"
    result = run_import(corrected, name="small.txt")
    assert actions(result) == [
        ("Dam opens on the river", "deleted"),
        ("Council votes on budget", "updated"),
        ("Bridge reopens", "created"),
    ]
    council = Story.objects.get(headline="Council votes on budget")
    assert council.body.endswith("on Tuesday.</p>")
    assert Story.objects.filter(headline="Bridge reopens").exists()
    assert not Story.objects.filter(headline="Dam opens on the river").exists()
    # Once more: all stays as it is, the deleted story still left out.
    assert actions(run_import(corrected, name="small.txt")) == [
        ("Dam opens on the river", "deleted"),
        ("Council votes on budget", "unchanged"),
        ("Bridge reopens", "unchanged"),
    ]


def test_a_tombstone_is_per_file_a_same_headline_elsewhere_imports():
    run_import(SMALL, name="monday.txt")
    Story.objects.get(headline="Dam opens on the river").delete()
    result = run_import(SMALL, name="tuesday.txt")
    assert [outcome.action for outcome in result.outcomes] == ["created", "created"]


def test_dry_run_reports_the_deleted_story_and_writes_nothing(seed_path):
    import_seed(seed_path)
    Story.objects.get(headline=KIM).delete()
    output = json.loads(command(seed_path, "--dry-run", "--json"))
    assert output["deleted"] == 1 and output["created"] == 0
    assert output["stories"][0]["status"] == "deleted"
    assert "not imported again" in output["stories"][0]["reason"]
    assert Story.objects.count() == 3


def test_json_gives_a_deleted_story_the_tags_its_briefing_gives_as_for_the_others(seed_path):
    first = json.loads(command(seed_path, "--json"))["stories"]
    Story.objects.get(headline=KIM).delete()
    again = json.loads(command(seed_path, "--json"))["stories"]
    assert [story["status"] for story in again] == [
        "deleted",
        "unchanged",
        "unchanged",
        "unchanged",
    ]
    # Written or not, each story reports its tags, as when it was created.
    assert [story["tags"] for story in again] == [story["tags"] for story in first]
    assert again[0]["tags"]
    assert not Story.objects.filter(headline=KIM).exists()


def test_command_reports_the_deleted_story_and_restore_deleted_brings_it_back(seed_path):
    command(seed_path)
    Story.objects.get(headline=KIM).delete()
    output = command(seed_path)
    assert f"DELETED  {KIM}" in output
    assert "--restore-deleted brings it back" in output
    assert "0 created, 0 updated, 3 unchanged, 0 conflicts, 0 missing, 1 deleted" in output
    assert not Story.objects.filter(headline=KIM).exists()

    output = command(seed_path, "--restore-deleted")
    assert f"created  {KIM}" in output
    assert "imported again (restored)" in output
    story = Story.objects.get(headline=KIM)
    assert story.is_live()
    record = ImportRecord.objects.get(headline=KIM)
    assert record.story == story and record.deleted_at is None
    assert ImportRecord.objects.count() == 4
    # Restored, it is an ordinary imported story again: unchanged on the next run.
    assert f"unchanged  {KIM}" in command(seed_path)


def test_restore_deleted_rolls_back_with_the_import(seed_path, tmp_path):
    """Imports stay atomic: a bad file in the same run keeps the tombstone."""
    command(seed_path)
    Story.objects.get(headline=KIM).delete()
    bad = tmp_path / "bad.txt"
    bad.write_text("Headline only\n— Ana Lima\n")
    with pytest.raises(Exception, match="has no paragraphs"):
        command(seed_path, bad, "--restore-deleted")
    assert ImportRecord.objects.get(headline=KIM).story is None
    assert not Story.objects.filter(headline=KIM).exists()


def test_seed_import_on_a_fresh_database_then_again(seed_path):
    """``make run``: the first run creates the four stories, every later one changes none."""
    assert "4 created, 0 updated, 0 unchanged" in command(seed_path)
    assert "0 created, 0 updated, 4 unchanged, 0 conflicts, 0 missing, 0 deleted" in command(
        seed_path
    )
    assert not ImportRecord.objects.filter(story__isnull=True).exists()


def test_editor_bulk_delete_in_the_admin_then_admin_reimport_leaves_them_out(editor_user):
    SectionFactory(slug="world", name="World")
    client = login(editor_user)
    confirm(client, preview(client))
    stories = list(Story.objects.order_by("pk"))
    assert len(stories) == 2
    changelist = reverse("admin:stories_story_changelist")
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [s.pk for s in stories], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Story.objects.exists()
    tombstones = ImportRecord.objects.filter(story=None, deleted_at__isnull=False)
    assert [record.deleted_by for record in tombstones] == [editor_user, editor_user]

    response = preview(client)
    assert rows(response) == [
        ("Port of Odesa reopens", "deleted"),
        ("Chile elects a new president", "deleted"),
    ]
    assert "not imported again" in response.content.decode()
    done = confirm(client, response)
    assert done.status_code == 302
    assert not Story.objects.exists()
    page = client.get(done.url).content.decode()
    day = timezone.localdate()
    assert (
        f"Not imported: “Port of Odesa reopens” deleted in the newsroom on {day:%Y-%m-%d} "
        "by ed; not imported again" in page
    )


def test_editor_deletes_one_story_from_its_page_and_the_import_skips_only_it(editor_user):
    SectionFactory(slug="world", name="World")
    client = login(editor_user)
    confirm(client, preview(client))
    port = Story.objects.get(headline="Port of Odesa reopens")
    response = client.post(reverse("admin:stories_story_delete", args=[port.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert ImportRecord.objects.get(story=None).deleted_by == editor_user
    corrected = BRIEFING.replace("chose a new leader", "chose a new leader on Sunday")
    response = preview(client, corrected)
    assert rows(response) == [
        ("Port of Odesa reopens", "deleted"),
        ("Chile elects a new president", "updated"),
    ]
    confirm(client, response)
    assert list(Story.objects.values_list("headline", flat=True)) == [
        "Chile elects a new president"
    ]
    assert Story.objects.get().body.endswith("on Sunday.</p>")


def test_readers_of_import_records_skip_tombstones(seed_path):
    """Readers of import records cope with no story: the webhook worker's query and the
    importer's own reads (``stored_imports``) list only stories that exist."""
    from stories.importer.plan import Plan
    from stories.webhooks.events import live_stories_with_news

    import_seed(seed_path)
    Story.objects.get(headline=KIM).delete()
    assert len(list(live_stories_with_news())) == 3
    plan = Plan([parse_briefing(seed_path.read_text(), source="briefing.txt")])
    assert set(plan.stored_imports()) == {("briefing.txt", h) for h in SEED_HEADLINES[1:]}
