# The briefing parser as it was before its fast paths (stories/importer/parser.py at commit
# af68d9f), kept unchanged: tests/test_briefing_parser_reference.py holds the parser to it
# (the same stories, line numbers and errors for any text). Not imported by the site.
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
import re
import unicodedata
from dataclasses import dataclass, field
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
_SENTENCE_END = re.compile(
    f"[{re.escape(SENTENCE_PUNCTUATION)}][{re.escape(CLOSING_QUOTES_AND_BRACKETS)}]*\\Z"
)
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


@dataclass
class _StoryDraft:
    headline: str
    line: int
    deck: str = ""
    paragraphs: list[str] = field(default_factory=list)
    bylines: tuple[str, ...] = ()
    bylines_line: int | None = None


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


def parse_briefing(text: str, source: str = "<briefing>", *, checked: bool = False) -> Briefing:
    """Split a briefing into stories by the rules in this module's docstring.

    ``checked``: the text comes from ``decode_briefing``, which has already looked for
    control characters (a pass over the whole text that need not run twice)."""
    if not checked:
        _check_characters(text, source)
    return _parse_lines(_content_lines(text.removeprefix("\ufeff")), source)


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
    lines = _read_content_lines(stream, source, max_bytes)
    if lines is None:
        stream.seek(start)
        data = stream.read(-1 if max_bytes is None else max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise too_large(max_bytes, source)
        text = decode_briefing(data, source)  # raises; if not, it parses as usual
        return parse_briefing(text, source, checked=True)
    return _parse_lines(lines, source)


def _parse_lines(lines: list[tuple[int, str]], source: str) -> Briefing:
    """The stories in a briefing's content lines (see ``_content_lines``)."""
    if not lines:
        raise BriefingError("file is empty", source=source)
    if not any(_is_headline(line_text) for _, line_text in lines if not _is_signoff(line_text)):
        raise BriefingError("no headline found", source=source, line=lines[0][0])

    finished: list[_StoryDraft] = []
    unsigned_from = 0
    current: _StoryDraft | None = None
    headline_lines: dict[str, int] = {}

    def finish_current():
        nonlocal current
        if current is None:
            return
        if not current.paragraphs:
            raise BriefingError(
                f"headline “{current.headline}” has no paragraphs", source=source, line=current.line
            )
        finished.append(current)
        current = None

    for index, (number, line_text) in enumerate(lines):
        signoff = _SIGNOFF.match(line_text) if line_text[0] in _SIGNOFF_STARTS else None
        if signoff:
            names = _signoff_names(signoff["names"])
            if not names:
                raise BriefingError("signoff has no names", source=source, line=number)
            if len(names) > MAX_SIGNOFF_NAMES:
                raise BriefingError(
                    f"signoff has {len(names):,} names; at most {MAX_SIGNOFF_NAMES} are allowed",
                    source=source,
                    line=number,
                )
            finish_current()
            if len(finished) == unsigned_from:
                raise BriefingError("signoff has no story before it", source=source, line=number)
            for story in finished[unsigned_from:]:
                story.bylines, story.bylines_line = names, number
            unsigned_from = len(finished)
        elif (
            current is not None
            and not current.deck
            and not current.paragraphs
            and len(line_text) <= MAX_DECK_LENGTH
            and index + 1 < len(lines)
            and _is_body(lines[index + 1][1])
        ):
            current.deck = line_text
        elif _is_headline(line_text):
            finish_current()
            if line_text in headline_lines:
                raise BriefingError(
                    f"headline “{line_text}” repeats line {headline_lines[line_text]}",
                    source=source,
                    line=number,
                )
            headline_lines[line_text] = number
            current = _StoryDraft(headline=line_text, line=number)
        elif current is None:
            raise BriefingError("text before the first headline", source=source, line=number)
        else:
            current.paragraphs.append(line_text)
    finish_current()

    stories = tuple(
        ParsedStory(
            headline=draft.headline,
            deck=draft.deck,
            paragraphs=tuple(draft.paragraphs),
            bylines=draft.bylines,
            line=draft.line,
            bylines_line=draft.bylines_line,
        )
        for draft in finished
    )
    return Briefing(source=source, stories=stories)


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
    """``_content_lines`` of a briefing file's text, decoded a block at a time; None when
    ``decode_briefing`` would refuse the file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, number, size = [], 1, 0
    pieces = []  # the line being read, when it spans blocks
    held_cr = ""  # a final "\r" waits for the next block: it may start a "\r\n"
    while True:
        block = stream.read(_READ_BLOCK)
        size += len(block)
        if max_bytes is not None and size > max_bytes:
            raise too_large(max_bytes, source)
        # NUL and the other control bytes never occur inside a UTF-8 character. (UTF-16 and
        # UTF-32 byte order marks need no check of their own: none of them is UTF-8.)
        if len(block.translate(None, _CONTROL_BYTES)) != len(block):
            return None
        try:
            text = held_cr + decoder.decode(block, final=not block)
        except UnicodeDecodeError:
            return None
        held_cr = "\r" if block and text.endswith("\r") else ""
        if held_cr:
            text = text[:-1]
        # str.split() is several times faster than the regex, and the same without a "\r".
        *complete, rest = _LINE_BREAK.split(text) if "\r" in text else text.split("\n")
        if complete:
            complete[0] = "".join((*pieces, complete[0]))
            pieces = []
        for raw in complete:
            line_text = _normal_line(raw)
            if line_text:
                lines.append((number, line_text))
            number += 1
        pieces.append(rest)
        if not block:
            break
    line_text = _normal_line("".join(pieces))
    if line_text:
        lines.append((number, line_text))
    return lines


def _content_lines(text: str) -> list[tuple[int, str]]:
    """The non-blank lines, stripped, with their 1-based physical line numbers."""
    stripped = (
        (number, _normal_line(raw)) for number, raw in enumerate(_LINE_BREAK.split(text), 1)
    )
    return [(number, line_text) for number, line_text in stripped if line_text]


def _normal_line(raw: str) -> str:
    """A line as the rules read it: in NFC, stripped of whitespace and stray byte order marks.

    Normalised before anything is measured or compared, so the length limits hold for the
    text as stored and a headline typed two ways is one headline. (``normalize`` returns the
    line itself, not a copy, when it is already NFC, as nearly every line is.)"""
    return unicodedata.normalize("NFC", raw).strip(_EDGE_CHARACTERS)


def _is_signoff(line_text: str) -> bool:
    return line_text[:1] in _SIGNOFF_STARTS and _SIGNOFF.match(line_text) is not None


def _is_headline(line_text: str) -> bool:
    return len(line_text) <= MAX_HEADLINE_LENGTH and not _SENTENCE_END.search(line_text)


def _is_body(line_text: str) -> bool:
    return not _is_signoff(line_text) and not _is_headline(line_text)


def _signoff_names(names_text: str) -> tuple[str, ...]:
    names = (
        piece.strip().rstrip(_NAME_TRAILER_CHARACTERS)
        for piece in _NAME_SEPARATOR.split(names_text)
    )
    return tuple(dict.fromkeys(name for name in names if name))


def _join_names(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
