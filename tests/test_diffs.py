"""The word diff behind "Compare revisions" (stories/editorial/diffs.py): plain Python."""

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from stories.editorial.diffs import (
    DELETE,
    EQUAL,
    INSERT,
    Chunk,
    diff_words,
    has_changes,
    new_text,
    old_text,
    tokens,
)

# Words from a small vocabulary, so that two texts share some and the diff has work to do;
# with punctuation, spaces and line breaks between them.
words = st.sampled_from(["the", "port", "of", "Odesa", "reopens", "ships", "sail", "Kyiv", "é"])
separators = st.sampled_from([" ", "  ", "\n", "\n\n", ", ", ". ", "—", "\t"])
texts = st.lists(st.tuples(words, separators), max_size=40).map(
    lambda pairs: "".join(word + separator for word, separator in pairs)
)


@given(texts, texts)
def test_diff_words_kept_and_inserted_give_the_new_text_kept_and_deleted_the_old(old, new):
    chunks = diff_words(old, new)
    assert new_text(chunks) == new
    assert old_text(chunks) == old
    assert has_changes(chunks) is (old != new)
    # Consecutive chunks of one kind are merged, and none is empty.
    assert all(chunk.text for chunk in chunks)
    assert all(a.kind != b.kind for a, b in pairwise(chunks))


@given(st.text())
def test_tokens_joined_are_the_text_again(text):
    assert "".join(tokens(text)) == text


def test_diff_words_marks_whole_words_and_punctuation_alone():
    chunks = diff_words("Ships left Kyiv, on Monday.", "Ships left Odesa, on Monday!")
    assert chunks == [
        Chunk(EQUAL, "Ships left"),
        Chunk(DELETE, " Kyiv"),
        Chunk(INSERT, " Odesa"),
        Chunk(EQUAL, ", on Monday"),
        Chunk(DELETE, "."),
        Chunk(INSERT, "!"),
    ]
    assert diff_words("a b", "a b") == [Chunk(EQUAL, "a b")]
    assert diff_words("", "new") == [Chunk(INSERT, "new")]
    assert diff_words("old", "") == [Chunk(DELETE, "old")]


def test_diff_words_in_a_long_body_touches_only_the_changed_words():
    # autojunk would call "the" junk in paragraphs this long and rewrite whole runs.
    paragraph = "The ship left the port of the city in the morning. " * 30
    body = "\n\n".join(f"Part {number}. {paragraph.strip()}" for number in range(20))
    changed = body.replace("morning", "evening", 1)
    changed = changed[:-40] + changed[-40:].replace("city", "town")
    chunks = diff_words(body, changed)
    assert [c for c in chunks if c.kind != EQUAL] == [
        Chunk(DELETE, " morning"),
        Chunk(INSERT, " evening"),
        Chunk(DELETE, " city"),
        Chunk(INSERT, " town"),
    ]
    assert new_text(chunks) == changed


def test_diff_words_of_a_long_rewritten_body_finishes(time_limit):
    old = "\n\n".join(" ".join(f"w{i * j % 97}" for i in range(80)) for j in range(150))
    new = "\n\n".join(" ".join(f"w{i * j % 89}" for i in range(70)) for j in range(160))
    one_paragraph = " ".join(f"w{i % 101}" for i in range(12_000))
    # A generous limit, not a timing assertion: a quadratic diff of these would take minutes.
    with time_limit(30):
        assert new_text(diff_words(old, new)) == new
        assert new_text(diff_words(one_paragraph, one_paragraph[::-1])) == one_paragraph[::-1]
