"""`manage.py import_briefing`: output, options and every kind of bad input."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from stories.models import Byline, Section, Story

pytestmark = pytest.mark.django_db

GOOD = "Dam opens on the river\nWater flowed through the new gates on Monday.\n— By Ana Lima\n"


def run(*args):
    stdout = StringIO()
    call_command("import_briefing", *map(str, args), stdout=stdout)
    return stdout.getvalue()


def assert_nothing_written():
    assert not Story.objects.exists()
    assert not Section.objects.exists()
    assert not Byline.objects.exists()


def test_command_imports_seed_and_prints_summary(seed_path):
    output = run(seed_path)
    assert "4 created, 0 updated, 0 unchanged, 0 conflicts, 0 missing" in output
    assert "created  Beijing sets Fujian as Taiwan trade zone  /" in output
    assert Story.objects.live().count() == 4


def test_command_second_run_reports_every_story_unchanged(seed_path):
    run(seed_path)
    output = run(seed_path)
    assert "0 created, 0 updated, 4 unchanged, 0 conflicts, 0 missing" in output


def test_command_json_prints_only_json(seed_path):
    data = json.loads(run(seed_path, "--json"))
    assert data["created"] == 4
    assert [entry["status"] for entry in data["stories"]] == ["created"] * 4
    first = data["stories"][0]
    assert (
        first["headline"] == "North Korea’s Kim arrives in Russia’s far east for summit with Putin"
    )
    assert first["url"] == Story.objects.get(headline=first["headline"]).get_absolute_url()
    assert json.loads(run(seed_path, "--json"))["unchanged"] == 4


def test_command_dry_run_prints_the_parse_and_writes_nothing(seed_path):
    output = run(seed_path, "--dry-run")
    assert "Dry run: nothing was written." in output
    assert "deck: US says Pyongyang set to supply arms for Moscow's war in Ukraine." in output
    assert "paragraphs: 15" in output
    assert "bylines: William Roberts" in output
    assert "tags: China, Taiwan" in output
    assert_nothing_written()


def test_command_options_section_date_status(briefing_file):
    path = briefing_file(GOOD)
    run(path, "--section", "local", "--date", "2024-09-12", "--status", "draft")
    story = Story.objects.get()
    assert (story.section.slug, story.section.name, story.status) == ("local", "Local", "draft")
    assert story.get_absolute_url().startswith("/2024/09/12/")


def test_command_conflict_is_reported_with_exit_zero(briefing_file):
    path = briefing_file(GOOD)
    run(path)
    Story.objects.update(deck="Edited")
    path.write_text(GOOD.replace("Monday", "Tuesday"))
    output = run(path)
    assert "CONFLICT  Dam opens on the river" in output
    assert "1 conflicts" in output
    assert json.loads(run(path, "--json"))["stories"][0]["status"] == "conflict"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "briefing.txt: file is empty"),
        (b"   \n\n\t\n", "briefing.txt: file is empty"),
        (b"Headline here\nBody \x00 text.\n", "briefing.txt, line 2: binary data"),
        (b"Headline here\nCaf\xe9 au lait.\n", "briefing.txt, line 2: not valid UTF-8"),
        (
            b"This is a long opening sentence that ends in a full stop.\n",
            "briefing.txt, line 1: no headline found",
        ),
        (
            b"Stray opening line, with a comma,\nHeadline\nBody.\n",
            "briefing.txt, line 1: text before the first headline",
        ),
        (
            "Lonely headline\n— By Ana Lima\n".encode(),
            "briefing.txt, line 1: headline “Lonely headline” has no paragraphs",
        ),
        (
            "Headline\nBody.\n—\n".encode(),
            "briefing.txt, line 3: signoff has no names",
        ),
    ],
    ids=["empty", "blank", "binary", "latin-1", "no-headline", "text-first", "no-body", "signoff"],
)
def test_command_bad_input_names_file_and_line_and_writes_nothing(briefing_file, content, message):
    path = briefing_file(content)
    with pytest.raises(CommandError) as error:
        run(path)
    where, problem = message.split(": ", 1)
    assert str(error.value).startswith(f"{path.parent / where}: {problem}")
    assert "\n" not in str(error.value)
    assert_nothing_written()


def test_command_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"nope\.txt: no such file"):
        run(tmp_path / "nope.txt")


def test_command_directory_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="is a directory"):
        run(tmp_path)


def test_command_oversized_file_is_refused(briefing_file, settings):
    settings.BRIEFING_MAX_BYTES = 100
    path = briefing_file(GOOD * 10)
    with pytest.raises(CommandError, match="limited to 100 bytes"):
        run(path)
    assert_nothing_written()


def test_command_good_file_beside_bad_file_imports_nothing(briefing_file, seed_path):
    bad = briefing_file("Headline\nBody.\n—\n", name="bad.txt")
    with pytest.raises(CommandError, match="bad.txt, line 3"):
        run(seed_path, bad)
    assert_nothing_written()


def test_command_files_are_one_transaction_for_late_failures(briefing_file, seed_path):
    dated = briefing_file(GOOD, name="2024-02-30-evening.txt")
    with pytest.raises(CommandError, match="not a real date"):
        run(seed_path, dated)
    assert_nothing_written()


def test_command_bad_date_option_is_a_usage_error(seed_path):
    with pytest.raises(CommandError, match="not a date in YYYY-MM-DD form"):
        run(seed_path, "--date", "12/09/2024")


def test_command_line_error_is_one_line_with_no_traceback(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("Headline\nBody.\n— By\n")
    env = {**os.environ, "DEBUG": "1", "NEWSROOM_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    completed = subprocess.run(
        [sys.executable, str(manage), "import_briefing", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert completed.returncode != 0
    assert completed.stdout == ""
    assert completed.stderr.strip() == f"CommandError: {bad}, line 3: signoff has no names"


def test_an_unknown_status_is_refused_naming_the_statuses_as_typed(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("import_briefing", str(tmp_path / "any.txt"), "--status", "bogus")
    assert "'draft', 'review', 'published'" in str(error.value)
    assert "Story.Status" not in str(error.value)
