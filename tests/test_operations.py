"""What an operator and a newcomer meet outside the site: the local .env that makes the
README's commands work after `make run`, owner-only local files, and forwarder headers
believed only from the proxies the operator named."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from stories.security import client_ip_behind_proxy

ROOT = Path(__file__).resolve().parent.parent
LOGIN = reverse("admin:login")
PASSWORD = "pw-for-tests-only"
# Variables a developer's shell or the test run may hold, which these checks must not see.
LOCAL_VARIABLES = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CACHE_DIR"}


def environment(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in LOCAL_VARIABLES}
    clean.update(NEWSROOM_VAR_DIR=str(tmp_path / "var"), **env)
    return clean


def manage(tmp_path, *args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def mode(path):
    return stat.S_IMODE(Path(path).stat().st_mode)


# --- the local .env ---------------------------------------------------------------------------


@pytest.fixture
def dot_env(tmp_path):
    """The .env `make run` writes, made by the Makefile's own target in an empty folder."""
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    completed = subprocess.run(
        ["make", "--no-print-directory", "-C", str(workdir), "-f", str(ROOT / "Makefile"), ".env"],
        env={**environment(tmp_path), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return workdir / ".env"


def test_make_writes_an_owner_only_env_with_debug_and_a_generated_key(dot_env):
    assert mode(dot_env) == 0o600
    values = dict(line.split("=", 1) for line in dot_env.read_text().splitlines() if "=" in line)
    assert values["DEBUG"] == "1"
    assert len(values["SECRET_KEY"]) >= 50


def test_readme_commands_work_after_make_run_without_exporting_anything(dot_env, tmp_path):
    # `make run` exports DEBUG itself; commands typed afterwards must work as written.
    migrated = manage(tmp_path, "migrate", "--noinput", NEWSROOM_ENV_FILE=str(dot_env))
    assert migrated.returncode == 0, migrated.stderr
    imported = manage(
        tmp_path,
        "import_briefing",
        str(ROOT / "fixtures" / "briefing.txt"),
        "--dry-run",
        NEWSROOM_ENV_FILE=str(dot_env),
    )
    assert imported.returncode == 0, imported.stderr
    assert "SECRET_KEY must be set" not in imported.stderr


def test_without_the_env_file_debug_off_still_needs_a_secret_key(tmp_path):
    completed = manage(tmp_path, "check", NEWSROOM_ENV_FILE=str(tmp_path / "missing.env"))
    assert completed.returncode != 0
    assert "SECRET_KEY must be set" in completed.stderr


PROBE = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"


def test_the_environment_wins_over_the_env_file(dot_env, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environment(
            tmp_path,
            DJANGO_SETTINGS_MODULE="newsroom.settings",
            NEWSROOM_ENV_FILE=str(dot_env),
            DEBUG="0",
            SECRET_KEY="from-the-environment",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.stdout.split() == ["False", "from-the-environment"]


def test_make_serve_reads_no_env_file():
    dry_run = subprocess.run(
        ["make", "-n", "-p", "serve"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout
    # Target-specific: `make serve` is production-like, DEBUG=1 from .env must not leak in.
    assert "serve: NEWSROOM_ENV_FILE := \n" in dry_run


# --- owner-only local files -------------------------------------------------------------------


def test_var_and_the_sqlite_database_are_owner_only(tmp_path):
    old_umask = os.umask(0o022)
    try:
        completed = manage(tmp_path, "migrate", "--noinput", DEBUG="1")
    finally:
        os.umask(old_umask)
    assert completed.returncode == 0, completed.stderr
    var = tmp_path / "var"
    assert mode(var) == 0o700
    for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"):
        if (var / name).exists():
            assert mode(var / name) == 0o600, name


def test_files_an_older_version_left_readable_are_tightened(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    (var / "db.sqlite3").touch(mode=0o644)
    os.chmod(var, 0o755)
    os.chmod(var / "db.sqlite3", 0o644)
    assert manage(tmp_path, "check", DEBUG="1").returncode == 0
    assert mode(var) == 0o700
    assert mode(var / "db.sqlite3") == 0o600


# --- forwarder headers only from trusted proxies ----------------------------------------------


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "::1"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.AXES_CLIENT_IP_CALLABLE = "stories.security.client_ip_behind_proxy"
    settings.MIDDLEWARE = ["stories.security.ForwardedHeadersMiddleware", *settings.MIDDLEWARE]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # From a trusted proxy: the right-most address it did not write itself.
        ("10.0.0.2", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # Through two trusted proxies: skip both.
        ("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        # Straight from the internet: the header means nothing, whatever it says.
        ("198.51.100.4", "203.0.113.9", "198.51.100.4"),
        ("198.51.100.4", "10.0.0.9", "198.51.100.4"),
        ("198.51.100.4", "garbage, , ", "198.51.100.4"),
        # A trusted proxy that saw only other trusted proxies (health checks).
        ("10.0.0.2", "10.0.0.8", "10.0.0.8"),
        ("10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_client_address_trusts_forwarded_for_only_from_trusted_proxies(
    rf, behind_proxy, peer, forwarded, client
):
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=peer)
    assert client_ip_behind_proxy(request) == client


@pytest.mark.django_db
def test_a_guesser_cannot_dodge_the_lockout_by_forging_forwarded_for(behind_proxy, make_staff):
    make_staff("desk", "Editor")
    client = Client()
    for number in range(10):
        client.post(
            LOGIN,
            {"username": "desk", "password": "wrong", "next": "/admin/"},
            REMOTE_ADDR="198.51.100.4",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number}",
        )
    response = client.post(
        LOGIN,
        {"username": "desk", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="198.51.100.4",
        HTTP_X_FORWARDED_FOR="203.0.113.200",
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_forwarded_headers_from_an_untrusted_peer_are_dropped(behind_proxy, rf):
    from django.http import HttpResponse

    from stories.security import ForwardedHeadersMiddleware

    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        seen["headers"] = sorted(k for k in request.META if "FORWARDED" in k)
        return HttpResponse()

    middleware = ForwardedHeadersMiddleware(view)
    forged = {
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "evil.example",
        "HTTP_X_FORWARDED_FOR": "203.0.113.9",
        "HTTP_FORWARDED": "for=203.0.113.9;proto=https",
    }
    middleware(rf.get("/", REMOTE_ADDR="198.51.100.4", **forged))
    assert seen == {"secure": False, "headers": []}
    middleware(rf.get("/", REMOTE_ADDR="10.0.0.2", **forged))
    assert seen["secure"] is True
    assert "HTTP_X_FORWARDED_FOR" in seen["headers"]


def test_behind_proxy_installs_the_middleware_first(tmp_path):
    probe = "from django.conf import settings; print(settings.MIDDLEWARE[0])"
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=environment(
            tmp_path, DJANGO_SETTINGS_MODULE="newsroom.settings", DEBUG="1", BEHIND_PROXY="1"
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.stdout.strip() == "stories.security.ForwardedHeadersMiddleware"


def test_a_misconfigured_trusted_proxy_list_stops_the_site_at_start(tmp_path):
    completed = manage(tmp_path, "check", DEBUG="1", TRUSTED_PROXIES="10.0.0.0/8,not-an-address")
    assert completed.returncode != 0
    assert "TRUSTED_PROXIES" in completed.stderr and "not-an-address" in completed.stderr


def test_make_backup_writes_a_file_only_this_account_reads(tmp_path):
    assert manage(tmp_path, "migrate", "--noinput", DEBUG="1").returncode == 0
    backup = tmp_path / "backup.json.gz"
    old_umask = os.umask(0o022)
    try:
        completed = subprocess.run(
            ["make", "--no-print-directory", "backup", f"BACKUP={backup}"],
            cwd=ROOT,
            env=environment(tmp_path, DEBUG="1"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.umask(old_umask)
    assert completed.returncode == 0, completed.stderr
    # It holds every account's password hash.
    assert mode(backup) == 0o600
