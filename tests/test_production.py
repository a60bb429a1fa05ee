"""Production settings and serving: /healthz, security headers, check --deploy, Redis
sessions, S3 media, gunicorn settings. Settings are read in fresh interpreters."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLEARED = {
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "HTTPS",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_CUSTOM_DOMAIN",
    "SESSION_ENGINE",
    "WEB_CONCURRENCY",
    "PORT",
    "HOST",
}


def run(tmp_path, args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(env, DJANGO_SETTINGS_MODULE="newsroom.settings", NEWSROOM_VAR_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def probe(tmp_path, code, **env):
    script = "import json, django\ndjango.setup()\nfrom django.conf import settings\n" + code
    completed = run(tmp_path, ["-c", script], **env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def strong_key():
    return secrets.token_urlsafe(50)


@pytest.mark.django_db
def test_healthz_answers_200_with_a_tiny_body_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    # A database file in a folder that does not exist: every connection attempt fails.
    code = (
        "from django.test import Client\n"
        "response = Client(HTTP_HOST='localhost').get('/healthz')\n"
        "print(json.dumps([response.status_code, response.content.decode()]))"
    )
    status, body = probe(
        tmp_path, code, DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path}/missing/folder/db.sqlite3"
    )
    assert status == 503
    assert body == "database unavailable\n"


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    completed = run(
        tmp_path,
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY=strong_key(),
        HTTPS="1",
        ALLOWED_HOSTS="news.example",
    )
    assert completed.returncode == 0, completed.stderr
    assert "System check identified no issues (0 silenced)." in completed.stdout


def test_check_deploy_names_the_https_settings_when_the_switch_is_off(tmp_path):
    completed = run(
        tmp_path, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY="k" * 60
    )
    assert completed.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in completed.stderr


def test_https_switch_turns_on_redirect_secure_cookies_and_hsts(tmp_path):
    code = (
        "print(json.dumps([settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE,"
        " settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS,"
        " settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD]))"
    )
    assert probe(tmp_path, code, DEBUG="1") == [False, False, False, 0, False, False]
    assert probe(tmp_path, code, SECRET_KEY=strong_key(), HTTPS="1") == [
        True,
        True,
        True,
        31536000,
        True,
        True,
    ]


@pytest.mark.django_db
def test_pages_carry_csp_referrer_policy_and_frame_denial(client):
    response = client.get("/")
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_healthz_is_not_redirected_to_https(tmp_path):
    code = (
        "from django.test import Client\n"
        "from django.test.utils import setup_test_environment\n"
        "client = Client(HTTP_HOST='news.example')\n"
        "print(json.dumps([client.get('/').status_code,"
        " client.get('/healthz').status_code in (200, 503)]))"
    )
    home, health_answers = probe(
        tmp_path, code, SECRET_KEY=strong_key(), HTTPS="1", ALLOWED_HOSTS="news.example"
    )
    assert home == 301
    assert health_answers


def test_sessions_live_in_redis_with_the_cache(tmp_path):
    code = "print(json.dumps([settings.SESSION_ENGINE, settings.CACHES['default']['BACKEND']]))"
    assert probe(tmp_path, code, DEBUG="1") == [
        "django.contrib.sessions.backends.db",
        "django.core.cache.backends.locmem.LocMemCache",
    ]
    assert probe(tmp_path, code, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/9") == [
        "django.contrib.sessions.backends.cache",
        "django.core.cache.backends.redis.RedisCache",
    ]


def test_media_is_local_files_by_default(tmp_path):
    code = (
        "from django.core.files.storage import storages\ndefault_storage = storages['default']\n"
        "print(json.dumps([type(default_storage).__name__, default_storage.url('a.jpg')]))"
    )
    assert probe(tmp_path, code, DEBUG="1") == ["FileSystemStorage", "/media/a.jpg"]


def test_s3_bucket_moves_media_to_s3_compatible_storage(tmp_path):
    code = (
        "from django.core.files.storage import storages\ndefault_storage = storages['default']\n"
        "print(json.dumps([type(default_storage).__name__, default_storage.bucket_name,"
        " default_storage.url('photos/a.jpg'),"
        " settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']]))"
    )
    name, bucket, url, image_sources = probe(
        tmp_path,
        code,
        DEBUG="1",
        S3_BUCKET="newsroom-media",
        S3_ENDPOINT_URL="https://s3.example.net",
        S3_CUSTOM_DOMAIN="media.news.example",
        AWS_ACCESS_KEY_ID="test-key-id",
        AWS_SECRET_ACCESS_KEY="test-secret",
    )
    assert (name, bucket) == ("S3Storage", "newsroom-media")
    assert url == "https://media.news.example/media/photos/a.jpg"
    assert "https://media.news.example" in image_sources


def test_gunicorn_settings_come_from_the_environment(tmp_path):
    code = (
        "import json, runpy\n"
        "conf = runpy.run_path('newsroom/gunicorn.conf.py')\n"
        "print(json.dumps([conf['bind'], conf['workers'], conf['worker_class']]))"
    )
    defaults = run(tmp_path, ["-c", code])
    assert json.loads(defaults.stdout) == ["127.0.0.1:8000", 2, "sync"]
    custom = run(tmp_path, ["-c", code], PORT="8123", WEB_CONCURRENCY="5")
    assert json.loads(custom.stdout) == ["127.0.0.1:8123", 5, "sync"]
