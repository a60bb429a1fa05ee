"""The importer's PostgreSQL path (``COPY``), outside the test transaction: the import commits
for real, so what is checked is what another session would read.

- A failure anywhere in a big import (a bad line at the end of the file, or the database
  failing in the last ``COPY`` batch) leaves nothing written and names the file and line.
- New stories written by ``COPY`` read back exactly as the ORM writes them: fields,
  bylines in order, tags, revisions, import records, search vectors (against the database's
  own document function) and a content-change announcement.
- Importing a briefing at the size limit, new or unchanged, peaks under 250 MB (slow).
- Every rule of ``tests/test_importing.py`` holds here too: its tests run again below, each
  in a committed transaction (collected again at the end of this module).
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from stories.changes import content_changed
from stories.importer import BriefingError, import_briefings, read_briefing_file
from stories.importer.parser import parse_briefing
from stories.importer.plan import (
    database_hashes_as_python,
    state_checksum,
    stored_imports_checked_here,
    stored_imports_checked_in_database,
)
from stories.models import Byline, ImportRecord, Story, StoryByline, TaggedStory

from . import test_importing
from .test_importer_hostile import ROOT, briefing_of_size

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs DATABASE_URL pointing at PostgreSQL: the COPY path is PostgreSQL's",
    ),
]


def numbered(count, *, start=0):
    return "".join(
        f"Ferry line {number} reopens\n"
        f"Boats sailed to Peru and Chile again on Monday, route {number}.\n"
        f"— By Ana Lima and Jo Park {number % 3}\n\n"
        for number in range(start, start + count)
    )


def nothing_written():
    return not (
        Story.objects.exists()
        or ImportRecord.objects.exists()
        or StoryByline.objects.exists()
        or TaggedStory.objects.exists()
        or Byline.objects.exists()
        or Story.history.model.objects.exists()
    )


def test_a_bad_story_at_the_end_of_a_big_import_writes_nothing(tmp_path):
    # More stories than one COPY batch, so batches were sent before the bad one is met.
    path = tmp_path / "2024-05-01-big.txt"
    name = "N" * 101  # over Byline.name's 100 characters
    path.write_text(numbered(6_000) + f"Last ferry sails\nIt sailed on Monday.\n— By {name}\n")
    with mock.patch("stories.importer.write.COPY_BATCH", 2_000):
        with pytest.raises(BriefingError) as error:
            import_briefings([read_briefing_file(path)])
    assert str(path) in str(error.value)
    assert "line 24003" in str(error.value)
    assert "byline name" in str(error.value)
    assert nothing_written()


def test_the_database_failing_in_the_last_copy_batch_writes_nothing(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(numbered(5_000))
    from stories.importer import write

    copies = []
    real_copy_rows = write.copy_rows

    def failing_in_the_last_batch(model, rows, **kwargs):
        copies.append(model)
        if copies.count(Story) == 3:  # the third batch's story rows
            rows = [dict(row, status="no such status" * 2) for row in rows]
        return real_copy_rows(model, rows, **kwargs)

    with (
        mock.patch("stories.importer.write.COPY_BATCH", 2_000),
        mock.patch("stories.importer.write.copy_rows", failing_in_the_last_batch),
    ):
        with pytest.raises(Exception, match="too long|value"):
            import_briefings([read_briefing_file(path)])
    assert copies.count(Story) == 3
    assert nothing_written()


def test_copied_stories_read_back_as_written(django_user_model):
    user = django_user_model.objects.create_user("importer", is_superuser=True)
    announced = []
    receiver = lambda sender, **kwargs: announced.append(sender)  # noqa: E731
    content_changed.connect(receiver)
    try:
        with mock.patch("stories.importer.write.COPY_BATCH", 3):
            result = import_briefings(
                [parse_briefing(numbered(7), source="ferries.txt")], user=user
            )
    finally:
        content_changed.disconnect(receiver)
    assert {Story, StoryByline, TaggedStory, ImportRecord} <= set(announced)
    stories = list(Story.objects.for_listing().order_by("pk"))
    assert [o.story_id for o in result.outcomes] == [s.pk for s in stories]
    assert [o.url for o in result.outcomes] == [s.get_absolute_url() for s in stories]
    for number, story in enumerate(stories):
        assert story.headline == f"Ferry line {number} reopens"
        assert story.slug == f"ferry-line-{number}-reopens"
        assert story.body == (
            f"<p>Boats sailed to Peru and Chile again on Monday, route {number}.</p>"
        )
        assert (
            story.body_plain == f"Boats sailed to Peru and Chile again on Monday, route {number}."
        )
        assert (story.status, story.version, story.created_by) == ("published", 1, user)
        assert story.created_at == story.updated_at == story.import_record.written_at
        assert story.is_live()
        assert [b.name for b in story.ordered_bylines] == ["Ana Lima", f"Jo Park {number % 3}"]
        assert sorted(t.name for t in story.tags.all()) == ["Chile", "Peru"]
        (revision,) = story.history.all()
        assert (revision.history_type, revision.history_user) == ("+", user)
        assert revision.byline_slugs == ["ana-lima", f"jo-park-{number % 3}"]
        assert revision.tag_names == ["Peru", "Chile"] or revision.tag_names == sorted(
            ["Peru", "Chile"], key=str.casefold
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM stories_story s WHERE search_vector IS NULL "
            "OR search_vector <> stories_story_search_document(s)"
        )
        assert cursor.fetchone()[0] == 0
    # The stored state reads as the importer left it: unchanged on re-import.
    again = import_briefings([parse_briefing(numbered(7), source="ferries.txt")], user=user)
    assert {o.action for o in again.outcomes} == {"unchanged"}


@hypothesis_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    headlines=st.lists(
        st.text(
            st.characters(categories=["L", "N", "Zs"], exclude_characters="\u2028\u2029"),
            min_size=1,
            max_size=40,
        ).map(str.strip),
        min_size=1,
        max_size=6,
        unique_by=str.casefold,
    ),
    batch=st.integers(1, 4),
)
def test_copy_and_orm_paths_agree_on_any_headlines(headlines, batch):
    # Whatever the text, a COPY-written story re-imports as unchanged (its state checksum
    # matches what the database holds) and is found under its headline's words.
    headlines = list(dict.fromkeys(h for h in headlines if h))
    if not headlines:
        return
    text = "".join(f"{h}\nIt happened in Peru on Monday.\n\n" for h in headlines)
    try:
        briefing = parse_briefing(text, source="any.txt")
    except BriefingError:
        return  # not a briefing (a headline read as a deck or a paragraph): the parser's tests
    Story.objects.all().delete()
    ImportRecord.objects.all().delete()
    with mock.patch("stories.importer.write.COPY_BATCH", batch):
        first = import_briefings([briefing])
        again = import_briefings([briefing])
    assert {o.action for o in first.outcomes} == {"created"}
    assert {o.action for o in again.outcomes} == {"unchanged"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM stories_story s "
            "WHERE search_vector IS DISTINCT FROM stories_story_search_document(s)"
        )
        assert cursor.fetchone()[0] == 0


# The peak is VmHWM, this program's own high-water mark: ru_maxrss would also count the
# test process this one was started from (it survives the exec), briefing and all.
IMPORT_PEAK_SCRIPT = """
import json, re, sys
from pathlib import Path
import django
django.setup()
from stories.importer import import_briefings, read_briefing_file
result = import_briefings([read_briefing_file(sys.argv[1])], section="world")
status = Path("/proc/self/status").read_text()
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
print(json.dumps({**result.counts, "peak": peak}))
"""


@pytest.mark.slow
def test_importing_a_briefing_at_the_limit_peaks_under_250_mb(tmp_path, settings):
    # A new import and then an unchanged re-import of a briefing at the default size limit
    # (32 MB of 600-word stories), each in a process of its own, against the test database
    # (this test's writes are committed, so the process sees the first import).
    limit = settings.BRIEFING_MAX_BYTES
    text, count = briefing_of_size(limit)
    path = tmp_path / "big.txt"
    path.write_text(text)
    database = connection.settings_dict
    env = {
        # Only what the import needs: not the test run's own settings and tools.
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        # As in production: with DEBUG on, Django keeps the SQL of every query it ran.
        "DEBUG": "0",
        "SECRET_KEY": "memory-test-" + "x" * 50,
        "ALLOWED_HOSTS": "localhost",
        "NEWSROOM_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    }
    for expected in ("created", "unchanged"):
        completed = subprocess.run(
            [sys.executable, "-c", IMPORT_PEAK_SCRIPT, str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
        assert figures[expected] == count, figures
        # In kilobytes: the whole process, Django and all.
        assert figures["peak"] < 250 * 1024, (expected, figures)


# Every rule the importer has, in committed transactions on PostgreSQL: the tests (and
# fixtures) of tests/test_importing.py, collected again here under this module's marks.
for _name in dir(test_importing):
    if not _name.startswith("_") and _name != "pytestmark" and _name not in globals():
        globals()[_name] = getattr(test_importing, _name)


def python_state_checksum(story):
    """``state_checksum`` of a story as stored, read through the ORM."""
    byline_slugs = [
        link.byline.slug
        for link in story.story_bylines.select_related("byline").order_by("position", "pk")
    ]
    tags = [item.tag.name for item in story.tagged_items.select_related("tag").order_by("pk")]
    return state_checksum(story, story.section.slug, byline_slugs, tags)


@pytest.mark.parametrize(
    "published_at",
    [
        datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),  # microseconds are written
        datetime(2024, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Kolkata")),  # in UTC, none written
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year of three digits, padded
        None,
    ],
)
def test_the_database_hashes_a_stored_state_as_python_does(published_at):
    """PostgreSQL checks stored states for edits itself (``STORED_IMPORTS_SQL``): it must
    hash exactly the bytes ``state_checksum`` hashes, or every story would read as edited
    (or, worse, an edit as unchanged)."""
    import_briefings([parse_briefing(test_importing.SMALL, source="small.txt")])
    dam, council = Story.objects.order_by("pk")
    Story.objects.filter(pk=dam.pk).update(
        headline="Dam opens 😀 on the rivér",  # four bytes and two bytes in UTF-8
        body="<p>Wasser floß, Café 🌊 ok.</p>",
        status="published" if published_at else "draft",
        published_at=published_at,
    )
    # Tag names whose code point order differs from the database collation's.
    dam.tags.add("Zambia", "Éire", "apple", "Ångström", "zebra", "Zürich")
    StoryByline.objects.create(
        story=dam, byline=Byline.objects.create(name="Ñú", slug="ñú"), position=0
    )
    council.story_bylines.all().delete()  # no bylines at all
    council.tags.clear()
    for story in Story.objects.all():
        ImportRecord.objects.filter(story=story).update(
            state_checksum=python_state_checksum(story), written_at=story.updated_at
        )
    sources = {"small.txt"}
    assert database_hashes_as_python()  # what every import here used
    in_database = stored_imports_checked_in_database(sources)
    assert in_database == stored_imports_checked_here(sources)
    assert not any(stored.is_edited for stored in in_database.values())
    assert in_database["small.txt", "Dam opens on the river"].tags == [
        "Zambia",
        "Éire",
        "apple",
        "Ångström",
        "zebra",
        "Zürich",
    ]
    # One character more anywhere is an edit.
    Story.objects.filter(pk=council.pk).update(deck="x")
    edited = stored_imports_checked_in_database(sources)
    assert edited == stored_imports_checked_here(sources)
    assert [stored.is_edited for stored in edited.values()].count(True) == 1
    assert edited["small.txt", "Council votes on budget"].is_edited


def test_an_edit_that_keeps_updated_at_is_a_conflict_in_a_big_unchanged_import():
    """The unchanged path compares checksums in the database; an editor's edit made without
    touching ``updated_at`` (a QuerySet update) among thousands of unchanged stories is still
    found, and left alone."""
    text = numbered(1200)
    import_briefings([parse_briefing(text, source="ferries.txt")])
    edited = Story.objects.get(headline="Ferry line 777 reopens")
    Story.objects.filter(pk=edited.pk).update(body="<p>An editor's words.</p>")
    result = import_briefings([parse_briefing(text, source="ferries.txt")])
    assert result.counts["unchanged"] == 1199
    assert [o.headline for o in result.outcomes if o.action == "conflict"] == [
        "Ferry line 777 reopens"
    ]
    edited.refresh_from_db()
    assert edited.body == "<p>An editor's words.</p>"
