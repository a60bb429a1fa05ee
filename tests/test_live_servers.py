"""Two app servers sharing PostgreSQL (and Redis, when REDIS_URL is set) act as one site:
the same pages, a login on one valid on the other, an edit through one seen through the
other at once. Real gunicorn processes, real HTTP."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Permission, User
from django.db import connection

from .factories import BylineFactory, SectionFactory, StoryFactory
from .htmlforms import FormFields

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs DATABASE_URL pointing at PostgreSQL: two server processes cannot "
        "share the test run's SQLite database",
    ),
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url():
    db = connection.settings_dict
    credentials = urllib.parse.quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + urllib.parse.quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def server_env(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "HTTPS", "PAGE_CACHE_SECONDS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        SECRET_KEY="two-servers-test-" + "k" * 40,
        NEWSROOM_VAR_DIR=str(var),
        ALLOWED_HOSTS="127.0.0.1",
        WEB_CONCURRENCY="1",
        HOST="127.0.0.1",
    )
    # DEBUG is off, so pages link hashed static names: collect them once.
    collect_static(env)
    return env


def collect_static(env):
    """``collectstatic`` into the static root ``env`` names, for servers with DEBUG off."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )


@pytest.fixture
def two_servers(server_env, tmp_path):
    env = {**server_env, "DATABASE_URL": database_url()}
    servers = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = open(tmp_path / f"server-{name}.log", "w")  # noqa: SIM115
            process = subprocess.Popen(
                [str(GUNICORN), "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
                cwd=ROOT,
                env={**env, "PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            servers.append((process, log, f"http://127.0.0.1:{port}"))
        for process, _, base in servers:
            wait_until_up(process, base)
        yield [base for _, _, base in servers]
    finally:
        for process, log, _ in servers:
            process.terminate()
            process.wait(timeout=20)
            log.close()


def wait_until_up(process, base):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited at start"
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{base} did not come up")


class Browser:
    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, url):
        try:
            with self.opener.open(url, timeout=10) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, url, error.read().decode()

    def submit(self, url, form_id, **changes):
        status, _, html = self.get(url)
        assert status == 200, html[:500]
        parser = FormFields(form_id)
        parser.feed(html)
        fields = [(name, changes.get(name, value)) for name, value in parser.fields]
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(url, data=data, headers={"Referer": url})
        with self.opener.open(request, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()


def test_two_servers_serve_one_site_and_see_each_others_edits_at_once(two_servers):
    server_a, server_b = two_servers
    section = SectionFactory(name="World", slug="world")
    story = StoryFactory(
        headline="Original headline",
        published=True,
        section=section,
        bylines=[BylineFactory(name="Ana Lima")],
    )
    # Hashed with the servers' own default hasher (the test settings use a faster one).
    editor = User.objects.create_user("desk", is_staff=True)
    hasher = PBKDF2PasswordHasher()
    editor.password = hasher.encode("pw-for-tests-only", hasher.salt())
    editor.save(update_fields=["password"])
    editor.user_permissions.set(Permission.objects.filter(content_type__app_label="stories"))
    reader = Browser()
    pages = [reader.get(base + story.get_absolute_url()) for base in two_servers]
    assert [status for status, _, _ in pages] == [200, 200]
    # The same page, but for the absolute addresses (canonical, og:url, JSON-LD) each
    # server builds from the host it was asked on.
    same = [
        html.replace(base, "http://SERVER")
        for base, (_, _, html) in zip(two_servers, pages, strict=True)
    ]
    assert same[0] == same[1]
    assert "Original headline" in pages[0][2]

    # Log in through server A; the session is shared, so server B knows the editor too.
    desk = Browser()
    status, landed, _ = desk.submit(
        f"{server_a}/admin/login/?next=/admin/",
        "login-form",
        username="desk",
        password="pw-for-tests-only",
    )
    assert landed == f"{server_a}/admin/"
    status, landed, _ = desk.get(f"{server_b}/admin/")
    assert (status, landed) == (200, f"{server_b}/admin/")

    status, landed, html = desk.submit(
        f"{server_a}/admin/stories/story/{story.pk}/change/",
        "story_form",
        headline="Edited through server A",
        # Only the story's one byline row; the blank extra row is not sent.
        **{"story_bylines-TOTAL_FORMS": "1"},
    )
    assert landed.endswith("/admin/stories/story/"), re.findall(r"errorlist.{0,300}", html)

    status, _, html = reader.get(server_b + story.get_absolute_url())
    assert status == 200
    assert "Edited through server A" in html
    assert "Original headline" not in html
    _, _, home = reader.get(server_b + "/")
    assert "Edited through server A" in home
