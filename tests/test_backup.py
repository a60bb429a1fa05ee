"""Backup and restore: ``dumpdata`` from this database, ``migrate`` + ``loaddata`` into a
fresh one, and the restored site is the same site.

The restore runs in another process on a new SQLite database (so every id that is not
written to the backup, such as content types and permissions, comes out different), with
exactly the commands the README gives. "The same" is checked three ways: every reader page
renders byte for byte as before, a second backup of the restored database equals the first,
and re-importing the briefing finds every imported story unchanged.
"""

import json
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from stories.editorial.saving import save_story
from stories.models import Correction, DatabaseIdentity, PreviewLink, Story

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
# The README's backup command, less the output file.
DUMP_ARGS = [
    "--natural-foreign",
    "--natural-primary",
    "--exclude=contenttypes",
    "--exclude=auth.permission",
    "--exclude=sessions",
    "--exclude=axes",
    "--exclude=admin.logentry",
    # A restored database is another database: it keeps the identity its migration made.
    "--exclude=stories.databaseidentity",
    # The worker's task queue is work in flight, not content (webhook state is kept).
    "--exclude=django_tasks_database",
    # The listings' latest changes are worked out from the stories (stories.listings).
    "--exclude=stories.listingchange",
    "--exclude=stories.listingchangenote",
]
BRIEFING = (
    "Port of Odesa reopens\n"
    "Grain ships sail again\n"
    "Ships left Odesa in Ukraine on Monday for the first time since March.\n"
    "— Ana Lima and Ben Chen\n"
    "Chile elects a new president\n"
    "Voters in Santiago chose a new leader on Sunday.\n"
    "— Pedro Ruiz\n"
)


@pytest.fixture
def newsroom(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    briefing = tmp_path / "2024-05-01-desk.txt"
    briefing.write_text(BRIEFING)
    call_command("import_briefing", str(briefing), stdout=StringIO())
    editor = User.objects.create_user("desk", password="pw-for-tests-only", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    world = SectionFactory(name="World", slug="world")
    science = SectionFactory(name="Science", slug="science", position=3)
    zed, amy, bob = (
        BylineFactory(name="Zed Zulu", slug="zed-zulu"),
        BylineFactory(name="Amy Adams", slug="amy-adams", bio="Covers science."),
        BylineFactory(name="Bob Brown", slug="bob-brown"),
    )
    # Printed order differs from both id order and name order.
    story = StoryFactory(
        headline="Bylines in printed order",
        slug="printed-order",
        section=science,
        bylines=[zed, amy, bob],
        tags=["Ukraine", "Zanzibar", "Ärzte"],
        published=True,
        created_by=editor,
    )
    story.headline = "Bylines in printed order, edited"
    story.slug = "printed-order-edited"  # leaves a redirect from the old address
    save_story(story)
    Correction.objects.create(story=story, text="An earlier version misspelled a name.")
    # A story moved out of a section that was then deleted: its old revisions still name it.
    gone = SectionFactory(name="Gone", slug="gone")
    moved = StoryFactory(headline="Moved", slug="moved", section=gone, published=True)
    moved.section = world
    moved.save()
    gone.delete()
    StoryFactory(headline="A draft", slug="a-draft", section=world, bylines=[bob])
    StoryFactory(
        headline="Scheduled story",
        slug="scheduled",
        section=world,
        status=Story.Status.PUBLISHED,
        published_at=timezone.now() + timedelta(days=3),
    )
    PreviewLink.objects.create(story=Story.objects.get(slug="a-draft"), created_by=editor)
    return {"briefing": briefing, "story": story}


def reader_urls():
    urls = ["/", "/feed/", "/feed/atom/", "/sitemap.xml", "/search/?q=ships", "/robots.txt"]
    for story in Story.objects.live():
        urls.append(story.get_absolute_url())
    for story in Story.objects.all():
        for old in story.slug_redirects.all():
            urls.append(story.get_absolute_url().replace(story.slug, old.slug))
    for prefix, slugs in (
        ("sections", Story.objects.values_list("section__slug", flat=True)),
        ("bylines", Story.objects.values_list("story_bylines__byline__slug", flat=True)),
        ("tags", Story.objects.values_list("tagged_items__tag__slug", flat=True)),
    ):
        for slug in sorted({s for s in slugs if s}):
            urls += [f"/{prefix}/{slug}/", f"/{prefix}/{slug}/feed/"]
    for name in ("stories", "news", "sections", "tags", "bylines"):
        urls.append(f"/sitemap-{name}.xml")
    urls += [link.get_absolute_url() for link in PreviewLink.objects.all()]
    return urls


def render(urls):
    client = Client()
    pages = {}
    for url in urls:
        response = client.get(url)
        body = b"".join(response) if response.streaming else response.content
        pages[url] = [response.status_code, response.get("Location", ""), body.decode()]
    return pages


RESTORE_SCRIPT = """
import json, sys
from io import StringIO
import django
django.setup()
from django.core.management import call_command
from django.test import Client

backup, urls_file, dump_args, briefing = sys.argv[1:5]
dump_args = json.loads(dump_args)
call_command("migrate", verbosity=0)
call_command("loaddata", backup, verbosity=0)
client = Client()
pages = {}
for url in json.load(open(urls_file)):
    response = client.get(url)
    body = b"".join(response) if response.streaming else response.content
    pages[url] = [response.status_code, response.get("Location", ""), body.decode()]
dump = StringIO()
call_command("dumpdata", *dump_args, stdout=dump)
reimport = StringIO()
call_command("import_briefing", briefing, "--json", stdout=reimport)
from stories.models import DatabaseIdentity
identity = str(DatabaseIdentity.objects.get().token)
print(json.dumps({"pages": pages, "dump": dump.getvalue(), "reimport": reimport.getvalue(),
                  "identity": identity}))
"""


def test_dumpdata_then_loaddata_into_a_fresh_database_gives_the_same_site(newsroom, tmp_path):
    # A story deleted after its import: its import record stays as a tombstone, which the
    # backup must carry, or a re-import of the restored site would bring the story back.
    late = tmp_path / "2024-05-02-late.txt"
    late.write_text("Late story\nIt was deleted in the newsroom.\n")
    call_command("import_briefing", str(late), stdout=StringIO())
    Story.objects.get(headline="Late story").delete()
    urls = reader_urls()
    before = render(urls)
    assert before[newsroom["story"].get_absolute_url()][0] == 200
    backup = tmp_path / "backup.json.gz"  # compressed, as the README suggests
    call_command("dumpdata", *DUMP_ARGS, "--output", str(backup), verbosity=0)
    first_dump = StringIO()
    call_command("dumpdata", *DUMP_ARGS, stdout=first_dump)
    urls_file = tmp_path / "urls.json"
    urls_file.write_text(json.dumps(urls))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DEBUG="1",
        SECRET_KEY="tests-only-not-a-real-secret",  # preview links are signed with it
        NEWSROOM_VAR_DIR=str(tmp_path / "restored"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'restored.sqlite3'}",
        PAGE_CACHE_SECONDS="0",
        ALLOWED_HOSTS="testserver",
        TIME_ZONE=os.environ.get("TIME_ZONE", "UTC"),
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            RESTORE_SCRIPT,
            str(backup),
            str(urls_file),
            json.dumps(DUMP_ARGS),
            str(newsroom["briefing"]),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    restored = json.loads(completed.stdout.strip().splitlines()[-1])
    for url in urls:
        if restored["pages"][url] != before[url]:
            import difflib

            diff = difflib.unified_diff(
                before[url][2].replace("><", ">\n<").splitlines(),
                restored["pages"][url][2].replace("><", ">\n<").splitlines(),
                lineterm="",
                n=0,
            )
            raise AssertionError(f"{url}: " + "\n".join(list(diff)[:20]))
    assert json.loads(restored["dump"]) == json.loads(first_dump.getvalue())
    tombstones = [
        row["fields"]
        for row in json.loads(first_dump.getvalue())
        if row["model"] == "stories.importrecord" and row["fields"]["story"] is None
    ]
    assert [(t["headline"], bool(t["deleted_at"])) for t in tombstones] == [("Late story", True)]
    # So cached pages of the backed-up site are never served for the restored one.
    assert restored["identity"] != str(DatabaseIdentity.objects.get().token)
    reimport = json.loads(restored["reimport"])
    assert reimport["unchanged"] == 2 and reimport["conflicts"] == 0, reimport


def test_backup_names_sections_bylines_and_tags_by_natural_key(newsroom):
    out = StringIO()
    call_command("dumpdata", *DUMP_ARGS, stdout=out)
    rows = json.loads(out.getvalue())
    by_model = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    for model in ("stories.section", "stories.byline", "taggit.tag", "auth.group", "auth.user"):
        assert all("pk" not in row for row in by_model[model]), model
    story_byline = by_model["stories.storybyline"][0]
    assert isinstance(story_byline["fields"]["byline"], list)  # ["zed-zulu"], not an id
    tagged = by_model["stories.taggedstory"][0]
    assert isinstance(tagged["fields"]["tag"], list)
    story = next(r for r in by_model["stories.story"] if r["pk"] == newsroom["story"].pk)
    assert story["fields"]["section"] == ["science"]
    assert story["fields"]["created_by"] == ["desk"]
    assert by_model["stories.historicalstory"] and by_model["stories.importrecord"]


def test_migration_moves_unedited_import_records_to_the_slug_checksum(newsroom):
    import importlib

    from django.apps import apps

    from stories.importer import import_briefings, read_briefing_file
    from stories.models import ImportRecord

    migration = importlib.import_module("stories.migrations.0005_import_checksums_by_slug")
    unedited, edited = ImportRecord.objects.select_related("story__section")[:2]
    for record in (unedited, edited):
        story = record.story
        bylines = list(story.story_bylines.order_by("position", "pk"))
        tags = list(story.tagged_items.order_by("pk").values_list("tag__name", flat=True))
        # As the previous release wrote it: section and bylines by id.
        record.state_checksum = migration.story_checksum(
            story, story.section_id, [b.byline_id for b in bylines], tags
        )
        record.save()
    Story.objects.filter(pk=edited.story_id).update(headline="Edited by hand")
    migration.by_slug(apps, None)
    importlib.import_module("stories.migrations.0007_import_state_checksums_hashed").to_hashed(
        apps, None
    )
    result = import_briefings([read_briefing_file(newsroom["briefing"])], section="world")
    actions = {outcome.story_id: outcome.action for outcome in result.outcomes}
    assert actions[unedited.story_id] == "unchanged"
    assert actions[edited.story_id] == "conflict"


def test_migration_back_to_the_id_checksum_moves_unedited_import_records_back(newsroom):
    import importlib

    from django.apps import apps

    from stories.models import ImportRecord

    migration = importlib.import_module("stories.migrations.0005_import_checksums_by_slug")
    unedited, edited = ImportRecord.objects.select_related("story__section")[:2]
    states = {}
    for record in (unedited, edited):
        story = record.story
        bylines = list(story.story_bylines.order_by("position", "pk").select_related("byline"))
        tags = list(story.tagged_items.order_by("pk").values_list("tag__name", flat=True))
        states[record.pk] = {
            "id": migration.story_checksum(
                story, story.section_id, [b.byline_id for b in bylines], tags
            ),
            "slug": migration.story_checksum(
                story, story.section.slug, [b.byline.slug for b in bylines], tags
            ),
        }
        # As 0005 left it, before 0007 hashed it another way.
        record.state_checksum = states[record.pk]["slug"]
        record.save()
    Story.objects.filter(pk=edited.story_id).update(headline="Edited by hand")
    migration.by_id(apps, None)
    unedited.refresh_from_db()
    edited.refresh_from_db()
    assert unedited.state_checksum == states[unedited.pk]["id"]
    assert edited.state_checksum == states[edited.pk]["slug"]  # left alone
    migration.by_slug(apps, None)  # and forwards again
    unedited.refresh_from_db()
    assert unedited.state_checksum == states[unedited.pk]["slug"]


def test_migration_moves_unedited_import_records_from_json_to_hashed_checksums(newsroom):
    import importlib

    from django.apps import apps

    from stories.importer import import_briefings, read_briefing_file
    from stories.importer.plan import state_checksum
    from stories.models import ImportRecord

    migration = importlib.import_module("stories.migrations.0007_import_state_checksums_hashed")
    records = list(ImportRecord.objects.select_related("story__section").order_by("pk"))
    states = {}
    for record in records:
        story = record.story
        byline_slugs = list(
            story.story_bylines.order_by("position", "pk").values_list("byline__slug", flat=True)
        )
        tags = list(story.tagged_items.order_by("pk").values_list("tag__name", flat=True))
        states[record.pk] = (story, story.section.slug, byline_slugs, tags)
        # The migration's frozen copy of the formula is the importer's, as of this release.
        assert record.state_checksum == migration.hashed_checksum(*states[record.pk])
        assert record.state_checksum == state_checksum(*states[record.pk])
        # As the previous release wrote it: JSON.
        record.state_checksum = migration.json_checksum(*states[record.pk])
        record.save()
    unedited, edited = records
    Story.objects.filter(pk=edited.story_id).update(deck="Edited by hand")

    migration.to_json(apps, None)  # backwards leaves JSON checksums as they are
    assert [r.state_checksum for r in ImportRecord.objects.order_by("pk")] == [
        migration.json_checksum(*states[record.pk]) for record in records
    ]
    migration.to_hashed(apps, None)
    unedited.refresh_from_db()
    edited.refresh_from_db()
    assert unedited.state_checksum == migration.hashed_checksum(*states[unedited.pk])
    assert edited.state_checksum == migration.json_checksum(*states[edited.pk])  # left alone
    result = import_briefings([read_briefing_file(newsroom["briefing"])], section="world")
    actions = {outcome.story_id: outcome.action for outcome in result.outcomes}
    assert actions == {unedited.story_id: "unchanged", edited.story_id: "conflict"}

    migration.to_json(apps, None)
    unedited.refresh_from_db()
    assert unedited.state_checksum == migration.json_checksum(*states[unedited.pk])
