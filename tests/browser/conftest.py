"""Browser tests: Playwright for Python driving Debian's Chromium against a live server.

They run when /usr/bin/chromium (and, for the accessibility checks, axe-core from
``e2e/node_modules``) are present, and are skipped with a clear notice when not.
``NEWSROOM_BROWSER_TESTS=require`` (set by ``.ci/run`` and ``make test-browser``) turns a
missing prerequisite into an error instead, so CI cannot pass without running them.
Never ``playwright install``: we use the distribution's browser, not a downloaded one.
"""

import os
import shutil
import sqlite3
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("NEWSROOM_CHROMIUM", "/usr/bin/chromium"))
AXE = BASE_DIR / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = BASE_DIR / "artifacts"
SEED = BASE_DIR / "fixtures" / "briefing.txt"
PASSWORD = "browser-tests-only-9f3k"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The live server binds an ephemeral port on the loopback address unless told otherwise.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1:0")


def missing_browser():
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install)"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    return None


def missing_axe():
    if not AXE.is_file():
        hint = "cd e2e && npm ci" if shutil.which("npm") else "install node and npm, then npm ci"
        return f"axe-core not found at {AXE.relative_to(BASE_DIR)} ({hint})"
    return None


def browser_tests_required():
    return os.environ.get("NEWSROOM_BROWSER_TESTS", "").lower() == "require"


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if not browser_items:
        return
    no_browser, no_axe = missing_browser(), missing_axe()
    problems = [p for p in (no_browser, no_axe) if p]
    if problems and browser_tests_required():
        raise pytest.UsageError("Browser tests are required but cannot run: " + "; ".join(problems))
    config._newsroom_browser_skips = problems
    for item in browser_items:
        if no_browser:
            item.add_marker(pytest.mark.skip(reason=f"browser test skipped: {no_browser}"))
        elif no_axe and item.get_closest_marker("axe"):
            item.add_marker(pytest.mark.skip(reason=f"accessibility test skipped: {no_axe}"))


def pytest_terminal_summary(terminalreporter, config):
    problems = getattr(config, "_newsroom_browser_skips", None)
    if problems:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", yellow=True, bold=True)
        for problem in problems:
            terminalreporter.write_line(f"  {problem}")
        terminalreporter.write_line("  `make test-browser` (or .ci/run) requires them.")


@pytest.fixture(scope="package")
def playwright_browser():
    """One Chromium for the whole browser package, closed when the package is done.

    Playwright's sync API keeps an event loop running in this thread while it is open, so
    Django's async-safety check would refuse the ORM calls tests make to set up data; the
    check is lifted for exactly as long as the browser is open, then put back.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True, scope="session")
def flush_waits_for_the_live_server():
    """Emptying the test database after a browser test retries for a while a table is
    locked: the live server's thread may still be finishing a request the browser has
    already had its answer to, and SQLite's shared in-memory database refuses the flush at
    once rather than wait (seen on a loaded CI machine). For the session: a function's
    fixture would be undone before pytest-django empties the database."""
    from django.core.management.base import CommandError
    from django.core.management.commands import flush

    original = flush.Command.handle

    def handle(self, **options):
        for attempt in range(200):
            try:
                return original(self, **options)
            except CommandError as error:
                if "locked" not in str(error.__cause__) or attempt == 199:
                    raise
                time.sleep(0.05)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True, scope="session")
def statements_wait_for_a_locked_table():
    """A statement refused because another thread holds the table (SQLite's shared
    in-memory database answers "database table is locked" at once instead of waiting for
    the busy timeout) is tried again for a while: the test's thread polls the database while
    the live server's thread writes to it (seen on a loaded CI machine: an autosave test's
    poll of the editing presence). The refused statement did nothing, so trying it again is
    safe. For the session, like the flush above."""
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    originals = {name: getattr(SQLiteCursorWrapper, name) for name in ("execute", "executemany")}

    def patient(original):
        def run(self, *args, **kwargs):
            for attempt in range(200):
                try:
                    return original(self, *args, **kwargs)
                except sqlite3.OperationalError as error:
                    if "is locked" not in str(error) or attempt == 199:
                        raise
                    time.sleep(0.05)

        return run

    for name, original in originals.items():
        setattr(SQLiteCursorWrapper, name, patient(original))
    yield
    for name, original in originals.items():
        setattr(SQLiteCursorWrapper, name, original)


@pytest.fixture(autouse=True, scope="session")
def live_server_requests_one_at_a_time():
    """On SQLite the live server's threads share the test's one in-memory connection
    (Django's ``connections_override``), so two requests at once share one transaction
    state: as a tab closes, its farewell beacons (the presence and the autosave) arrive
    together, and the second's ``atomic()`` failed with "cannot start a transaction within
    a transaction" (a 500 and a lost beacon, seen once in CI). There the live server
    handles one request at a time. For the session, like the patient statements above."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    original = WSGIHandler.__call__
    lock = threading.Lock()

    def one_at_a_time(self, environ, start_response):
        with lock:
            return original(self, environ, start_response)

    WSGIHandler.__call__ = one_at_a_time
    yield
    WSGIHandler.__call__ = original


@pytest.fixture
def open_page(playwright_browser, live_server):
    """``open_page(path, width=1280, color_scheme="light")``: a fresh browser context (no
    cookies shared with other pages) showing ``path`` on the live server."""
    contexts = []

    def open_(path="/", *, width=1280, height=900, color_scheme="light"):
        context = playwright_browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,
        )
        context.set_default_timeout(15_000)
        # Requests the pages have sent and the server has not answered yet (see teardown).
        in_flight = set()
        context.on("request", lambda request: in_flight.add(request))
        context.on("requestfinished", lambda request: in_flight.discard(request))
        context.on("requestfailed", lambda request: in_flight.discard(request))
        context.in_flight = in_flight
        contexts.append(context)
        page = context.new_page()
        if path is not None:
            page.goto(path)
        return page

    yield open_
    for context in contexts:
        # A story's editing page keeps talking to the server (autosave, presence heartbeats,
        # the side preview) and says goodbye as it closes: nothing from a test's pages may
        # reach the server once the test's database is being emptied (SQLite's shared
        # in-memory test database refuses it mid-flush; pytest-django refuses any access).
        # So stop new requests, let those under way be answered, then close.
        context.route("**/*", lambda route: route.abort())
        waiter = next((page for page in context.pages if not page.is_closed()), None)
        for _ in range(100):
            if not context.in_flight or waiter is None:
                break
            waiter.wait_for_timeout(50)
        context.close()


@pytest.fixture
def seeded(transactional_db):
    """The demo briefing imported as published stories, as `make run` does."""
    call_command("import_briefing", str(SEED), stdout=StringIO())


def _printed(text):
    return " ".join(text.split())


@pytest.fixture(scope="session")
def printed():
    """``printed(text)``: ``text`` as reader pages print it: exactly as written, whitespace
    aside."""
    return _printed


@pytest.fixture
def reader_pages(seeded):
    """One address of each reader page type, from the seeded live stories."""
    from stories.models import Story

    story = Story.objects.live().for_listing().first()
    return {
        "home": "/",
        "section": story.section.get_absolute_url(),
        "tag": reverse("stories:tag", args=[story.sorted_tags[0].slug]),
        "byline": story.ordered_bylines[0].get_absolute_url(),
        "story": story.get_absolute_url(),
        "not-found": "/no/such/page/",
    }


@pytest.fixture(scope="session")
def axe_script():
    """axe-core's source, to evaluate in a page (tests marked ``axe`` only run if it is there)."""
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def artifacts():
    """Where browser tests leave screenshots (``artifacts/``, next to ``docs/``)."""
    return ARTIFACTS


def staff_user(username, group_name, permissions):
    """A staff user in the role ``group_name``, or with ``permissions`` where no such group
    exists."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    group = Group.objects.filter(name=group_name).first()
    if group is not None:
        user.groups.add(group)  # the real role, when issue 3's migration made it
    else:
        user.user_permissions.set(permissions)
    return user


@pytest.fixture
def editor(transactional_db):
    """An editor, logged in through the real login page by the tests that use it."""
    from django.contrib.auth.models import Permission

    return staff_user(
        "desk-editor",
        "Editor",
        Permission.objects.filter(content_type__app_label__in=["stories", "taggit"]),
    )
