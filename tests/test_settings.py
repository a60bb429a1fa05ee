"""Settings come from the environment; checked in a fresh interpreter each time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "DATABASE": {k: settings.DATABASES["default"][k] for k in ("ENGINE", "NAME", "HOST", "PORT")},
    "DATABASE_OPTIONS": settings.DATABASES["default"].get("OPTIONS", {}),
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "CACHE_LOCATION": settings.CACHES["default"].get("LOCATION"),
    "CACHE_MAX_ENTRIES": settings.CACHES["default"].get("OPTIONS", {}).get("MAX_ENTRIES"),
}, default=str))
"""


def load_settings(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "CACHE_DIR"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="newsroom.settings", NEWSROOM_VAR_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("word", ["1", "true", "yes", "on", "TRUE", "On"])
def test_debug_turns_on_with_a_true_word(tmp_path, word):
    completed = load_settings(tmp_path, DEBUG=word)
    assert json.loads(completed.stdout)["DEBUG"] is True


@pytest.mark.parametrize("word", ["0", "false", "no", "off", ""])
def test_debug_is_off_otherwise(tmp_path, word):
    completed = load_settings(tmp_path, DEBUG=word, SECRET_KEY="k" * 50)
    assert json.loads(completed.stdout)["DEBUG"] is False


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    completed = load_settings(tmp_path)
    assert completed.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in completed.stderr


def test_defaults_are_sqlite_and_a_shared_file_cache_in_var(tmp_path):
    settings = json.loads(load_settings(tmp_path, DEBUG="1").stdout)
    assert settings["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["DATABASE"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert settings["CACHE"] == "newsroom.filecache.FileCache"
    assert settings["CACHE_LOCATION"] == str(tmp_path / "cache")


def test_empty_cache_dir_gives_a_per_process_memory_cache(tmp_path):
    settings = json.loads(load_settings(tmp_path, DEBUG="1", CACHE_DIR="").stdout)
    assert settings["CACHE"] == "django.core.cache.backends.locmem.LocMemCache"


def test_cache_dir_gives_worker_processes_one_shared_cache(tmp_path):
    settings = json.loads(load_settings(tmp_path, DEBUG="1", CACHE_DIR=str(tmp_path)).stdout)
    assert settings["CACHE"] == "newsroom.filecache.FileCache"
    assert settings["CACHE_LOCATION"] == str(tmp_path)


def test_database_url_and_redis_url_are_read(tmp_path):
    settings = json.loads(
        load_settings(
            tmp_path,
            DEBUG="1",
            DATABASE_URL="postgres://newsroom:pw@db.example:6543/news",
            REDIS_URL="redis://cache.example:6380/2",
            ALLOWED_HOSTS="news.example, www.news.example",
        ).stdout
    )
    assert settings["DATABASE"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "news",
        "HOST": "db.example",
        "PORT": 6543,
    }
    assert settings["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert settings["CACHE_LOCATION"] == "redis://cache.example:6380/2"
    assert settings["ALLOWED_HOSTS"] == ["news.example", "www.news.example"]


def test_postgresql_connections_turn_jit_off_unless_told_otherwise(tmp_path):
    url = "postgres://newsroom:pw@db.example:6543/news"
    default = json.loads(load_settings(tmp_path, DEBUG="1", DATABASE_URL=url).stdout)
    assert default["DATABASE_OPTIONS"] == {"options": "-c jit=off"}
    on = json.loads(load_settings(tmp_path, DEBUG="1", DATABASE_URL=url, POSTGRES_JIT="on").stdout)
    assert on["DATABASE_OPTIONS"] == {"options": "-c jit=on"}
    server = load_settings(tmp_path, DEBUG="1", DATABASE_URL=url, POSTGRES_JIT="server")
    assert "options" not in json.loads(server.stdout)["DATABASE_OPTIONS"]
    wrong = load_settings(tmp_path, DEBUG="1", DATABASE_URL=url, POSTGRES_JIT="maybe")
    assert wrong.returncode != 0
    assert "POSTGRES_JIT must be off, on or server" in wrong.stderr
    sqlite = json.loads(load_settings(tmp_path, DEBUG="1").stdout)
    assert "options" not in sqlite["DATABASE_OPTIONS"]


def test_local_caches_hold_thousands_of_cached_pieces(tmp_path):
    """Cached pages, cards and feed entries would be evicted at Django's default of 300."""
    for cache_dir in ("", str(tmp_path)):
        settings = json.loads(load_settings(tmp_path, DEBUG="1", CACHE_DIR=cache_dir).stdout)
        assert settings["CACHE_MAX_ENTRIES"] == 5000
    settings = json.loads(
        load_settings(tmp_path, DEBUG="1", CACHE_DIR="", CACHE_MAX_ENTRIES="20000").stdout
    )
    assert settings["CACHE_MAX_ENTRIES"] == 20000


def test_the_file_cache_culls_its_folder_at_most_once_an_interval(tmp_path):
    from newsroom.filecache import FileCache

    def files():
        return len(list(tmp_path.glob("*.djcache")))

    cache = FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 3}})
    for number in range(20):
        cache.set(f"key{number}", number)
    # Culling lists the whole folder: Django's file cache does it before every write past
    # MAX_ENTRIES; within one interval this one did it once, at the first write, so the
    # folder grew past the limit meanwhile.
    assert files() == 20
    assert cache.get("key19") == 19
    # A process whose interval is over culls for real on its next write: 21 files, more than
    # 3. (A new one here: the interval runs on time.monotonic(), which time-machine leaves.)
    FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 3}}).set("key20", 20)
    assert files() < 21
