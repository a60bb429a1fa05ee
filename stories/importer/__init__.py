"""Importer: plain-text briefing files in, stories out (sources, parse, tag places, plan,
write, report).

``stories.importer.import_briefings`` is its one entry point, used by ``manage.py
import_briefing`` and the admin's import page. The public names load lazily, so the
parser and the place tagger stay plain Python, importable with no Django set up.
"""


def __getattr__(name):
    if name == "import_briefings":
        from .service import import_briefings

        return import_briefings
    if name in {"parse_briefing_bytes", "read_briefing_file"}:
        from . import sources

        return getattr(sources, name)
    if name == "BriefingError":
        from .parser import BriefingError

        return BriefingError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
