"""Tests for the briefing parser: its rules, its errors and the seed briefing."""

import io
import random
import re
import unicodedata
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stories.importer.parser import (
    MAX_DECK_LENGTH,
    MAX_HEADLINE_LENGTH,
    MAX_SIGNOFF_NAMES,
    SENTENCE_PUNCTUATION,
    Briefing,
    BriefingError,
    ParsedStory,
    decode_briefing,
    parse_briefing,
    read_briefing,
    render_briefing,
)

REPO = Path(__file__).resolve().parents[1]
SEED_CANDIDATES = (
    REPO / "fixtures" / "briefing.txt",
    REPO.parent / "shared" / "seed" / "briefing.txt",
)


def seed_text():
    for path in SEED_CANDIDATES:
        if path.exists():
            return path.read_text(encoding="utf-8")
    pytest.fail(f"seed briefing not found at any of {[str(path) for path in SEED_CANDIDATES]}")


def parse_error(text, source="<briefing>"):
    with pytest.raises(BriefingError) as caught:
        parse_briefing(text, source)
    return caught.value


def decode_error(data, source="<briefing>"):
    with pytest.raises(BriefingError) as caught:
        decode_briefing(data, source)
    return caught.value


def only_story(text):
    (story,) = parse_briefing(text).stories
    return story


LONG_PARAGRAPH = ("A paragraph long enough that it can never be taken for a deck. " * 3).strip()


# --- BriefingError ---------------------------------------------------------------------------


def test_briefing_error_names_source_and_line():
    error = BriefingError("bad thing", source="a.txt", line=3)
    assert (error.message, error.source, error.line) == ("bad thing", "a.txt", 3)
    assert str(error) == "a.txt, line 3: bad thing"


def test_briefing_error_without_line_names_only_source():
    error = BriefingError("file is empty")
    assert str(error) == "<briefing>: file is empty"
    assert error.line is None


def test_briefing_error_is_a_value_error():
    assert issubclass(BriefingError, ValueError)


# --- the seed briefing -----------------------------------------------------------------------


def test_parse_briefing_seed_has_four_stories():
    briefing = parse_briefing(seed_text(), "briefing.txt")
    assert briefing.source == "briefing.txt"
    assert [story.headline for story in briefing.stories] == [
        "North Korea’s Kim arrives in Russia’s far east for summit with Putin",
        "Beijing sets Fujian as Taiwan trade zone",
        "China builds up coastal military bases",
        "US lawmakers plan China visits",
    ]
    assert [len(story.paragraphs) for story in briefing.stories] == [15, 4, 3, 1]
    assert [story.line for story in briefing.stories] == [1, 18, 23, 27]


def test_parse_briefing_seed_decks():
    decks = [story.deck for story in parse_briefing(seed_text()).stories]
    assert decks == [
        "US says Pyongyang set to supply arms for Moscow's war in Ukraine.",
        "",
        "",
        "",
    ]


def test_parse_briefing_seed_bylines_cover_every_story():
    stories = parse_briefing(seed_text()).stories
    assert {story.bylines for story in stories} == {("William Roberts",)}


def test_parse_briefing_seed_keeps_text_exactly():
    text = seed_text()
    stories = parse_briefing(text).stories
    lines = [line for line in text.split("\n") if line]
    assert stories[0].paragraphs[0] == lines[2]
    assert stories[0].paragraphs[-1] == lines[16]
    assert stories[2].paragraphs[1].endswith("along the coast … are being continuously updated.”")
    assert stories[3].paragraphs == (lines[27],)
    every_line = [
        line
        for story in stories
        for line in (story.headline, story.deck, *story.paragraphs)
        if line
    ]
    assert every_line == lines[:-1]


def test_parse_briefing_seed_round_trips_through_render():
    briefing = parse_briefing(seed_text())
    assert parse_briefing(render_briefing(briefing)) == briefing


def test_decode_briefing_seed_bytes():
    text = seed_text()
    assert decode_briefing(text.encode("utf-8")) == text


# --- lines, whitespace, encodings ------------------------------------------------------------


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_parse_briefing_accepts_each_line_ending(line_break):
    text = line_break.join(["Headline", "", "First paragraph.", "— Ann Lee", ""])
    story = only_story(text)
    assert (story.headline, story.paragraphs, story.bylines) == (
        "Headline",
        ("First paragraph.",),
        ("Ann Lee",),
    )
    assert parse_error(line_break.join(["Headline", "Body.", "", "Orphan"])).line == 4


def test_parse_briefing_mixed_line_endings_count_physical_lines():
    error = parse_error("Headline\r\nBody.\r\rSecond\nThird head")
    assert error.message == "headline “Second” has no paragraphs"
    assert error.line == 4


def test_parse_briefing_only_crlf_cr_lf_break_lines():
    paragraph = "One\u2028two\x85three\u2029four."
    story = only_story(f"Headline\n{paragraph}")
    assert story.paragraphs == (paragraph,)


def test_parse_briefing_drops_leading_bom():
    story = only_story("\ufeffHeadline\nBody.")
    assert story.headline == "Headline"


def test_parse_briefing_strips_surrounding_whitespace():
    story = only_story("  Headline \t\n\tBody text.   \n   \n\u00a0— By Ann Lee  \n")
    assert story.headline == "Headline"
    assert story.paragraphs == ("Body text.",)
    assert story.bylines == ("Ann Lee",)


def test_parse_briefing_ignores_blank_lines_but_counts_them():
    briefing = parse_briefing("\n\n  \nHeadline\n\n\nBody.\n\n\nSecond\n\nMore body.\n")
    assert [story.line for story in briefing.stories] == [4, 10]


def test_parse_briefing_keeps_typography():
    paragraph = "“Quoted” — with an em dash, ‘single’ quotes and an ellipsis…"
    assert only_story(f"Headline\n{paragraph}").paragraphs == (paragraph,)


def test_decode_briefing_drops_bom():
    assert decode_briefing("\ufeffHeadline\nBody.".encode()) == "Headline\nBody."


def test_decode_briefing_rejects_invalid_utf8_with_offset_and_line():
    error = decode_error(b"Headline\r\nBody.\rMore \xff text.", "x.txt")
    assert error.message == "not valid UTF-8 (byte offset 21)"
    assert (error.source, error.line) == ("x.txt", 3)
    assert str(error) == "x.txt, line 3: not valid UTF-8 (byte offset 21)"


def test_decode_briefing_rejects_latin1():
    error = decode_error("Headline\nCafé.".encode("latin-1"))
    assert error.message == "not valid UTF-8 (byte offset 12)"
    assert error.line == 2


def test_decode_briefing_rejects_nul_byte_as_binary():
    error = decode_error(b"Headline\nBody\x00.")
    assert (error.message, error.line) == ("binary data (NUL byte)", 2)


def test_decode_briefing_rejects_control_character():
    error = decode_error(b"Headline\n\nBody\x07.")
    assert (error.message, error.line) == ("control character U+0007", 3)


def test_decode_briefing_rejects_delete_character():
    assert decode_error(b"Headline\x7f\nBody.").message == "control character U+007F"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"  \r\n\t\n"])
def test_decode_briefing_rejects_empty_file(data):
    error = decode_error(data)
    assert (error.message, error.line) == ("file is empty", None)


def test_decode_briefing_allows_tab_cr_lf():
    text = "Headline\tone\r\nBody.\r"
    assert decode_briefing(text.encode()) == text


def test_parse_briefing_rejects_nul_character():
    error = parse_error("Headline\nBody.\n\x00")
    assert (error.message, error.line) == ("binary data (NUL byte)", 3)


@pytest.mark.parametrize("character", ["\x01", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
def test_parse_briefing_rejects_control_characters(character):
    error = parse_error(f"Headline\r\nBody{character}.")
    assert error.message == f"control character U+{ord(character):04X}"
    assert error.line == 2


@pytest.mark.parametrize("text", ["", "   ", "\n\r\n\t", "\ufeff", "\ufeff \n"])
def test_parse_briefing_rejects_empty_text(text):
    error = parse_error(text, "empty.txt")
    assert (error.message, error.line) == ("file is empty", None)
    assert str(error) == "empty.txt: file is empty"


# --- headlines -------------------------------------------------------------------------------


def test_parse_briefing_headline_at_limit():
    headline = "H" * MAX_HEADLINE_LENGTH
    assert only_story(f"{headline}\nBody.").headline == headline


def test_parse_briefing_headline_over_limit_is_a_paragraph():
    too_long = "H" * (MAX_HEADLINE_LENGTH + 1)
    story = only_story(f"Headline\n{LONG_PARAGRAPH}\n\n{too_long}\n— Ann Lee")
    assert story.paragraphs == (LONG_PARAGRAPH, too_long)


@pytest.mark.parametrize(
    "ending",
    [".", "!", "?", ":", ";", ",", "…", "。", "！", "？", "：", "；", "，", "、", "؟", "،", "؛"],
)
def test_parse_briefing_sentence_punctuation_ends_a_paragraph(ending):
    story = only_story(f"Headline\n{LONG_PARAGRAPH}\nAlso body{ending}")
    assert story.paragraphs == (LONG_PARAGRAPH, f"Also body{ending}")


@pytest.mark.parametrize(
    "closing", ['"', "'", "”", "’", "»", "›", ")", "]", "}", "」", "』", "”)", ".”'"]
)
def test_parse_briefing_punctuation_before_closing_quotes_ends_a_paragraph(closing):
    story = only_story(f"Headline\n{LONG_PARAGRAPH}\nHe said “yes.{closing}")
    assert story.paragraphs == (LONG_PARAGRAPH, f"He said “yes.{closing}")


@pytest.mark.parametrize(
    "headline", ["Kim meets Putin (again)", "Putin says “no deal”", "Why now?!x"]
)
def test_parse_briefing_closing_quote_without_punctuation_is_a_headline(headline):
    assert only_story(f"{headline}\nBody.").headline == headline


def test_parse_briefing_headline_starts_new_story():
    briefing = parse_briefing("First\nBody one.\nSecond\nBody two.\nThird\nBody three.")
    assert [(story.headline, story.paragraphs) for story in briefing.stories] == [
        ("First", ("Body one.",)),
        ("Second", ("Body two.",)),
        ("Third", ("Body three.",)),
    ]


def test_parse_briefing_rejects_headline_without_paragraphs_before_next_headline():
    error = parse_error("First\nBody.\n\nSecond\nThird\nMore\nBody.")
    assert (error.message, error.line) == ("headline “Second” has no paragraphs", 4)


def test_parse_briefing_rejects_headline_without_paragraphs_at_end():
    error = parse_error("First\nBody.\nLast")
    assert (error.message, error.line) == ("headline “Last” has no paragraphs", 3)


def test_parse_briefing_rejects_headline_without_paragraphs_before_signoff():
    error = parse_error("First\nBody.\nSecond\n— Ann Lee")
    assert (error.message, error.line) == ("headline “Second” has no paragraphs", 3)


def test_parse_briefing_rejects_repeated_headline():
    error = parse_error("Same\nBody.\nOther\nBody.\n\nSame\nBody.", "dup.txt")
    assert (error.message, error.line) == ("headline “Same” repeats line 1", 6)
    assert str(error) == "dup.txt, line 6: headline “Same” repeats line 1"


def test_parse_briefing_rejects_text_before_first_headline():
    error = parse_error("\nAn opening sentence.\nHeadline\nBody.")
    assert (error.message, error.line) == ("text before the first headline", 2)


def test_parse_briefing_rejects_text_without_any_headline():
    error = parse_error("\n\nJust a sentence.\nAnd another one.\n")
    assert (error.message, error.line) == ("no headline found", 3)


def test_parse_briefing_signoff_alone_has_no_headline():
    error = parse_error("— By Ann Lee")
    assert (error.message, error.line) == ("no headline found", 1)


# --- decks -----------------------------------------------------------------------------------


def test_parse_briefing_deck_follows_headline():
    story = only_story("Headline\nA deck without punctuation\nBody.")
    assert (story.deck, story.paragraphs) == ("A deck without punctuation", ("Body.",))


def test_parse_briefing_deck_may_end_in_punctuation():
    story = only_story("Headline\nA deck that is a sentence.\nBody.\nMore body.")
    assert (story.deck, story.paragraphs) == ("A deck that is a sentence.", ("Body.", "More body."))


def test_parse_briefing_deck_at_limit():
    deck = "d" * (MAX_DECK_LENGTH - 1) + "."
    assert only_story(f"Headline\n{deck}\nBody.").deck == deck


def test_parse_briefing_line_over_deck_limit_is_a_paragraph():
    line = "d" * MAX_DECK_LENGTH + "."
    story = only_story(f"Headline\n{line}\nBody.")
    assert (story.deck, story.paragraphs) == ("", (line, "Body."))


def test_parse_briefing_single_short_line_is_a_paragraph():
    story = only_story("Headline\nOnly one short line.")
    assert (story.deck, story.paragraphs) == ("", ("Only one short line.",))


def test_parse_briefing_line_before_signoff_is_a_paragraph():
    story = only_story("Headline\nShort line.\n— By Ann Lee")
    assert (story.deck, story.paragraphs) == ("", ("Short line.",))


def test_parse_briefing_line_before_next_headline_is_a_paragraph():
    briefing = parse_briefing("First\nShort line.\n\nSecond\nBody.")
    assert [(story.deck, story.paragraphs) for story in briefing.stories] == [
        ("", ("Short line.",)),
        ("", ("Body.",)),
    ]


def test_parse_briefing_only_the_line_right_after_the_headline_is_a_deck():
    story = only_story(f"Headline\n{LONG_PARAGRAPH}\nShort.\nBody.")
    assert (story.deck, story.paragraphs) == ("", (LONG_PARAGRAPH, "Short.", "Body."))


def test_parse_briefing_deck_looking_like_a_headline_is_a_deck():
    story = only_story("Headline\nSecond line without a full stop\nBody.")
    assert story.deck == "Second line without a full stop"


# --- signoffs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signoff", "bylines"),
    [
        ("— William Roberts", ("William Roberts",)),
        ("– William Roberts", ("William Roberts",)),
        ("-- William Roberts", ("William Roberts",)),
        ("- William Roberts", ("William Roberts",)),
        ("—William Roberts", ("William Roberts",)),
        ("— By William Roberts", ("William Roberts",)),
        ("— by William Roberts", ("William Roberts",)),
        ("— BY William Roberts", ("William Roberts",)),
        ("— Byron Smith", ("Byron Smith",)),
        ("— By Byron Smith", ("Byron Smith",)),
        ("— Ann Lee, Bo Park", ("Ann Lee", "Bo Park")),
        ("— Ann Lee & Bo Park", ("Ann Lee", "Bo Park")),
        ("— Ann Lee and Bo Park", ("Ann Lee", "Bo Park")),
        ("— By Ann Lee, Bo Park and Cy Diaz", ("Ann Lee", "Bo Park", "Cy Diaz")),
        ("— By Ann Lee, Bo Park, and Cy Diaz", ("Ann Lee", "Bo Park", "Cy Diaz")),
        ("— Anderson Cooper and Sandra Oh", ("Anderson Cooper", "Sandra Oh")),
        ("— Ann Lee.", ("Ann Lee",)),
        ("— Ann Lee, Bo Park;", ("Ann Lee", "Bo Park")),
        ("— Ann Lee, , Bo Park,", ("Ann Lee", "Bo Park")),
        ("— Ann Lee, Bo Park and Ann Lee", ("Ann Lee", "Bo Park")),
        ("— By   Ann   Lee ", ("Ann   Lee",)),
        ("— By محمد علي و سارة", ("محمد علي و سارة",)),
        ("— 李明、王芳 and Ann Lee", ("李明、王芳", "Ann Lee")),
    ],
)
def test_parse_briefing_signoff_variants(signoff, bylines):
    assert only_story(f"Headline\nBody.\n{signoff}").bylines == bylines


def test_parse_briefing_signoff_covers_every_story_since_previous_signoff():
    briefing = parse_briefing(
        "One\nBody.\nTwo\nBody.\n— Ann Lee\nThree\nBody.\n— Bo Park & Cy Diaz\nFour\nBody."
    )
    assert [story.bylines for story in briefing.stories] == [
        ("Ann Lee",),
        ("Ann Lee",),
        ("Bo Park", "Cy Diaz"),
        (),
    ]


def test_parse_briefing_story_without_signoff_has_no_bylines():
    assert only_story("Headline\nBody.").bylines == ()


@pytest.mark.parametrize("signoff", ["—", "--", "-", "— By", "— by ", "— , & and", "— ..."])
def test_parse_briefing_rejects_signoff_without_names(signoff):
    error = parse_error(f"Headline\nBody.\n\n{signoff}")
    assert (error.message, error.line) == ("signoff has no names", 4)


def test_parse_briefing_rejects_signoff_with_no_story_since_previous_signoff():
    error = parse_error("Headline\nBody.\n— Ann Lee\n— Bo Park")
    assert (error.message, error.line) == ("signoff has no story before it", 4)


def test_parse_briefing_rejects_signoff_before_first_headline():
    error = parse_error("— Ann Lee\nHeadline\nBody.")
    assert (error.message, error.line) == ("signoff has no story before it", 1)


def test_parse_briefing_signoff_allows_at_most_max_names():
    names = [f"Writer {chr(ord('A') + number)}" for number in range(MAX_SIGNOFF_NAMES + 1)]
    story = only_story(f"Headline\nBody.\n— By {', '.join(names[:-1])}")
    assert len(story.bylines) == MAX_SIGNOFF_NAMES
    # Repeats count once.
    assert only_story(f"Headline\nBody.\n— {', '.join(names[:-1] * 5)}") == story
    error = parse_error(f"Headline\nBody.\n\n— By {', '.join(names)}", source="wire.txt")
    assert str(error) == (
        f"wire.txt, line 4: signoff has {MAX_SIGNOFF_NAMES + 1} names; "
        f"at most {MAX_SIGNOFF_NAMES} are allowed"
    )


def test_parse_briefing_signoff_with_thousands_of_names_is_refused():
    names = ", ".join(f"Name{number}" for number in range(50_000))
    error = parse_error(f"Headline\nBody.\n— {names}")
    assert (error.message, error.line) == ("signoff has 50,000 names; at most 20 are allowed", 3)


def test_parse_briefing_records_the_signoff_line_of_each_story():
    briefing = parse_briefing("One\nBody.\nTwo\nBody.\n\n— Ann Lee\nThree\nBody.")
    assert [story.bylines_line for story in briefing.stories] == [6, 6, None]


def test_parse_briefing_line_starting_with_dash_is_a_signoff():
    error = parse_error("Headline\n- 40 degrees tonight.\nBody.")
    assert error.message == "headline “Headline” has no paragraphs"


# --- Unicode normalisation ---------------------------------------------------------------------


def test_parse_briefing_reads_nfd_text_as_nfc():
    nfc = "Café opens in Zürich\nThe café reopened on Monday.\n— By José Núñez\n"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert parse_briefing(nfd) == parse_briefing(nfc)
    story = only_story(nfd)
    assert story.headline == "Café opens in Zürich"
    assert all(
        unicodedata.is_normalized("NFC", text)
        for text in (story.headline, *story.paragraphs, *story.bylines)
    )
    assert read_briefing(io.BytesIO(nfd.encode())) == parse_briefing(nfc)


def test_parse_briefing_headline_typed_two_ways_is_a_repeat():
    text = "Café opens\nIt opened.\n" + unicodedata.normalize("NFD", "Café opens\nAgain.\n")
    error = parse_error(text)
    assert (error.message, error.line) == ("headline “Café opens” repeats line 1", 3)


def test_parse_briefing_measures_lengths_after_normalising():
    # 60 letters with a combining accent are 120 characters in NFD and 60 in NFC: a headline.
    headline = unicodedata.normalize("NFD", "é" * 60 + " opens")
    assert len(headline) > MAX_HEADLINE_LENGTH
    assert only_story(f"{headline}\nBody.").headline == "é" * 60 + " opens"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=40))
def test_parse_briefing_gives_nfc_for_any_text(words):
    text = f"Headline {words}\nA body paragraph about {words} that ends.\n— By Ann {words}"
    try:
        briefing = parse_briefing(text)
    except BriefingError:
        return
    for story in briefing.stories:
        for part in (story.headline, story.deck, *story.paragraphs, *story.bylines):
            assert unicodedata.is_normalized("NFC", part)
    assert parse_briefing(unicodedata.normalize("NFD", text)) == briefing


# --- adversarial lines: the parser is linear ------------------------------------------------


MEGABYTE = 1_000_000
TRAILER_CHARACTERS = " \u00a0\u3000" + SENTENCE_PUNCTUATION
ADVERSARIAL_CHARACTERS = TRAILER_CHARACTERS + ",&-—–" + "and "


def mixed_run(size, seed):
    rng = random.Random(seed)
    return "".join(rng.choice(ADVERSARIAL_CHARACTERS) for _ in range(size))


ADVERSARIAL_LINES = {
    "dots": "— Ann Lee" + "." * MEGABYTE + "x",
    "dots and spaces": "— Ann Lee" + " ." * (MEGABYTE // 2) + "x",
    "spaces": "— Ann Lee" + " " * MEGABYTE + "x",
    "no-break spaces": "— Ann" + "\u00a0\u3000" * (MEGABYTE // 2) + "x",
    "commas": "— Ann" + "," * MEGABYTE + "x",
    "ampersands": "— Ann" + "&" * MEGABYTE + "x",
    "dashes": "— Ann" + "-" * MEGABYTE + "x",
    "em dashes": "—" * MEGABYTE,
    "and and and": "— By Ann" + " and" * (MEGABYTE // 4) + " Bo",
    "andandand": "— Ann " + "and" * (MEGABYTE // 3),
    "by by by": "— " + "By " * (MEGABYTE // 3),
    "ellipses": "— Ann" + "…。，" * (MEGABYTE // 3) + "x",
    "mixed": "— Ann" + mixed_run(MEGABYTE, 1) + "x",
    "mixed, no names": "—" + mixed_run(MEGABYTE, 2).replace("a", "."),
    "one enormous name": "— " + "Ann" * (MEGABYTE // 3),
    "paragraph of dots": "." * MEGABYTE + "x",
    "paragraph of closing quotes": ".”" * (MEGABYTE // 2) + "x",
    "paragraph of spaces": "x" + " " * MEGABYTE + "x",
}


@pytest.mark.parametrize("name", list(ADVERSARIAL_LINES))
def test_parse_briefing_reads_megabyte_adversarial_lines_in_linear_time(name, time_limit):
    text = f"Headline\nBody.\n{ADVERSARIAL_LINES[name]}\nNext\nBody.\n"
    data = text.encode()
    with time_limit(10):
        # Refused (no names, too many) or read: what matters is that it answers, and that
        # the upload path (read_briefing) answers as the whole-text path does.
        whole = outcome(lambda: parse_briefing(text))
        streamed = outcome(lambda: read_briefing(io.BytesIO(data)))
    assert streamed == whole


ADVERSARIAL_UNITS = st.text(alphabet=ADVERSARIAL_CHARACTERS + "xAB", min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    unit=ADVERSARIAL_UNITS,
    prefix=st.sampled_from(["— ", "— By Ann", "-- Ann, ", "– ", ""]),
    suffix=st.sampled_from(["", "x", " Bo", ".", " and"]),
)
def test_parse_briefing_stays_linear_for_any_repeated_run(unit, prefix, suffix, time_limit):
    line = prefix + unit * (200_000 // len(unit)) + suffix
    with time_limit(10):
        try:
            briefing = parse_briefing(f"Headline\nBody.\n{line}")
        except BriefingError as error:
            assert error.message
            return
    for story in briefing.stories:
        for name in story.bylines:
            assert name and name == name.strip() and name[-1] not in TRAILER_CHARACTERS


OLD_NAME_TRAILER = re.compile(f"[\\s{re.escape(SENTENCE_PUNCTUATION)}]+\\Z")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ADVERSARIAL_CHARACTERS + "AnnLeeBo\t\u2028"), max_size=60))
def test_parse_briefing_names_are_what_the_trailer_regex_gave(names):
    # The linear stripping reads names exactly as the (quadratic) regex it replaced did.
    from stories.importer.parser import _NAME_SEPARATOR, _signoff_names

    expected = tuple(
        dict.fromkeys(
            name
            for name in (
                OLD_NAME_TRAILER.sub("", piece.strip()) for piece in _NAME_SEPARATOR.split(names)
            )
            if name
        )
    )
    assert _signoff_names(names) == expected


# --- other scripts ---------------------------------------------------------------------------


def test_parse_briefing_arabic():
    text = (
        "قمة في موسكو\nالتقى الزعيمان يوم الثلاثاء؟\nوقال المتحدث إن المحادثات مستمرة.\n— بقلم سارة"
    )
    story = only_story(text)
    assert story.headline == "قمة في موسكو"
    assert story.deck == "التقى الزعيمان يوم الثلاثاء؟"
    assert story.paragraphs == ("وقال المتحدث إن المحادثات مستمرة.",)
    assert story.bylines == ("بقلم سارة",)


def test_parse_briefing_arabic_punctuation_ends_a_paragraph():
    story = only_story(f"قمة في موسكو\n{LONG_PARAGRAPH}\nنص طويل،\nنص آخر؛")
    assert story.paragraphs == (LONG_PARAGRAPH, "نص طويل،", "نص آخر؛")


def test_parse_briefing_cjk():
    text = "北京设立福建台湾贸易区\n中国将把福建省建设成为示范区。\n「这是第一步。」\n— 李明"
    story = only_story(text)
    assert story.headline == "北京设立福建台湾贸易区"
    assert story.deck == "中国将把福建省建设成为示范区。"
    assert story.paragraphs == ("「这是第一步。」",)
    assert story.bylines == ("李明",)


def test_parse_briefing_japanese_quote_after_full_stop_is_a_paragraph():
    story = only_story("東京で会談\n本文です。\n「はい。」")
    assert (story.deck, story.paragraphs) == ("本文です。", ("「はい。」",))


def test_parse_briefing_emoji():
    story = only_story("Launch day 🚀\nEveryone cheered 🎉.\n— Zoë O’Brien 👋")
    assert story.headline == "Launch day 🚀"
    assert story.paragraphs == ("Everyone cheered 🎉.",)
    assert story.bylines == ("Zoë O’Brien 👋",)


# --- rendering -------------------------------------------------------------------------------


def test_render_briefing_writes_headline_deck_paragraphs_and_signoff():
    story = ParsedStory("Headline", "The deck", ("One.", "Two."), ("Ann Lee", "Bo Park"), line=1)
    text = render_briefing(Briefing("x", (story,)))
    assert text == "Headline\nThe deck\nOne.\nTwo.\n— By Ann Lee and Bo Park\n"


def test_render_briefing_signs_each_run_of_shared_bylines_once():
    stories = (
        ParsedStory("One", "", ("Body.",), ("Ann Lee",), line=1),
        ParsedStory("Two", "", ("Body.",), ("Ann Lee",), line=3),
        ParsedStory("Three", "", ("Body.",), ("Ann Lee", "Bo Park", "Cy Diaz"), line=6),
        ParsedStory("Four", "", ("Body.",), (), line=9),
    )
    text = render_briefing(Briefing("x", stories))
    assert text.count("— By Ann Lee\n") == 1
    assert "— By Ann Lee, Bo Park and Cy Diaz\n" in text
    assert text.rstrip().endswith("Four\nBody.")
    assert parse_briefing(text).stories == stories


def test_parsed_story_equality_ignores_line():
    assert ParsedStory("H", "", ("B.",), (), line=1) == ParsedStory("H", "", ("B.",), (), line=9)


# --- properties ------------------------------------------------------------------------------

WORD = st.one_of(
    st.sampled_from(
        "Kim Putin summit arms and by By and-so Anderson Byron US China’s «deal» (again) 2023 "
        "Москва قمة موسكو 北京 台湾 한국 東京 Zoë 🚀 🇺🇦".split()
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzÉДقم中한🙂", min_size=1, max_size=6),
)
NAMES = st.sampled_from(
    ["William Roberts", "Anderson Cooper", "Byron Smith", "Zoë O’Brien", "李明", "محمد علي"]
)


def words(min_size, max_size, max_length):
    return (
        st.lists(WORD, min_size=min_size, max_size=max_size)
        .map(" ".join)
        .filter(lambda text: len(text) <= max_length)
    )


HEADLINES = words(1, 8, MAX_HEADLINE_LENGTH)
DECKS = st.one_of(st.just(""), words(1, 8, MAX_DECK_LENGTH - 1).map(lambda text: text + "."))
# Longer than any deck, so a story without a deck reads back without one.
FIRST_PARAGRAPHS = st.builds(
    lambda opening, ending: f"{opening} {LONG_PARAGRAPH.removesuffix('.')} {ending}.",
    words(1, 4, 100),
    words(1, 4, 100),
)
PARAGRAPHS = words(1, 6, 1_000).map(lambda text: text + ".")
LINE_BREAKS = st.sampled_from(["\n", "\r\n", "\r"])
PADDING = st.sampled_from(["", " ", "\t", "  \u00a0"])
DASHES = st.sampled_from(["—", "–", "--", "-"])
BY_WORDS = st.sampled_from(["", "By ", "by ", "BY "])
SEPARATORS = st.sampled_from([", ", " & ", " and ", ",and ", "&"])


@st.composite
def story_groups(draw):
    """Signed groups of stories, perhaps followed by an unsigned group, as the parser reads them."""
    groups = draw(
        st.lists(
            st.tuples(
                st.lists(
                    st.tuples(DECKS, FIRST_PARAGRAPHS, st.lists(PARAGRAPHS, max_size=2)),
                    min_size=1,
                    max_size=2,
                ),
                st.lists(NAMES, min_size=1, max_size=3, unique=True),
            ),
            min_size=1,
            max_size=3,
        )
    )
    if draw(st.booleans()):
        groups[-1] = (groups[-1][0], [])
    story_count = sum(len(stories) for stories, _ in groups)
    headlines = draw(st.lists(HEADLINES, min_size=story_count, max_size=story_count, unique=True))
    return [([(headlines.pop(), *story) for story in stories], names) for stories, names in groups]


@st.composite
def briefing_texts(draw, groups):
    line_break = draw(LINE_BREAKS)
    lines = []

    def add(line):
        lines.append(draw(PADDING) + line + draw(PADDING))
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(PADDING))

    for stories, names in groups:
        for headline, deck, first, rest in stories:
            for line in (headline, deck, first, *rest):
                if line:
                    add(line)
        if names:
            joined = names[0]
            for name in names[1:]:
                joined += draw(SEPARATORS) + name
            add(f"{draw(DASHES)} {draw(BY_WORDS)}{joined}")
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return bom + line_break.join(lines)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parse_briefing_reads_generated_briefings_exactly(data):
    groups = data.draw(story_groups())
    text = data.draw(briefing_texts(groups))
    expected = tuple(
        ParsedStory(headline, deck, (first, *rest), tuple(names), line=0)
        for stories, names in groups
        for headline, deck, first, rest in stories
    )
    briefing = parse_briefing(text)
    assert briefing.stories == expected
    assert parse_briefing(render_briefing(briefing)) == briefing


NOISY_CHARACTERS = st.one_of(
    # Control characters are rejected outright, so only a few are let in.
    st.characters(exclude_categories=("Cs", "Cc")),
    st.sampled_from(list(".,;:!?…。」”’)\"'—–-&  \t\ufeff\x85\u2028\x0bBbyand")),
)
NOISY_LINE = st.builds(
    str.__add__,
    st.text(alphabet=NOISY_CHARACTERS, max_size=150),
    st.sampled_from(["", "", ".", "。”", "?)"]),
)
NOISY_LINES = st.lists(NOISY_LINE, max_size=12)


@settings(max_examples=200, deadline=None)
@given(NOISY_LINES, LINE_BREAKS)
def test_parse_briefing_raises_only_briefing_error(lines, line_break):
    try:
        briefing = parse_briefing(line_break.join(lines))
    except BriefingError as error:
        assert error.message
        return
    assert isinstance(briefing, Briefing)
    assert parse_briefing(render_briefing(briefing)) == briefing


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parse_briefing_round_trips_mostly_valid_text(data):
    groups = data.draw(story_groups())
    lines = re.split(r"\r\n|\r|\n", data.draw(briefing_texts(groups)))
    # Damage the briefing a little: drop, duplicate or overwrite a line.
    for _ in range(data.draw(st.integers(0, 2))):
        if not lines:
            break
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "duplicate", "replace"]))
        if action == "drop":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        else:
            lines[index] = data.draw(st.text(alphabet=NOISY_CHARACTERS, max_size=30))
    text = "\n".join(lines)
    try:
        briefing = parse_briefing(text)
    except BriefingError:
        return
    assert parse_briefing(render_briefing(briefing)) == briefing


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_decode_briefing_raises_only_briefing_error(data):
    try:
        text = decode_briefing(data)
    except BriefingError as error:
        assert error.message
        return
    assert isinstance(text, str)


# --- reading a file a block at a time ----------------------------------------------------------


def outcome(read):
    """What a read gives: the stories with their line numbers, or the error."""
    try:
        briefing = read()
    except BriefingError as error:
        return ("error", error.message, error.line)
    return ("stories", briefing, [story.line for story in briefing.stories])


BRIEFING_BYTES = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.text(max_size=20).map(str.encode),
        st.sampled_from(
            [
                b"\n",
                b"\r",
                b"\r\n",
                b"\xef\xbb\xbf",
                b"\xff\xfe",
                b"\x00",
                b"\x1b",
                "\u2014".encode(),
                "\u5317".encode(),
                b"Headline\n",
                b"Deck line\n",
                b"A paragraph.\n",
                b"- By Ana and Ben\n",
            ]
        ),
    ),
    max_size=24,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(BRIEFING_BYTES, st.integers(1, 9))
def test_read_briefing_gives_what_decode_and_parse_give(data, block_size):
    # Tiny blocks split lines, "\r\n" pairs and UTF-8 characters between reads.
    with mock.patch("stories.importer.parser._READ_BLOCK", block_size):
        streamed = outcome(lambda: read_briefing(io.BytesIO(data), "f.txt"))
    whole = outcome(lambda: parse_briefing(decode_briefing(data, "f.txt"), "f.txt"))
    assert streamed == whole


@pytest.mark.parametrize("block_size", [1, 2, 3, 1 << 20])
def test_read_briefing_reads_the_seed_and_every_line_ending(block_size):
    text = seed_text()
    with mock.patch("stories.importer.parser._READ_BLOCK", block_size):
        for line_break in ("\n", "\r\n", "\r"):
            data = ("\ufeff" + line_break.join(text.splitlines())).encode()
            stream = io.BytesIO(b"skipped" + data)
            stream.seek(len(b"skipped"))
            assert outcome(lambda stream=stream: read_briefing(stream)) == outcome(
                lambda data=data: parse_briefing(decode_briefing(data))
            )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Headline\nBody.\n", "file is larger than 10 bytes"),
        (b"Headline\nBody \x00.\n", "file is larger than 10 bytes"),
        (b"Head\x00\n", "binary data (NUL byte)"),
    ],
)
def test_read_briefing_refuses_files_over_max_bytes_first(data, message):
    with pytest.raises(BriefingError) as caught:
        read_briefing(io.BytesIO(data), "f.txt", max_bytes=10)
    assert caught.value.message == message
