"""Importer: plain-text briefing files in, stories out (parse, tag places, plan, write).

``stories.importer.import_briefings`` is its one entry point, used by ``manage.py
import_briefing`` and the admin's import page. The public names load lazily, so the
parser and the place tagger stay plain Python, importable with no Django set up.
"""


def __getattr__(name):
    if name in {"import_briefings", "parse_briefing_bytes", "read_briefing_file"}:
        from . import service

        return getattr(service, name)
    if name == "BriefingError":
        from .parser import BriefingError

        return BriefingError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
