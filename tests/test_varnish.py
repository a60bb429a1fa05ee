"""A real Varnish (deploy/varnish.vcl, with the xkey vmod) in front of a real gunicorn, with the
background worker purging it, on PostgreSQL outside the test transaction: an edit reaches
readers through Varnish within a second, pages the edit does not touch stay cached there,
a staff user's page never reaches a reader (nor a reader's a staff user), and a scheduled
story appears within a second of its time.

Needs PostgreSQL (the server, the worker and the test share the database) and Debian's
varnish and varnish-modules (`make varnish`). Without varnishd the tests are skipped with a
note, unless NEWSROOM_VARNISH_TESTS=require (CI, `make test-varnish`) makes that a failure.
"""

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from stories.delivery import generation

from .factories import SectionFactory, StoryFactory
from .test_live_servers import collect_static, database_url, free_port, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
VARNISHD = shutil.which("varnishd") or next(
    (path for path in ("/usr/sbin/varnishd",) if os.access(path, os.X_OK)), None
)
REQUIRED = os.environ.get("NEWSROOM_VARNISH_TESTS") == "require"
# What "at once" means for a reader behind Varnish: the bound.
DEADLINE = 1.0

pytestmark = [
    pytest.mark.varnish,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs DATABASE_URL pointing at PostgreSQL: the server, the worker and the "
        "test share the database",
    ),
]


@pytest.fixture(scope="module")
def varnishd():
    if VARNISHD is None:
        message = (
            "VARNISH TESTS SKIPPED: varnishd not found (apt-get install varnish "
            "varnish-modules, or `make test-varnish`)"
        )
        if REQUIRED:
            pytest.fail(message)
        sys.stderr.write(f"\n*** {message} ***\n")
        pytest.skip(message)
    return VARNISHD


@pytest.fixture(scope="module")
def static_root(django_db_setup, tmp_path_factory):
    """Collected once for the module's servers."""
    root = tmp_path_factory.mktemp("static")
    collect_static(
        {**os.environ, "DJANGO_SETTINGS_MODULE": "newsroom.settings", "STATIC_ROOT": str(root)}
    )
    return root


@pytest.fixture
def front(varnishd, static_root, tmp_path_factory):
    """Varnish on a free port in front of gunicorn, and the background worker, started for
    each test; yields Varnish's base address and the cache settings the test process must
    share with them.

    Per test, not per module: the flush between tests empties the database identity row
    that names every cache key (``generation.database_scope``), and each process reads it
    once per connection. Processes that outlived a flush named the database differently
    (the worker, reconnecting, made a new identity; the servers kept the old one), so a
    go-live the worker invalidated never reached the servers' page cache. Fresh processes,
    started after this process has made the identity, all read the same one."""
    generation.forget_database_scope()
    generation.database_scope()
    work = tmp_path_factory.mktemp("front")
    varnish_port, app_port = free_port(), free_port()
    base = f"http://127.0.0.1:{varnish_port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "HTTPS", "PAGE_CACHE_SECONDS", "CDN_CACHE_SECONDS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        # The test's own: sessions it logs in are valid on the server.
        SECRET_KEY=settings.SECRET_KEY,
        NEWSROOM_VAR_DIR=str(work / "var"),
        STATIC_ROOT=str(static_root),
        ALLOWED_HOSTS="127.0.0.1",
        WEB_CONCURRENCY="2",
        HOST="127.0.0.1",
        PORT=str(app_port),
        DATABASE_URL=database_url(),
        BEHIND_PROXY="1",
        FRONTEND_CACHE_VARNISH_URL=base,
        CDN_CACHE_SECONDS="3600",
    )
    if not env.get("REDIS_URL"):
        # Without Redis, the server, the worker and this test share a file cache.
        env["CACHE_DIR"] = str(work / "cache")
    vcl = (ROOT / "deploy" / "varnish.vcl").read_text()
    assert '.port = "8001";' in vcl
    (work / "newsroom.vcl").write_text(vcl.replace('.port = "8001";', f'.port = "{app_port}";'))
    logs = [open(work / name, "w") for name in ("varnish.log", "app.log", "worker.log")]  # noqa: SIM115
    commands = [
        [
            varnishd,
            *("-F", "-j", "none", "-a", f"127.0.0.1:{varnish_port}"),
            *("-f", str(work / "newsroom.vcl"), "-n", str(work / "varnish"), "-s", "malloc,64m"),
        ],
        [str(GUNICORN), "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
        [sys.executable, "manage.py", "webhook_worker", "--interval", "0.1"],
    ]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        for command, log in zip(commands, logs, strict=True)
    ]
    try:
        wait_until_up(processes[1], f"http://127.0.0.1:{app_port}")
        wait_until_up(processes[0], base)
        yield base, env.get("CACHE_DIR")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        for log in logs:
            log.close()


@pytest.fixture
def through_varnish(front, settings):
    base, cache_dir = front
    if cache_dir:
        settings.CACHES = {
            **settings.CACHES,
            "default": {"BACKEND": "newsroom.filecache.FileCache", "LOCATION": cache_dir},
        }
    # Edits made here purge that Varnish after commit, through the worker.
    settings.FRONTEND_CACHE = {
        "varnish": {"BACKEND": "stories.delivery.frontend.VarnishBackend", "LOCATION": base}
    }
    settings.CDN_CACHE_SECONDS = 3600
    return base


def purges_done():
    """Wait until the worker has run every purge enqueued so far, the second purge a little
    after each first one included (``stories.delivery.tasks``)."""
    from django_tasks_db.models import DBTaskResult

    from stories.delivery.tasks import purge_frontend_cache

    deadline = time.monotonic() + 20
    pending = DBTaskResult.objects.filter(
        task_path=purge_frontend_cache.module_path, status__in=["READY", "RUNNING"]
    )
    while pending.exists():
        assert time.monotonic() < deadline, "the worker did not run the purges"
        time.sleep(0.1)


def get(url, cookie=None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def cached_in_varnish(url):
    """Fetch until Varnish answers from its cache (the first fetch stores the page)."""
    for _ in range(3):
        status, headers, body = get(url)
        assert status == 200, body[:300]
        if headers.get("X-Cache") == "HIT":
            return body
    raise AssertionError(f"{url} is not kept by Varnish: {headers}")


def wait_for(url, text, deadline):
    """Seconds until ``text`` is on the page through Varnish, failing after ``deadline``."""
    start = time.monotonic()
    while True:
        status, _, body = get(url)
        if status == 200 and text in body:
            return time.monotonic() - start
        if time.monotonic() - start > deadline:
            raise AssertionError(f"{text!r} not on {url} within {deadline} s")
        time.sleep(0.05)


def test_an_edit_reaches_readers_within_a_second_and_other_pages_stay_cached(through_varnish):
    world, sport = SectionFactory(name="World", slug="world"), SectionFactory(slug="sport")
    story = StoryFactory(headline="Harbour reopens", section=world, published=True)
    other = StoryFactory(headline="Cup final tonight", section=sport, published=True)
    story_url = through_varnish + story.get_absolute_url()
    other_url = through_varnish + other.get_absolute_url()
    purges_done()  # the purges of these writes have gone by
    for url in (story_url, other_url, through_varnish + "/sections/sport/"):
        cached_in_varnish(url)

    story.headline = "Harbour reopens after storm"
    story.save()
    # The edit's keys are purged after commit by the worker; the next reader renders it.
    wait_for(story_url, "Harbour reopens after storm", DEADLINE)
    wait_for(through_varnish + "/", "Harbour reopens after storm", DEADLINE)
    wait_for(through_varnish + "/sections/world/", "Harbour reopens after storm", DEADLINE)

    # Pages that do not show the story were not purged: Varnish still answers them.
    purges_done()
    for url in (other_url, through_varnish + "/sections/sport/"):
        status, headers, _ = get(url)
        assert (status, headers.get("X-Cache")) == (200, "HIT"), url
        assert int(headers.get("Age", "0")) >= 1, url


def test_staff_pages_never_reach_readers_nor_readers_pages_staff(through_varnish):
    section = SectionFactory(slug="world")
    StoryFactory(headline="Everyone may read this", section=section, published=True)
    draft = StoryFactory(headline="Embargoed draft", section=section, status="draft")
    editor = User.objects.create_superuser("editor", "editor@example.org", "x")
    purges_done()
    client = Client()
    client.force_login(editor)
    session = f"sessionid={client.cookies['sessionid'].value}"
    draft_url = through_varnish + draft.get_absolute_url()

    # A reader's page is cached; the editor is never given it.
    cached_in_varnish(through_varnish + "/")
    status, headers, _ = get(through_varnish + "/", cookie=session)
    assert status == 200 and headers.get("X-Cache") == "MISS"
    assert "private" in headers["Cache-Control"]

    # The editor's preview of a draft is passed through, and no reader ever gets it.
    for _ in range(2):
        status, headers, body = get(draft_url, cookie=session)
        assert status == 200 and "Embargoed draft" in body
        assert headers.get("X-Cache") == "MISS"
    for _ in range(2):
        status, _, body = get(draft_url)
        assert status == 404 and "Embargoed draft" not in body
        assert "Embargoed draft" not in get(through_varnish + "/")[2]

    # The admin passes straight through, never stored.
    for _ in range(2):
        status, headers, _ = get(through_varnish + "/admin/", cookie=session)
        assert status == 200 and headers.get("X-Cache") == "MISS"


def test_a_scheduled_story_appears_through_varnish_within_a_second(through_varnish):
    section = SectionFactory(slug="world")
    StoryFactory(headline="Already out", section=section, published=True)
    go_live = timezone.now() + timedelta(seconds=6)
    StoryFactory(
        headline="Coming at six", section=section, status="published", published_at=go_live
    )
    purges_done()
    body = cached_in_varnish(through_varnish + "/")
    assert "Coming at six" not in body
    # Readers keep asking; Varnish may keep the page no later than the go-live. A page
    # received before the go-live must not show the story (one asked for just before it and
    # received after it may: the server made it after the go-live).
    while True:
        body = get(through_varnish + "/")[2]
        if timezone.now() >= go_live:
            break
        assert "Coming at six" not in body
        time.sleep(0.1)
    wait_for(through_varnish + "/", "Coming at six", DEADLINE + 1)
    # Counted from the go-live itself (the loop above may have overrun it a little).
    assert (timezone.now() - go_live).total_seconds() <= DEADLINE
