from pathlib import Path

import pytest
from django.core.cache import cache

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "briefing.txt"


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Hashed static names need `collectstatic` first; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def page_cache_off(settings):
    # Pages are measured as rendered (query budgets); tests/test_caching.py turns it on.
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 300


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seed_path():
    return SEED


@pytest.fixture
def briefing_file(tmp_path):
    """Write a briefing to a temporary file and return its path."""

    def write(text, name="briefing.txt", encoding="utf-8"):
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_bytes(text.encode(encoding))
        return path

    return write
