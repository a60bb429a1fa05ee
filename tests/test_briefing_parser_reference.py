"""The parser's fast paths read every text as the parser before them did.

``tests/parser_reference.py`` is the parser as it was before them (precomputed line shapes,
no regex for a sentence's end, no object per story while reading, signoffs read once per
file). For generated briefings, damaged ones, noise and raw bytes read a few bytes at a time,
both must give the same stories with the same line numbers, or the same error on the same
line.
"""

import io
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stories.importer import parser
from tests import parser_reference as reference
from tests.test_briefing_parser import (
    ADVERSARIAL_LINES,
    BRIEFING_BYTES,
    LINE_BREAKS,
    NOISY_CHARACTERS,
    NOISY_LINES,
    briefing_texts,
    seed_text,
    story_groups,
)


def reading(read):
    """Everything a read gives, line numbers included (``ParsedStory`` equality leaves
    them out), or its error."""
    try:
        briefing = read()
    except (parser.BriefingError, reference.BriefingError) as error:
        return ("error", error.message, error.source, error.line)
    return (
        "stories",
        briefing.source,
        [
            (
                story.headline,
                story.deck,
                story.paragraphs,
                story.bylines,
                story.line,
                story.bylines_line,
            )
            for story in briefing.stories
        ],
    )


def assert_read_alike(text):
    assert reading(lambda: parser.parse_briefing(text, "f.txt")) == reading(
        lambda: reference.parse_briefing(text, "f.txt")
    )


# Lines the new shapes are decided by: sentence ends behind closing quotes, lone closers,
# dashes, decks at and over their limit, headlines at and over theirs.
EDGE_LINES = st.sampled_from(
    [
        "Headline",
        "Headline.",
        "Headline.”",
        "Headline?)",
        "Headline”",
        "”",
        ")」",
        ".",
        "-",
        "—",
        "--",
        "– By",
        "— By Ann and Bo",
        "— By Ann, Ann",
        "- and",
        "x" * 120,
        "x" * 121,
        "x" * 140 + ".",
        "x" * 141 + ".",
        "Deck line.",
        "A body paragraph that ends.",
        "Café",
        "Cafe\u0301",
        "\ufeffHeadline\ufeff",
        "",
        "   ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(EDGE_LINES, st.text(alphabet=NOISY_CHARACTERS, max_size=20))), LINE_BREAKS
)
def test_edge_lines_read_as_before(lines, line_break):
    assert_read_alike(line_break.join(lines))


@settings(max_examples=200, deadline=None)
@given(NOISY_LINES, LINE_BREAKS)
def test_noise_reads_as_before(lines, line_break):
    assert_read_alike(line_break.join(lines))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_generated_briefings_read_as_before(data):
    text = data.draw(briefing_texts(data.draw(story_groups())))
    assert_read_alike(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damaged_briefings_read_as_before(data):
    lines = data.draw(briefing_texts(data.draw(story_groups()))).splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        if not lines:
            break
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "duplicate", "replace", "swap"]))
        if action == "drop":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            lines[index] = data.draw(st.one_of(EDGE_LINES, st.text(NOISY_CHARACTERS, max_size=30)))
    assert_read_alike("\n".join(lines))


@settings(max_examples=300, deadline=None)
@given(BRIEFING_BYTES, st.integers(1, 9))
def test_bytes_read_a_block_at_a_time_as_before(data, block_size):
    with (
        mock.patch("stories.importer.parser._READ_BLOCK", block_size),
        mock.patch("tests.parser_reference._READ_BLOCK", block_size),
    ):
        new = reading(lambda: parser.read_briefing(io.BytesIO(data), "f.txt"))
        old = reading(lambda: reference.read_briefing(io.BytesIO(data), "f.txt"))
    assert new == old


@pytest.mark.parametrize("name", list(ADVERSARIAL_LINES))
def test_adversarial_lines_read_as_before(name, time_limit):
    with time_limit(20):
        assert_read_alike(f"Headline\nBody.\n{ADVERSARIAL_LINES[name]}\nNext\nBody.\n")


def test_seed_and_bench_briefings_read_as_before():
    from bench.fakenews import briefing_text

    assert_read_alike(seed_text())
    text = briefing_text(200, words=150)
    assert_read_alike(text)
    # Read the way files are (a block at a time), the bench's briefings too.
    data = text.encode()
    with (
        mock.patch("stories.importer.parser._READ_BLOCK", 4096),
        mock.patch("tests.parser_reference._READ_BLOCK", 4096),
    ):
        assert reading(lambda: parser.read_briefing(io.BytesIO(data))) == reading(
            lambda: reference.read_briefing(io.BytesIO(data))
        )
