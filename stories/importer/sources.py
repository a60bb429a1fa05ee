"""Where briefings come from: files and uploaded bytes, read within the size limit.

Every way a briefing comes in (a file for ``manage.py import_briefing``, an upload for the
admin, the bytes staged between the admin's preview and its confirmation) is refused by the
one size limit here, ``BRIEFING_MAX_BYTES``, before it is read whole (``refuse_oversized``);
the parser's block-at-a-time read keeps to the same limit, passed to it as ``max_bytes``.
"""

import re
import unicodedata
from datetime import date
from pathlib import Path

from django.conf import settings

from .parser import BriefingError, decode_briefing, parse_briefing, read_briefing, too_large

DATE_IN_FILE_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def briefing_limit():
    """The most bytes a briefing may have."""
    return settings.BRIEFING_MAX_BYTES


def refuse_oversized(size, source, *, say_size=True):
    """Raise ``BriefingError`` if a briefing of ``size`` bytes is over the limit.

    The message gives the size ("file is 5,000 bytes; briefings are limited to 2,000 bytes");
    with ``say_size=False`` it only says the file is larger, as the parser's own check does
    while it reads a stream of unknown length."""
    limit = briefing_limit()
    if size > limit:
        raise too_large(limit, source, size if say_size else None)


def read_briefing_file(path):
    """Read, decode and parse one briefing file; every failure is a ``BriefingError``."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise BriefingError("is a directory, not a briefing file", source=source)
        refuse_oversized(size, source)
        # A block at a time: the whole text of a 47 MB briefing would be 94 MB more.
        with path.open("rb") as briefing_file:
            return read_briefing(briefing_file, source, max_bytes=briefing_limit())
    except FileNotFoundError:
        raise BriefingError("no such file", source=source) from None
    except PermissionError:
        raise BriefingError("permission denied", source=source) from None
    except OSError as error:
        raise BriefingError(error.strerror or str(error), source=source) from None


def decode_briefing_bytes(data, *, source):
    refuse_oversized(len(data), source, say_size=False)
    return decode_briefing(data, source=source)


def parse_briefing_bytes(data, *, source):
    """Decode and parse a briefing's bytes (say, an upload); failures are ``BriefingError``."""
    return parse_briefing(decode_briefing_bytes(data, source=source), source=source, checked=True)


def import_key(briefing):
    """Stories are matched to earlier imports by the briefing's file name and headline.

    In NFC, as the parser reads the headlines: macOS names files in NFD, and a file copied
    from there must still match its earlier import."""
    return unicodedata.normalize("NFC", Path(briefing.source).name)


def date_from_file_name(briefing):
    match = DATE_IN_FILE_NAME.match(import_key(briefing))
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise BriefingError(
            f"file name starts with {match.group(0)}, which is not a real date",
            source=briefing.source,
        ) from None
