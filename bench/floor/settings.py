"""The site's settings with the floor's pages mounted (``bench/run.py`` serves with these).

Only the URLconf and one template folder differ: the same middleware, context processors,
database and caches serve our pages and the floor's."""

from pathlib import Path

from newsroom.settings import *  # noqa: F403
from newsroom.settings import TEMPLATES

ROOT_URLCONF = "floor.urls"
TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], Path(__file__).resolve().parent / "templates"]}
]
