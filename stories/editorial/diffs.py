"""Word-level differences between two texts, for comparing story revisions.

Plain Python (difflib): text in, a list of ``Chunk``s out, each kept, inserted or deleted.
The template marks them up (``<ins>``/``<del>``) and escapes them; nothing here is HTML.
Kept and inserted chunks, joined, give the new text; kept and deleted ones, the old.
"""

import difflib
import re
from dataclasses import dataclass

EQUAL, INSERT, DELETE = "equal", "insert", "delete"

# Words and runs of punctuation, each with the white space before it (white space on its own
# only at the end): every character is in one token, so the tokens joined are the text again;
# "reopens" to "reopens at last" inserts " at last", and "Kyiv," to "Kyiv." changes only the
# punctuation.
TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")


@dataclass(frozen=True)
class Chunk:
    kind: str  # EQUAL, INSERT or DELETE
    text: str


def tokens(text):
    return TOKEN.findall(text)


# Paragraphs with the blank lines after them: the first, coarse pass.
PARAGRAPH = re.compile(r".*?(?:\n[ \t]*\n\s*|\Z)", re.DOTALL)
# Above this many tokens a side (a paragraph of some 600 words), difflib's exact matching,
# quadratic at worst (0.3 s for 1,000 words rewritten), gives way to its heuristic
# (autojunk): still a correct diff, perhaps a coarser one.
EXACT_LIMIT = 600


def paragraphs(text):
    return [part for part in PARAGRAPH.findall(text) if part]


def diff_words(old, new):
    """The chunks that turn ``old`` into ``new``, word by word, consecutive kinds merged.

    Paragraphs are matched first and only the changed ones are compared word by word, so a
    long body with a few edits costs little."""
    old_parts, new_parts = paragraphs(old), paragraphs(new)
    matcher = difflib.SequenceMatcher(None, old_parts, new_parts, autojunk=False)
    chunks = []
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if operation == "equal":
            add(chunks, EQUAL, old_parts[old_start:old_end])
        elif old_end - old_start == new_end - new_start:
            # As many paragraphs on each side: most likely each was edited in place.
            pairs = zip(old_parts[old_start:old_end], new_parts[new_start:new_end], strict=True)
            for before, after in pairs:
                diff_tokens(chunks, tokens(before), tokens(after))
        else:
            diff_tokens(
                chunks,
                tokens("".join(old_parts[old_start:old_end])),
                tokens("".join(new_parts[new_start:new_end])),
            )
    return chunks


def diff_tokens(chunks, old_tokens, new_tokens):
    exact = max(len(old_tokens), len(new_tokens)) <= EXACT_LIMIT
    # autojunk would treat frequent tokens (spaces, "the") as junk and rewrite whole runs.
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=not exact)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if operation == "equal":
            add(chunks, EQUAL, old_tokens[old_start:old_end])
            continue
        # Deleted words first, then what replaced them, as a reader expects.
        add(chunks, DELETE, old_tokens[old_start:old_end])
        add(chunks, INSERT, new_tokens[new_start:new_end])


def add(chunks, kind, words):
    text = "".join(words)
    if not text:
        return
    if chunks and chunks[-1].kind == kind:
        chunks[-1] = Chunk(kind, chunks[-1].text + text)
    else:
        chunks.append(Chunk(kind, text))


def old_text(chunks):
    return "".join(chunk.text for chunk in chunks if chunk.kind != INSERT)


def new_text(chunks):
    return "".join(chunk.text for chunk in chunks if chunk.kind != DELETE)


def has_changes(chunks):
    return any(chunk.kind != EQUAL for chunk in chunks)
