"""Parse plain-text news briefings into stories: text in, dataclasses out, no database.

A briefing is UTF-8 text, one paragraph per line. Lines end in CRLF, CR or LF; a leading byte
order mark is dropped; each line is stripped of surrounding whitespace and blank lines are
ignored. Every other line is read by the first of these rules that fits:

1. Signoff: a line starting with a dash (—, –, -- or -), then optionally the word "By" (any
   case), then names separated by ",", "&" or the word "and", each without trailing
   punctuation. The names, in order and without repeats (at most ``MAX_SIGNOFF_NAMES``), are
   the bylines of every story since the previous signoff, or since the start.
2. Deck: the line right after a headline, if it is at most 140 characters and the next line is
   a body paragraph (neither a signoff nor a headline).
3. Headline: a line of at most 120 characters that does not end in sentence punctuation
   (. ! ? : ; , … and their CJK and Arabic forms), even when closing quotes or brackets follow
   that punctuation. It starts a new story.
4. Body paragraph of the current story.

Every line is read in Unicode normalisation form C (NFC), so "Café" typed with a combining
accent is the same headline as "Café" typed with "é". Stories after the last signoff have no
bylines. A briefing is rejected, naming the file and
line, when it is empty, is not UTF-8 text, holds control characters, has no headline or has
text before the first one, has a story with no paragraphs, repeats a headline, or has a signoff
with no names, with more than ``MAX_SIGNOFF_NAMES`` names or with no story before it.

Every pattern here runs in time linear in the line it reads (``tests/test_briefing_parser.py``
parses megabyte-long adversarial lines): an upload is parsed inside a web request.
"""

import codecs
import gc
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress
from typing import BinaryIO

MAX_HEADLINE_LENGTH = 120
MAX_DECK_LENGTH = 140
# More names than any real story carries; a longer list is a mistake (or an attack that would
# create thousands of bylines).
MAX_SIGNOFF_NAMES = 20

SENTENCE_PUNCTUATION = ".!?:;,…。！？：；，、؟،؛"
# “ and ‘ close quotations in German, and the full-width brackets close CJK asides.
CLOSING_QUOTES_AND_BRACKETS = "\"'”’»›)]}」』“‘）】》〉"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# UTF-32 first: its little-endian mark starts with UTF-16's.
_OTHER_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
# TAB, LF and CR are ordinary text; DEL is as much a control character as the C0 set.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A stray byte order mark at either end of a line (say, from files pasted together) is as
# invisible as whitespace, so it is stripped like whitespace.
# What is stripped from each line's ends: whitespace (what regex "\s" matches) and stray byte
# order marks. str.strip() with this set, not a "[\s\ufeff]+\Z" regex, which retries at
# every space inside a line and made stripping long paragraphs the parser's slowest step.
_WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
_EDGE_CHARACTERS = _WHITESPACE + "\ufeff"
# A line ends a sentence when its last character, closing quotes and brackets aside, is
# sentence punctuation (the two sets share no character). Read from the end with
# str.rstrip(), not with a "[.!?…][”)]*\\Z" regex searched from every position of the line.
_SENTENCE_PUNCTUATION_SET = frozenset(SENTENCE_PUNCTUATION)
_SIGNOFF = re.compile(r"(?:--|[—–-])\s*(?:(?i:by)(?:\s+|\Z))?(?P<names>.*)", re.DOTALL)
# The characters a signoff starts with: a line starting otherwise is not tried against the
# pattern (a tenth of parsing time went to trying every paragraph).
_SIGNOFF_STARTS = frozenset("—–-")
# "and" is a separator only as a whole word, so "Anderson" and "Sandra" stay intact.
_NAME_SEPARATOR = re.compile(r"[,&]|(?<![^\s,&])(?i:and)(?![^\s,&])")
# What is stripped from the end of each name, with str.rstrip(): the "[\s.,…]+\Z" regex it
# replaces retried at every character of a run of them, so a 40 KB signoff of dots took 6 s.
_NAME_TRAILER_CHARACTERS = _WHITESPACE + SENTENCE_PUNCTUATION


class BriefingError(ValueError):
    """The one error type for bad briefings."""

    def __init__(self, message: str, *, source: str = "<briefing>", line: int | None = None):
        self.message = message
        self.source = source
        self.line = line
        super().__init__(str(self))

    def __str__(self):
        if self.line is None:
            return f"{self.source}: {self.message}"
        return f"{self.source}, line {self.line}: {self.message}"


@dataclass(frozen=True)
class ParsedStory:
    """One story as the briefing gives it; ``deck`` is "" when there is none."""

    headline: str
    deck: str
    paragraphs: tuple[str, ...]
    bylines: tuple[str, ...]
    # Where the story sits in its file is not part of the story itself.
    line: int = field(compare=False)
    # The line of the signoff that gave the bylines (None without one), for errors about them.
    bylines_line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Briefing:
    """A parsed briefing file: where it came from and its stories, in file order."""

    source: str
    stories: tuple[ParsedStory, ...]


def decode_briefing(data: bytes, source: str = "<briefing>") -> str:
    """Decode a briefing file's bytes as strict UTF-8, dropping a leading byte order mark."""
    # A word processor's "Unicode" is often UTF-16 or UTF-32: say so, not "binary data".
    for bom, encoding in _OTHER_UNICODE_BOMS:
        if data.startswith(bom):
            raise BriefingError(f"file is {encoding} text; save it as UTF-8", source=source)
    # Binary files usually also fail to decode; "binary data" is the more useful complaint.
    nul_offset = data.find(b"\x00")
    if nul_offset != -1:
        line = len(_LINE_BREAK_BYTES.findall(data, 0, nul_offset)) + 1
        raise BriefingError("binary data (NUL byte)", source=source, line=line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = len(_LINE_BREAK_BYTES.findall(data, 0, error.start)) + 1
        raise BriefingError(
            f"not valid UTF-8 (byte offset {error.start})", source=source, line=line
        ) from None
    text = text.removeprefix("\ufeff")
    _check_characters(text, source)
    if not _VISIBLE.search(text):  # every line blank; no copy of the text, no line split
        raise BriefingError("file is empty", source=source)
    return text


@contextmanager
def garbage_collection_paused():
    """Python's cycle collector held off for the block (as it was, if already off).

    Reading a briefing makes a few objects per line and per story, none of them in a
    reference cycle, and keeps them: each time the collector ran, it went through all of
    them again for nothing, a fifth of an unchanged re-import's client time. It runs again
    when the block ends (``stories.importer.import_briefings`` holds it off the same way).
    The collector is the process's: in a threaded server, other threads' cycles wait as
    long as the block runs (reading a briefing of the largest size allowed, about a second).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_briefing(text: str, source: str = "<briefing>", *, checked: bool = False) -> Briefing:
    """Split a briefing into stories by the rules in this module's docstring.

    ``checked``: the text comes from ``decode_briefing``, which has already looked for
    control characters (a pass over the whole text that need not run twice)."""
    if not checked:
        _check_characters(text, source)
    with garbage_collection_paused():
        return _parse_lines(*_content_lines(text.removeprefix("\ufeff")), source)


def read_briefing(
    stream: BinaryIO, source: str = "<briefing>", *, max_bytes: int | None = None
) -> Briefing:
    """``parse_briefing(decode_briefing(data))`` for a binary file, read a block at a time.

    The same stories and the same errors, but the file's bytes and its text are never held
    whole: as a str, a 47 MB briefing with one character past Latin-1 takes 94 MB, and its
    bytes 47 more, where the stories' own lines take 47. A file that ``decode_briefing`` would
    refuse (another encoding, binary data, control characters, bad UTF-8) is read again whole
    from where it started, for ``decode_briefing`` to say exactly what is wrong and where.
    ``max_bytes``: a longer file is refused as larger than that.
    """
    start = stream.tell()
    with garbage_collection_paused():
        lines = _read_content_lines(stream, source, max_bytes)
    if lines is None:
        stream.seek(start)
        data = stream.read(-1 if max_bytes is None else max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise too_large(max_bytes, source)
        text = decode_briefing(data, source)  # raises; if not, it parses as usual
        return parse_briefing(text, source, checked=True)
    with garbage_collection_paused():
        return _parse_lines(*lines, source)


def _parse_lines(numbers: list[int], texts: list[str], source: str) -> Briefing:
    """The stories in a briefing's content lines and their numbers (``_content_lines``)."""
    if not texts:
        raise BriefingError("file is empty", source=source)
    # Each line's shape, worked out once: whether it is a signoff (it starts with a dash:
    # the pattern then always matches) and whether it could be a headline. The deck rule
    # asks both of the line after a headline, which the loop then reads again.
    signoffs = [line_text[0] in _SIGNOFF_STARTS for line_text in texts]
    headline_like = [
        len(line_text) <= MAX_HEADLINE_LENGTH and not _ends_sentence(line_text)
        for line_text in texts
    ]
    if not any(
        is_headline and not is_signoff
        for is_headline, is_signoff in zip(headline_like, signoffs, strict=True)
    ):
        raise BriefingError("no headline found", source=source, line=numbers[0])

    stories: list[ParsedStory] = []
    unsigned: list[tuple[str, str, tuple[str, ...], int]] = []  # since the last signoff
    # The story being read, in plain variables (an object per story, and a call to close
    # each, cost more than the rest of its reading): its headline (None before the first
    # and right after a signoff), line, deck and paragraphs.
    headline: str | None = None
    line, deck, paragraphs = 0, "", []
    headline_lines: dict[str, int] = {}
    # A newsroom signs many stories with the same few names: each signoff's text is read
    # into names once per file.
    names_of: dict[str, tuple[str, ...]] = {}

    def no_paragraphs():
        return BriefingError(f"headline “{headline}” has no paragraphs", source=source, line=line)

    last = len(texts) - 1
    for index, line_text in enumerate(texts):
        if signoffs[index]:
            number = numbers[index]
            names_text = _SIGNOFF.match(line_text)["names"]
            names = names_of.get(names_text)
            if names is None:
                names = names_of[names_text] = _signoff_names(names_text)
            if not names:
                raise BriefingError("signoff has no names", source=source, line=number)
            if len(names) > MAX_SIGNOFF_NAMES:
                raise BriefingError(
                    f"signoff has {len(names):,} names; at most {MAX_SIGNOFF_NAMES} are allowed",
                    source=source,
                    line=number,
                )
            if headline is not None:
                if not paragraphs:
                    raise no_paragraphs()
                unsigned.append((headline, deck, tuple(paragraphs), line))
                headline = None
            if not unsigned:
                raise BriefingError("signoff has no story before it", source=source, line=number)
            stories += [_parsed_story(*story, names, number) for story in unsigned]
            unsigned = []
        elif (
            headline is not None
            and not deck
            and not paragraphs
            and len(line_text) <= MAX_DECK_LENGTH
            and index < last
            # The next line is a body paragraph: neither a signoff nor a headline.
            and not signoffs[index + 1]
            and not headline_like[index + 1]
        ):
            deck = line_text
        elif headline_like[index]:
            number = numbers[index]
            if headline is not None:
                if not paragraphs:
                    raise no_paragraphs()
                unsigned.append((headline, deck, tuple(paragraphs), line))
            if line_text in headline_lines:
                raise BriefingError(
                    f"headline “{line_text}” repeats line {headline_lines[line_text]}",
                    source=source,
                    line=number,
                )
            headline_lines[line_text] = number
            headline, line, deck, paragraphs = line_text, number, "", []
        elif headline is None:
            raise BriefingError(
                "text before the first headline", source=source, line=numbers[index]
            )
        else:
            paragraphs.append(line_text)
    if headline is not None:
        if not paragraphs:
            raise no_paragraphs()
        unsigned.append((headline, deck, tuple(paragraphs), line))
    stories += [_parsed_story(*story, (), None) for story in unsigned]
    return Briefing(source=source, stories=tuple(stories))


def _parsed_story(headline, deck, paragraphs, line, bylines, bylines_line) -> ParsedStory:
    """``ParsedStory(...)`` for a third of the cost: a frozen dataclass's ``__init__`` sets
    each field through ``object.__setattr__``, which was a fifth of parsing a file of short
    stories. Its fields are stored as ``__init__`` would store them (it does nothing else)."""
    story = object.__new__(ParsedStory)
    story.__dict__.update(
        headline=headline,
        deck=deck,
        paragraphs=paragraphs,
        bylines=bylines,
        line=line,
        bylines_line=bylines_line,
    )
    return story


def render_briefing(briefing: Briefing) -> str:
    """Write a briefing back out as text that parses to the same stories.

    That holds for anything ``parse_briefing`` returns. A hand-built briefing can hold what the
    format cannot say (a story without paragraphs, an unsigned story before a signed one), and
    then it will not.
    """
    stories = briefing.stories
    blocks = []
    for index, story in enumerate(stories):
        block = [story.headline]
        if story.deck:
            block.append(story.deck)
        block.extend(story.paragraphs)
        ends_byline_run = index + 1 == len(stories) or stories[index + 1].bylines != story.bylines
        if story.bylines and ends_byline_run:
            block.append(f"— By {_join_names(story.bylines)}")
        blocks.append("\n".join(block))
    return "\n\n".join(blocks) + "\n"


_VISIBLE = re.compile(r"[^\s\ufeff]")
_CHECK_CHUNK = 1 << 20
_READ_BLOCK = 1 << 20
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _check_characters(text: str, source: str) -> None:
    # Fast path: in UTF-8 these control characters are single bytes that never occur
    # inside another character's encoding, and bytes.translate scans far faster than re.
    # A chunk at a time, so a 40 MB briefing does not need two more 40 MB copies.
    for start in range(0, len(text), _CHECK_CHUNK):
        encoded = text[start : start + _CHECK_CHUNK].encode("utf-8", "surrogatepass")
        if len(encoded.translate(None, _CONTROL_BYTES)) != len(encoded):
            break
    else:
        return
    if "\x00" in text:
        offset = text.index("\x00")
        message = "binary data (NUL byte)"
    else:
        control = _CONTROL_CHARACTER.search(text)
        if not control:
            return
        offset = control.start()
        message = f"control character U+{ord(control.group()):04X}"
    line = len(_LINE_BREAK.findall(text, 0, offset)) + 1
    raise BriefingError(message, source=source, line=line)


def too_large(limit: int, source: str, size: int | None = None) -> BriefingError:
    """The error for a briefing over ``limit`` bytes: its size when known (a file's, an
    upload's), else only that it is larger (a stream, refused as soon as it passes)."""
    if size is None:
        return BriefingError(f"file is larger than {limit:,} bytes", source=source)
    return BriefingError(
        f"file is {size:,} bytes; briefings are limited to {limit:,} bytes", source=source
    )


def _read_content_lines(stream, source, max_bytes):
    """``_content_lines`` of a briefing file's text, read a block at a time; None when
    ``decode_briefing`` would refuse the file.

    Split into lines as bytes, and each line decoded on its own: a line break is never part
    of a UTF-8 character, so a file decodes line by line exactly when it decodes whole, and
    a line of plain ASCII stays a one-byte-per-character string (decoded whole, one dash in
    a signoff made every line of the file two bytes a character, slower to split, strip and
    hash)."""
    numbers, texts, number, size = [], [], 1, 0
    pieces = []  # the line being read, when it spans blocks
    held_cr = b""  # a final "\r" waits for the next block: it may start a "\r\n"
    while True:
        block = stream.read(_READ_BLOCK)
        size += len(block)
        if max_bytes is not None and size > max_bytes:
            raise too_large(max_bytes, source)
        # NUL and the other control bytes never occur inside a UTF-8 character. (UTF-16 and
        # UTF-32 byte order marks need no check of their own: none of them is UTF-8.)
        if len(block.translate(None, _CONTROL_BYTES)) != len(block):
            return None
        data = held_cr + block
        held_cr = b"\r" if block and data.endswith(b"\r") else b""
        if held_cr:
            data = data[:-1]
        # split() is several times faster than the regex, and the same without a "\r".
        *complete, rest = _LINE_BREAK_BYTES.split(data) if b"\r" in data else data.split(b"\n")
        if complete:
            complete[0] = b"".join((*pieces, complete[0]))
            pieces = []
            try:
                _add_content_lines(numbers, texts, map(bytes.decode, complete), number)
            except UnicodeDecodeError:
                return None
            number += len(complete)
        pieces.append(rest)
        if not block:
            break
    try:
        _add_content_lines(numbers, texts, [b"".join(pieces).decode()], number)
    except UnicodeDecodeError:
        return None
    return numbers, texts


def _content_lines(text: str) -> tuple[list[int], list[str]]:
    """The non-blank lines, stripped, and their 1-based physical line numbers: two lists,
    not a pair per line (a hundred thousand small objects for a 20,000-story file)."""
    numbers, texts = [], []
    _add_content_lines(numbers, texts, _LINE_BREAK.split(text), 1)
    return numbers, texts


def _add_content_lines(numbers, texts, raw_lines, first_number):
    """Add ``raw_lines`` as the rules read them, numbered from ``first_number``, to
    ``numbers`` and ``texts``, the blank ones left out.

    A line is read in NFC, stripped of whitespace and stray byte order marks: normalised
    before anything is measured or compared, so the length limits hold for the text as
    stored and a headline typed two ways is one headline. (``normalize`` returns the line
    itself, not a copy, when it is already NFC, as nearly every line is.) In comprehensions:
    a call per line cost more than the normalising and stripping it made."""
    normalize, edges = unicodedata.normalize, _EDGE_CHARACTERS
    stripped = [normalize("NFC", raw).strip(edges) for raw in raw_lines]
    numbers += compress(range(first_number, first_number + len(stripped)), stripped)
    texts += compress(stripped, stripped)


def _ends_sentence(line_text: str) -> bool:
    return line_text.rstrip(CLOSING_QUOTES_AND_BRACKETS)[-1:] in _SENTENCE_PUNCTUATION_SET


def _signoff_names(names_text: str) -> tuple[str, ...]:
    names = [
        piece.strip().rstrip(_NAME_TRAILER_CHARACTERS)
        for piece in _NAME_SEPARATOR.split(names_text)
    ]
    return tuple(dict.fromkeys([name for name in names if name]))


def _join_names(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
