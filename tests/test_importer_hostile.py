"""Broken and hostile briefings: clear errors or a correct import, bounded memory, and a
failed import leaves the database exactly as it was.

tests/test_briefing_parser.py holds the property-based tests of the parser itself (it
returns a structure or raises BriefingError; render/parse round trips).
"""

import codecs
import json
import os
import subprocess
import sys
import tracemalloc
import unicodedata
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from stories.importer import import_briefings, parse_briefing_bytes, read_briefing_file
from stories.importer.parser import BriefingError
from stories.importer.write import Writer
from stories.models import Byline, ImportRecord, Section, Story

from .factories import StoryFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPH = (
    "The council said the new budget would fund schools, roads and clinics across the "
    "region this year, officials added."
)


def story_block(number, paragraph=PARAGRAPH, names="Ana Lima and Ben Chen"):
    return f"Story number {number} about the budget\n{paragraph}\n— By {names}\n\n"


def briefing_of_size(limit, paragraph=PARAGRAPH * 9):
    """A valid briefing of as many stories as fit just under ``limit`` bytes."""
    parts, size, number = [], 0, 0
    while True:
        block = story_block(number, paragraph)
        if size + len(block.encode()) > limit - 64:
            return "".join(parts), number
        parts.append(block)
        size += len(block.encode())
        number += 1


def database_dump():
    """Every row of every table, as dumpdata writes it: equal dumps, equal databases.
    (Less login sessions, which the admin tests' logins add.)"""
    out = StringIO()
    call_command(
        "dumpdata", "--natural-foreign", "--indent", "0", "--exclude", "sessions", stdout=out
    )
    return json.loads(out.getvalue())


def run_command(*args):
    call_command("import_briefing", *map(str, args), stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def existing_newsroom(seed_path):
    """Some data for a failed import to leave alone: the seed, plus an edited story."""
    run_command(seed_path)
    StoryFactory(headline="An editor's own story", published=True, tags=["Kenya"])
    return database_dump()


# --- size ------------------------------------------------------------------------------------


def test_oversized_briefing_is_refused_by_size_before_it_is_read(tmp_path, settings):
    settings.BRIEFING_MAX_BYTES = 1024 * 1024
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as sparse:  # 200 MB on paper, nothing on disk
        sparse.truncate(200 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(BriefingError, match="limited to 1,048,576 bytes"):
            read_briefing_file(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # refused by its size: never read


def test_oversized_briefing_is_refused_by_the_command_and_the_admin(
    tmp_path, settings, editor_user, existing_newsroom
):
    settings.BRIEFING_MAX_BYTES = 2000
    settings.VAR_DIR = tmp_path
    text, _ = briefing_of_size(5000)
    path = tmp_path / "big.txt"
    path.write_text(text)
    with pytest.raises(CommandError, match="limited to 2,000 bytes"):
        run_command(path)
    client = Client()
    client.force_login(editor_user)
    existing_newsroom = database_dump()  # logging in dated the user's last login
    upload = SimpleUploadedFile("big.txt", text.encode())
    response = client.post(
        reverse("admin:stories_story_import"),
        {"briefing": upload, "section": "world", "status": "draft"},
    )
    assert "briefings are limited to 2,000 bytes" in response.content.decode()
    with pytest.raises(BriefingError, match="larger than 2,000 bytes"):
        parse_briefing_bytes(text.encode(), source="upload.txt")
    assert database_dump() == existing_newsroom


def test_parsing_a_briefing_just_under_the_limit_uses_bounded_memory(tmp_path, settings):
    settings.BRIEFING_MAX_BYTES = 4 * 1024 * 1024
    text, count = briefing_of_size(settings.BRIEFING_MAX_BYTES)
    path = tmp_path / "big.txt"
    path.write_text(text)
    size = path.stat().st_size
    assert settings.BRIEFING_MAX_BYTES - 1024 < size <= settings.BRIEFING_MAX_BYTES
    tracemalloc.start()
    try:
        briefing = read_briefing_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(briefing.stories) == count
    # Measured about 2.5x the file (its lines, the stories); 20x is the alarm.
    assert peak < 20 * size, f"parsing a {size:,} byte briefing peaked at {peak:,} bytes"


def test_reading_a_briefing_never_holds_its_whole_text(tmp_path, settings):
    # With one character past Latin-1 (the signoffs' dash) the whole text as a str takes two
    # bytes a character: reading it whole peaked at 4.4x the file, a block at a time at 2.4x.
    settings.BRIEFING_MAX_BYTES = 4 * 1024 * 1024
    text, count = briefing_of_size(settings.BRIEFING_MAX_BYTES)
    assert "—" in text
    path = tmp_path / "big.txt"
    path.write_text(text)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        briefing = read_briefing_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(briefing.stories) == count
    assert peak < 3.3 * size, f"reading a {size:,} byte briefing peaked at {peak:,} bytes"


IMPORT_MEMORY_SCRIPT = """
import json, os, resource, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from stories.importer import import_briefings, read_briefing_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
result = import_briefings([read_briefing_file(sys.argv[1])], section="world")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"created": result.counts["created"], "growth": after - before}))
"""


@pytest.mark.slow
def test_importing_a_briefing_just_under_the_limit_uses_bounded_memory(tmp_path):
    limit = 4 * 1024 * 1024
    text, count = briefing_of_size(limit)
    path = tmp_path / "big.txt"
    path.write_text(text)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        "DEBUG": "1",
        "NEWSROOM_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'memory.sqlite3'}",
        "BRIEFING_MAX_BYTES": str(limit),
    }
    completed = subprocess.run(
        [sys.executable, "-c", IMPORT_MEMORY_SCRIPT, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    assert figures["created"] == count
    size = path.stat().st_size
    # Measured about 8x the file in peak resident memory growth; 25x is the alarm.
    assert figures["growth"] < 25 * size, figures


# --- broken files ----------------------------------------------------------------------------


BROKEN = {
    "binary (PNG)": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary data"),
    "binary (random high bytes)": (bytes(range(128, 256)) * 20, "not valid UTF-8"),
    "Latin-1 line in a UTF-8 file": (
        story_block(1).encode() + "Café in Zürich\nThe café réopened.\n".encode("latin-1"),
        "line 5: not valid UTF-8",
    ),
    "Windows-1252 quotes": (b"Talks resume\n\x93Quoted\x94 paragraph here.\n", "line 2"),
    "UTF-16 with a byte order mark": (
        codecs.BOM_UTF16_LE + story_block(1).encode("utf-16-le"),
        "UTF-16 text; save it as UTF-8",
    ),
    "UTF-32 with a byte order mark": (
        codecs.BOM_UTF32_LE + story_block(1).encode("utf-32-le"),
        "UTF-32 text; save it as UTF-8",
    ),
    "control characters": (story_block(1).encode() + b"Bad\x1b[31m escape.\n", "U+001B"),
    "one enormous line with no headline": (
        b"word " * 1_000_000,  # 5 MB on one line
        "no headline found",
    ),
    "only whitespace": (b" \n\t\r\n" * 1000, "file is empty"),
    "truncated UTF-8 at the end": (story_block(1).encode() + "北京".encode()[:-1], "UTF-8"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_briefing_is_a_clear_error_and_changes_nothing(
    case, tmp_path, settings, existing_newsroom
):
    settings.BRIEFING_MAX_BYTES = 16 * 1024 * 1024
    data, message = BROKEN[case]
    path = tmp_path / "2024-05-01-broken.txt"
    path.write_bytes(data)
    with pytest.raises(CommandError) as raised:
        run_command(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)  # names the file
    assert database_dump() == existing_newsroom


def test_failed_import_of_good_and_bad_files_leaves_the_database_exactly_as_it_was(
    tmp_path, existing_newsroom
):
    good = tmp_path / "2024-05-02-good.txt"
    good.write_text(story_block(1) + story_block(2))
    bad = tmp_path / "2024-05-02-bad.txt"
    bad.write_bytes(b"Headline\n\xff\xfe broken\n")
    with pytest.raises(CommandError):
        run_command(good, bad)
    assert database_dump() == existing_newsroom


def test_import_failing_while_writing_leaves_the_database_exactly_as_it_was(
    tmp_path, existing_newsroom, seed_path
):
    # Stories, bylines, tags and revisions are already written when the last step fails.
    path = tmp_path / "2024-05-03-late.txt"
    path.write_text(story_block(1, names="New Person") + story_block(2))
    with (
        mock.patch.object(Writer, "write_relations", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        run_command(path, "--section", "brand-new-section")
    assert database_dump() == existing_newsroom


def test_failed_admin_import_confirmation_leaves_the_database_exactly_as_it_was(
    tmp_path, settings, editor_user, existing_newsroom
):
    settings.VAR_DIR = tmp_path
    client = Client()
    client.force_login(editor_user)
    existing_newsroom = database_dump()  # logging in dated the user's last login
    url = reverse("admin:stories_story_import")
    upload = SimpleUploadedFile("2024-05-04-desk.txt", (story_block(1) + story_block(2)).encode())
    preview = client.post(url, {"briefing": upload, "section": "world", "status": "published"})
    staged = preview.context["staged"]
    with mock.patch.object(Writer, "write_relations", side_effect=RuntimeError("disk full")):
        client.raise_request_exception = False
        response = client.post(
            url, {"staged": staged, "section": "world", "status": "published", "confirm": "1"}
        )
    assert response.status_code == 500
    assert database_dump() == existing_newsroom


# --- big but valid ---------------------------------------------------------------------------


def test_one_enormous_paragraph_imports_whole(tmp_path, client):
    paragraph = ("A very long sentence about the budget, " * 50_000).strip(", ") + "."  # 2 MB
    path = tmp_path / "2024-05-05-long.txt"
    path.write_text(f"The longest story\n{paragraph}\n— By Ana Lima\n")
    run_command(path)
    story = Story.objects.get()
    assert story.body == f"<p>{paragraph}</p>"
    assert client.get(story.get_absolute_url()).status_code == 200


def test_thousands_of_stories_import_in_one_go(tmp_path, client):
    text = "".join(story_block(number, names=f"Writer {number % 40}") for number in range(3000))
    path = tmp_path / "2024-05-06-wire.txt"
    path.write_text(text)
    run_command(path)
    assert Story.objects.count() == 3000
    assert ImportRecord.objects.count() == 3000
    assert Byline.objects.count() == 40
    assert len(set(Story.objects.values_list("slug", flat=True))) == 3000
    run_command(path)  # and a re-import finds every one unchanged
    assert Story.objects.count() == 3000
    assert client.get("/").status_code == 200


NAMES = [
    "محمد علي",  # Arabic
    "李明",  # Chinese
    "山田 太郎",  # Japanese
    "김민준",  # Korean
    "Zoë Ñúñez-Ølsen",  # accents
    "Дмитрий Иванов",  # Cyrillic
    "דוד כהן",  # Hebrew
    "अनन्या शर्मा",  # Devanagari
    "สมชาย ใจดี",  # Thai
    "Ngozi Ọ̀kọ̀",  # combining marks
    "🚀 Rocket Desk",  # emoji
]
HEADLINES = [
    "قمة في موسكو",
    "北京与台北会谈",
    "東京の新しい橋",
    "서울 시장 선거",
    "Über die Brücke in Zürich",
    "Выборы в Москве",
    "בחירות בירושלים",
    "दिल्ली में चुनाव",
    "กรุงเทพฯ น้ำท่วม",
    "Ọ̀yọ́ festival returns",
    "🚀🌍",
]


def test_names_and_headlines_in_every_script_import_and_render_exactly(tmp_path, client):
    blocks = [
        f"{headline}\nA paragraph of the story, long enough to be a body, ends here.\n— By {name}\n"
        for headline, name in zip(HEADLINES, NAMES, strict=True)
    ]
    path = tmp_path / "2024-05-07-world.txt"
    path.write_text("\n".join(blocks))
    run_command(path)
    assert sorted(Story.objects.values_list("headline", flat=True)) == sorted(HEADLINES)
    assert sorted(Byline.objects.values_list("name", flat=True)) == sorted(NAMES)
    for story in Story.objects.all():
        page = client.get(story.get_absolute_url())
        assert page.status_code == 200, story.slug
        html = page.content.decode()
        assert story.headline in html
        byline = story.bylines.get()
        assert byline.name in html
        assert client.get(byline.get_absolute_url()).status_code == 200
    assert client.get("/feed/").status_code == 200
    assert client.get("/sitemap-stories.xml").status_code == 200


# --- generated hostile bytes through the whole importer -------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.text(max_size=80).map(str.encode),
            st.sampled_from(
                [b"\n", b"\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"- By ", b"Headline\n"]
            ),
        ),
        max_size=12,
    ).map(b"".join)
)
def test_any_bytes_import_or_raise_briefing_error_and_never_half_write(data):
    before = Story.objects.count(), Byline.objects.count(), ImportRecord.objects.count()
    try:
        briefing = parse_briefing_bytes(data, source="fuzz.txt")
        result = import_briefings([briefing], section="fuzz", day=None)
    except BriefingError as error:
        assert error.message
        assert (Story.objects.count(), Byline.objects.count(), ImportRecord.objects.count()) == (
            before
        )
        return
    created = result.counts["created"]
    assert Story.objects.count() == before[0] + created


# --- field limits: every value the import stores fits its field ------------------------------


def test_byline_name_at_the_limit_imports_and_one_more_is_refused(tmp_path, existing_newsroom):
    limit = Byline._meta.get_field("name").max_length
    path = tmp_path / "2024-05-08-names.txt"
    path.write_text(story_block(1, names="Ana Lima") + story_block(2, names="N" * (limit + 1)))
    with pytest.raises(CommandError) as raised:
        run_command(path)
    # The signoff's line: the second story's signoff is the file's sixth line.
    assert str(raised.value).startswith(f"{path}, line 7: byline name “NNN")
    assert f"is {limit + 1} characters long; at most {limit} are allowed" in str(raised.value)
    assert len(str(raised.value)) < len(str(path)) + 150  # the name is shortened
    assert database_dump() == existing_newsroom
    path.write_text(story_block(1, names="N" * limit))
    run_command(path)
    assert Byline.objects.filter(name="N" * limit).exists()


@pytest.mark.django_db(transaction=True)
def test_overlong_values_are_refused_before_writing_outside_a_test_transaction(tmp_path):
    # On PostgreSQL a 101-character name used to reach the INSERT: a DataError, a 500.
    path = tmp_path / "2024-05-09-long.txt"
    path.write_text(story_block(1, names="Ana Lima and " + "x" * 101))
    with pytest.raises(CommandError, match="line 3: byline name"):
        run_command(path)
    with pytest.raises(CommandError, match="--section slug “sss"):
        run_command(tmp_path / "2024-05-09-long.txt", "--section", "s" * 101)
    # "ß" titles as "Ss": a 99-character slug makes a 149-character section name.
    ss = "-".join(["ß"] * 50)
    with pytest.raises(CommandError, match="is 149 characters long; at most 100"):
        path.write_text(story_block(1))
        run_command(path, "--section", ss)
    assert not Story.objects.exists()
    assert not Byline.objects.exists()
    assert not Section.objects.exists()
    run_command(path, "--section", "s" * 100)
    assert Section.objects.get().slug == "s" * 100


def field(model, name):
    return model._meta.get_field(name)


# Each limit the importer enforces, lowered so an ordinary briefing exceeds it: the limits are
# read from the models, and a new check is one line here.
LOWERED_LIMITS = {
    "headline": (lambda: field(Story, "headline"), "line 1: headline “Story number 1"),
    "import record headline": (
        lambda: field(ImportRecord, "headline"),
        "line 1: headline “Story number 1",
    ),
    "deck": (lambda: field(Story, "deck"), "line 1: deck “Grain ships sail again”"),
    "byline name": (lambda: field(Byline, "name"), "line 4: byline name “Ana Lima”"),
    "section slug": (lambda: field(Section, "slug"), "--section slug “brand-new-section”"),
    "section name": (lambda: field(Section, "name"), "new section “brand-new-section”"),
    "tag name": (lambda: field(Tag, "name"), "line 1: tag “Ukraine”"),
    "tag slug": (lambda: field(Tag, "slug"), "line 1: tag slug “ukraine”"),
    "file name": (lambda: field(ImportRecord, "source"), "file name “2024-05-10-limits.txt”"),
}


@pytest.mark.parametrize("case", list(LOWERED_LIMITS))
def test_every_field_limit_is_enforced_naming_file_and_line(case, tmp_path, existing_newsroom):
    get_field, message = LOWERED_LIMITS[case]
    path = tmp_path / "2024-05-10-limits.txt"
    path.write_text(
        "Story number 1 about Odesa\nGrain ships sail again\n"
        "Ships left Odesa in Ukraine on Monday for the first time since March, officials said.\n"
        "— By Ana Lima\n"
    )
    with mock.patch.object(get_field(), "max_length", 5):
        with pytest.raises(CommandError) as raised:
            run_command(path, "--section", "brand-new-section")
        assert "at most 5 are allowed" in str(raised.value)
        assert message in str(raised.value)
        assert str(raised.value).startswith(str(path))
    assert database_dump() == existing_newsroom


def test_slugs_are_cut_to_the_models_limit(tmp_path):
    path = tmp_path / "2024-05-11-slugs.txt"
    path.write_text(story_block(1, names="Ana Lima") + story_block(2, names="Ana Lima-Lopez"))
    with (
        mock.patch.object(field(Story, "slug"), "max_length", 10),
        mock.patch.object(field(Byline, "slug"), "max_length", 5),
    ):
        run_command(path)
    assert set(Story.objects.values_list("slug", flat=True)) == {"story-numb", "story-nu-2"}
    assert set(Byline.objects.values_list("slug", flat=True)) == {"ana-l", "ana-2"}


# --- Unicode normalisation ---------------------------------------------------------------------


def test_nfd_and_nfc_briefings_are_one_briefing(tmp_path, client):
    nfc = "Café reopens in Zürich\nThe café on the Limmat reopened on Monday.\n— By José Núñez\n"
    path = tmp_path / "2024-05-12-café.txt"
    path.write_text(unicodedata.normalize("NFD", nfc))
    run_command(path)
    story = Story.objects.get()
    assert story.headline == "Café reopens in Zürich"
    assert Byline.objects.get().name == "José Núñez"
    # Re-imported in NFC, and under an NFD file name (as macOS writes names): unchanged.
    path.write_text(nfc)
    nfd_path = tmp_path / unicodedata.normalize("NFD", path.name)
    nfd_path.write_text(nfc)
    for again in (path, nfd_path):
        result = import_briefings([read_briefing_file(again)])
        assert result.counts["unchanged"] == 1, again
    assert Story.objects.count() == 1
    assert Byline.objects.count() == 1
    assert ImportRecord.objects.get().source == "2024-05-12-café.txt"
    assert client.get(story.get_absolute_url()).status_code == 200


# --- thousands of alike headlines and names: linear time, few queries -----------------------

# Characters slugify drops and the parser keeps inside a headline or a name.
DROPPED = "#$%*+/<=>@^`|~"


def alike(prefix, count):
    """``count`` different texts that all slugify as ``prefix`` does."""
    texts = []
    for first in DROPPED:
        for second in DROPPED:
            for third in DROPPED:
                for fourth in DROPPED:
                    texts.append(f"{prefix[:3]}{first}{second}{prefix[3:]}{third}{fourth}")
                    if len(texts) == count:
                        return texts
    raise ValueError(count)


def test_allocate_slugs_for_thousands_of_alike_texts_is_linear(
    django_assert_max_num_queries, time_limit
):
    from stories.slugs import allocate_slugs

    headlines = alike("Budget vote", 20_000)
    assert len(set(headlines)) == 20_000
    with django_assert_max_num_queries(2), time_limit(10):  # exact slugs, then their forms
        slugs = allocate_slugs(Story, headlines, max_length=200)
    assert slugs[:3] == ["budget-vote", "budget-vote-2", "budget-vote-3"]
    assert len(set(slugs)) == 20_000


def test_importing_thousands_of_alike_headlines_and_names_is_linear(tmp_path, time_limit):
    headlines, names = alike("Budget vote", 5000), alike("Ana Lima", 5000)
    text = "".join(
        f"{headline}\n{PARAGRAPH}\n— By {name}\n\n"
        for headline, name in zip(headlines, names, strict=True)
    )
    path = tmp_path / "2024-05-13-alike.txt"
    path.write_text(text)
    # Measured 7 s (SQLite); counting up from 1 for each alike headline and name took 58 s.
    with time_limit(45):
        run_command(path)
        # The same headlines in another file: their slugs count on from 5,001.
        other = tmp_path / "2024-05-14-alike.txt"
        other.write_text(text)
        run_command(other)
    slugs = set(Story.objects.values_list("slug", flat=True))
    assert slugs == {"budget-vote"} | {f"budget-vote-{n}" for n in range(2, 10_001)}
    assert set(Byline.objects.values_list("slug", flat=True)) == {"ana-lima"} | {
        f"ana-lima-{n}" for n in range(2, 5001)
    }
