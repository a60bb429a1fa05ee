"""The database going away and coming back, with real gunicorn workers.

A private, throwaway PostgreSQL server is started for the test (initdb into a temporary
folder, on a free port, as the ``postgres`` user when we are root), never the machine's
shared cluster. While it is stopped, /healthz answers 503 and pages answer the plain 500
page quickly; once it is back, the same workers serve again with nobody restarting them.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PG_BIN or not os.path.exists(f"{PG_BIN[-1]}/initdb" if PG_BIN else ""),
        reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
        "apt-get install postgresql",
    ),
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL server of our own in a temporary folder; stopped and removed after."""

    def __init__(self):
        self.bin = PG_BIN[-1]
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="newsroom-faults-")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: the folder goes to the postgres user.
            shutil.chown(self.root, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        else:
            self.prefix = []

    def run(self, *args, check=True):
        return subprocess.run(
            [*self.prefix, *args], check=check, capture_output=True, text=True, timeout=120
        )

    def init(self):
        self.run(f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres")

    def start(self):
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            f"{self.bin}/pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start"
        )

    def stop(self):
        self.run(f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", check=False)

    def url(self, name="newsroom_faults"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def postgres():
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        server.run(
            f"{server.bin}/createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U",
            "postgres", "newsroom_faults",
        )  # fmt: skip
        yield server
    finally:
        server.remove()


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


SETUP_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", verbosity=0)
call_command("collectstatic", "--noinput", verbosity=0)
from stories.models import Section, Story
section = Section.objects.create(name="World", slug="world")
story = Story.objects.create(
    headline="Still here after the outage", slug="still-here", body="Text.",
    section=section, status="published", published_at=timezone.now(),
)
print(story.get_absolute_url())
"""


def test_database_outage_gives_503_and_500_pages_then_recovers_by_itself(postgres, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DEBUG", "HTTPS")}
    port = free_port()
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        SECRET_KEY="faults-test-" + "k" * 40,
        DATABASE_URL=postgres.url(),
        NEWSROOM_VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="127.0.0.1",
        PAGE_CACHE_SECONDS="0",
        # The default without Redis: both workers share what they keep.
        CACHE_DIR=str(tmp_path / "cache"),
        WEB_CONCURRENCY="2",
        HOST="127.0.0.1",
        PORT=str(port),
    )
    setup = subprocess.run(
        [sys.executable, "-c", SETUP_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert setup.returncode == 0, setup.stderr[-2000:]
    story_url = setup.stdout.strip().splitlines()[-1]
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(GUNICORN), "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while get_status(base + "/healthz") != 200:
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        for _ in range(4):  # every worker holds a database connection now
            assert get(base + "/")[0] == 200
            assert get(base + story_url)[0] == 200

        postgres.stop()
        for _ in range(4):
            started = time.monotonic()
            status, body = get(base + "/healthz")
            assert (status, body) == (503, "database unavailable\n")
            # A page that must read the database gets the plain 500 page, no traceback...
            status, body = get(base + f"/search/?q=outage{started}")
            assert status == 500
            assert "Something went wrong" in body
            assert "Traceback" not in body and "OperationalError" not in body
            # ...while what readers saw before the outage is cached for the content
            # generation (stories/delivery/fragments.py) and still served.
            status, body = get(base + story_url)
            assert status == 200 and "Still here after the outage" in body
            assert get(base + "/")[0] == 200
            assert time.monotonic() - started < 10  # failing fast, not hanging
        assert server.poll() is None  # workers are still up

        postgres.start()
        deadline = time.monotonic() + 30
        while get_status(base + "/healthz") != 200:
            assert time.monotonic() < deadline, "the site did not recover"
            time.sleep(0.2)
        for _ in range(6):  # both workers, without a restart
            assert get(base + "/healthz") == (200, "ok\n")
            status, body = get(base + story_url)
            assert status == 200 and "Still here after the outage" in body
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def get_status(url):
    try:
        return get(url, timeout=2)[0]
    except OSError:
        return None
