"""What a cached page or piece may be reused for: only the database, site address and query it
was rendered for (stories.delivery.generation, stories.delivery.fragments).

Two databases behind one cache, a restored database, a forged script prefix, scheme or host
(in process and through gunicorn), a flood of made-up query strings against the real file
cache, and conditional requests answered alike with and without the page cache."""

import json
import os
import random
import shutil
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from django.test.utils import override_script_prefix
from django.utils.http import http_date

from newsroom.filecache import FileCache
from stories.delivery import generation
from stories.models import DatabaseIdentity, Story

from .factories import StoryFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")

# Every kind of reader page: listings, a story, feeds of both formats, sitemaps, search.
PAGES = [
    "/",
    "/sections/world/",
    "/tags/china/",
    "/bylines/william-roberts/",
    "story",
    "/feed/",
    "/sections/world/feed/",
    "/tags/china/feed/atom/",
    "/sitemap.xml",
    "/sitemap-stories.xml",
    "/search/?q=harbours",
]


def address(url, newsroom):
    return newsroom["live"].get_absolute_url() if url == "story" else url


def from_page_cache(response):
    return getattr(response, "from_reader_page_cache", False)


# --- Two databases, one cache -------------------------------------------------------------

SITE_SCRIPT = """
import json, sys
import django
django.setup()
from django.core.management import call_command
from django.test import Client

action, urls = sys.argv[1], json.loads(sys.argv[2])
if action == "create":
    from stories.models import Byline, Section, Story
    from django.utils import timezone
    call_command("migrate", verbosity=0)
    # Slugs and (in a fresh database) keys the other site uses too.
    section = Section.objects.create(name="Elsewhere", slug="world")
    byline = Byline.objects.create(name="Bea Other", slug="william-roberts")
    story = Story.objects.create(
        headline="Site B story", slug="site-b-story", body="Body of B.", section=section,
        status="published", published_at=timezone.now(),
    )
    story.story_bylines.create(byline=byline, position=0)
    story.tags.add("China")
elif action == "edit":
    from stories.models import Story
    story = Story.objects.get(slug="site-b-story")
    story.headline = "Site C story"
    story.save()
client = Client()
pages = {}
for url in urls:
    response = client.get(url)
    pages[url] = [response.status_code, response.getvalue().decode()]
print(json.dumps(pages))
"""


@pytest.fixture
def shared_cache(settings, tmp_path):
    """The cache this test run and the other site's process share: Redis when the run uses
    it (the other process inherits REDIS_URL), else a file cache folder, as by default."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "PAGE_CACHE_SECONDS", "FRAGMENT_CACHE_SECONDS")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DEBUG="1",
        SECRET_KEY="tests-only-not-a-real-secret",
        NEWSROOM_VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="testserver",
        TIME_ZONE=os.environ.get("TIME_ZONE", "UTC"),
    )
    if not os.environ.get("REDIS_URL"):
        folder = tmp_path / "shared-cache"
        settings.CACHES = {
            "default": {"BACKEND": "newsroom.filecache.FileCache", "LOCATION": str(folder)}
        }
        env["CACHE_DIR"] = str(folder)
    return env


def other_site(env, database, action, urls):
    completed = subprocess.run(
        [sys.executable, "-c", SITE_SCRIPT, action, json.dumps(urls)],
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_two_databases_sharing_one_cache_never_see_each_others_pages(
    client, discovery_newsroom, page_cache, shared_cache, tmp_path
):
    story_url = discovery_newsroom["live"].get_absolute_url()
    urls = [address(url, discovery_newsroom) for url in PAGES]
    urls += ["/sections/world/feed/atom/", "/bylines/william-roberts/feed/"]
    for url in urls * 2:  # every page, piece, lookup and feed of site A cached
        assert client.get(url).status_code == 200, url
    assert from_page_cache(client.get("/"))

    site_b = tmp_path / "b.sqlite3"
    pages = other_site(shared_cache, site_b, "create", urls)
    assert pages[story_url][0] == 404
    for url in urls:
        if url != story_url:
            status, html = pages[url]
            assert "Live story about harbours" not in html, url  # site A's live story
            assert "ships" not in html, url  # its body, in feeds
            assert "William Roberts" not in html, url
    for url in ("/", "/sections/world/", "/feed/", "/tags/china/feed/atom/"):
        assert "Site B story" in pages[url][1], url
    # And site A still sees only its own.
    home = client.get("/")
    assert "Live story about harbours" in home.content.decode()
    assert "Site B story" not in home.content.decode()

    # A copy of B's database at another location (same identity row) is another site too:
    # once the copy is edited, B's pages must not answer for it, nor its pages for B.
    site_c = tmp_path / "c.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{site_b}{suffix}").exists():
            shutil.copyfile(f"{site_b}{suffix}", f"{site_c}{suffix}")
    assert "Site C story" in other_site(shared_cache, site_c, "edit", ["/"])["/"][1]
    assert "Site B story" in other_site(shared_cache, site_b, "read", ["/"])["/"][1]
    copy_home = other_site(shared_cache, site_c, "read", ["/"])["/"][1]
    assert "Site C story" in copy_home
    assert "Site B story" not in copy_home


def test_a_restored_database_starts_a_new_generation(client, discovery_newsroom, page_cache):
    """``make restore`` into a fresh database: the content came in without an edit through
    this site, and the identity row is new (backups leave it out)."""
    story = discovery_newsroom["live"]
    for url in ("/", story.get_absolute_url()):
        client.get(url)
        assert from_page_cache(client.get(url))
    Story.objects.filter(pk=story.pk).update(headline="Restored headline")  # sends no signal
    DatabaseIdentity.objects.update(token=uuid.uuid4())
    # What a new process, or this one on its next database connection, does.
    connection_created.send(sender=type(connection), connection=connection)
    for url in ("/", story.get_absolute_url()):
        response = client.get(url)
        assert not from_page_cache(response)
        assert "Restored headline" in response.content.decode()


def test_the_database_identity_is_read_once(client, discovery_newsroom, page_cache):
    generation.forget_database_scope()
    client.get("/")
    DatabaseIdentity.objects.update(token=uuid.uuid4())
    # Still this process's scope: a page-cache hit runs no query to ask.
    assert from_page_cache(client.get("/"))


def test_a_flushed_identity_row_is_made_again(db):
    DatabaseIdentity.objects.all().delete()
    generation.forget_database_scope()
    assert generation.database_scope()
    assert DatabaseIdentity.objects.count() == 1


def test_a_process_that_starts_during_an_outage_still_serves_cached_pages(
    client, discovery_newsroom, page_cache, monkeypatch
):
    # Some worker read the identity while the database answered, before the outage.
    generation.forget_database_scope()
    client.get("/")
    # A new worker (or one that reconnects) while the database is down cannot ask it.
    generation.forget_database_scope()

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(DatabaseIdentity.objects, "get_or_create", database_down)
    assert from_page_cache(client.get("/"))
    # With nothing left in the cache, the outage is not hidden.
    generation.forget_database_scope()
    cache.clear()
    with pytest.raises(OperationalError):
        generation.database_scope()


# --- Script prefix, scheme and host -------------------------------------------------------


@pytest.mark.parametrize("page_cache_seconds", [300, 0])
@pytest.mark.parametrize("url", PAGES)
def test_a_script_prefix_never_reaches_other_readers(
    client, discovery_newsroom, settings, page_cache_seconds, url
):
    settings.PAGE_CACHE_SECONDS = page_cache_seconds
    url = address(url, discovery_newsroom)
    # What a WSGI server does with a SCRIPT_NAME it was given (gunicorn from a trusted proxy).
    with override_script_prefix("/evil/"):
        forged = client.get(url, SCRIPT_NAME="/evil")
    assert forged.status_code == 200
    if not url.startswith("/search/"):  # the search page has no link that names the prefix
        assert "/evil/" in forged.getvalue().decode()
    for _ in range(2):  # rendered, then cached
        plain = client.get(url)
        assert plain.status_code == 200
        assert "/evil" not in plain.getvalue().decode()


@pytest.mark.parametrize("page_cache_seconds", [300, 0])
@pytest.mark.parametrize("url", PAGES)
def test_another_host_or_scheme_never_reaches_other_readers(
    client, discovery_newsroom, settings, page_cache_seconds, url
):
    settings.PAGE_CACHE_SECONDS = page_cache_seconds
    settings.ALLOWED_HOSTS = ["testserver", "mirror.example.org"]
    url = address(url, discovery_newsroom)
    client.get(url, HTTP_HOST="mirror.example.org", secure=True)
    client.get(url, secure=True)
    for _ in range(2):
        plain = client.get(url).getvalue().decode()
        assert "mirror.example.org" not in plain
        assert "https://testserver" not in plain


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    """A database with the seed briefing, for gunicorn processes of its own."""
    var = tmp_path_factory.mktemp("served")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PAGE_CACHE_SECONDS", "FORWARDED_ALLOW_IPS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DEBUG="1",
        SECRET_KEY="forwarded-headers-test-" + "k" * 40,
        NEWSROOM_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        CACHE_DIR=str(var / "cache"),
        ALLOWED_HOSTS="127.0.0.1",
        WEB_CONCURRENCY="1",
        HOST="127.0.0.1",
    )
    for command in (["migrate", "--noinput"], ["import_briefing", "fixtures/briefing.txt"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return env


@pytest.mark.parametrize("trusted", [False, True], ids=["default", "proxy-trusted"])
def test_gunicorn_forwarder_headers_never_reach_the_next_reader(served_site, tmp_path, trusted):
    """The repo's gunicorn settings believe no forwarder header unless FORWARDED_ALLOW_IPS
    names the proxy; and even from a trusted proxy, what one request was told does not reach
    what the next reader gets."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**served_site, "PORT": str(port)}
    if trusted:
        env["FORWARDED_ALLOW_IPS"] = "127.0.0.1"
    env["CACHE_DIR"] = str(tmp_path / "cache")
    with open(tmp_path / "server.log", "w") as log:
        server = subprocess.Popen(
            [str(GUNICORN), "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(server, base)
            forged = {
                "SCRIPT_NAME": "/evil",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "evil.example",
                "X-Forwarded-Prefix": "/evil",
                "X-Forwarded-For": "203.0.113.9",
                "Forwarded": "for=203.0.113.9;host=evil.example;proto=https",
            }
            if not trusted:
                status, html = fetch(base + "/", forged)
                assert status == 200 and "/evil/" not in html  # not mounted at /evil
            status, html = fetch(base + "/evil/", forged)
            # A trusted proxy mounts the site at /evil; anyone else asked for a missing page.
            assert status == (200 if trusted else 404)
            if trusted:
                assert 'href="/evil/' in html
            story = fetch(base + "/feed/")[1].split("<link>")[2].split("</link>")[0]
            for url in ("/", "/feed/", "/sections/world/", story.removeprefix(base)):
                if trusted:
                    fetch(base + "/evil" + url, forged)
                for _ in range(2):
                    status, html = fetch(base + url)
                    assert status == 200, url
                    assert "/evil" not in html, url
                    assert "evil.example" not in html, url
                    assert "https://127.0.0.1" not in html, url
        finally:
            server.terminate()
            server.wait(timeout=20)


def wait_until_up(server, base):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited at start"
        try:
            if fetch(base + "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{base} did not come up")


# --- Cache flooding -----------------------------------------------------------------------


def random_word(rng, length=8):
    return "".join(rng.choices(string.ascii_letters + string.digits, k=length))


def flood_addresses(rng, story_url, count):
    """Made-up query strings on every kind of page: unknown parameters, words on pages that
    have no search, page numbers written every other way, duplicated parameters, searches
    for made-up words."""
    makers = [
        lambda: f"/?{random_word(rng)}={random_word(rng)}",
        lambda: f"/?q={random_word(rng)}",
        lambda: f"/?page={'0' * rng.randint(1, 6)}1",
        lambda: f"/?page=+1&{random_word(rng)}=1",
        lambda: f"/?page=1&page={'0' * rng.randint(1, 6)}1",
        lambda: f"/sections/world/?page=0{rng.randint(1, 2)}",
        lambda: f"/sections/world/?page={random_word(rng)}",
        lambda: f"/sections/world/?page={rng.randint(3, 10**9)}",
        lambda: f"{story_url}?q={random_word(rng)}",
        lambda: f"{story_url}?page={rng.randint(0, 10**9)}",
        lambda: f"/feed/?{random_word(rng)}=1",
        lambda: f"/sitemap.xml?p={rng.randint(2, 10**6)}",
        lambda: f"/search/?q={random_word(rng)}&utm_source={random_word(rng)}",
        lambda: f"/search/?q=++{random_word(rng)}++",
        # Canonical, but words nobody wrote about: nothing found, nothing cached.
        lambda: f"/search/?q={random_word(rng)}",
        lambda: f"/search/?q={random_word(rng)}&page={rng.randint(2, 9)}",
    ]
    return [rng.choice(makers)() for _ in range(count)]


def test_random_query_strings_never_evict_cached_pages(client, page_cache, settings, tmp_path):
    """With the default cache (newsroom.filecache.FileCache), made small so that 1,000 stored
    pages would overflow it several times, and culling on every write past the limit."""
    settings.CACHES = {
        "default": {
            "BACKEND": "newsroom.filecache.FileCache",
            "LOCATION": str(tmp_path / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 300},
        }
    }
    FileCache.CULL_INTERVAL, interval = 0.0, FileCache.CULL_INTERVAL
    try:
        for number in range(25):  # two pages of the section
            story = StoryFactory(published=True, section__slug="world", headline=f"Cached {number}")
        cached = ["/", "/?page=2", "/sections/world/", "/sections/world/?page=2", "/feed/"]
        cached.append(story.get_absolute_url())
        for url in cached * 2:
            assert client.get(url).status_code == 200
        rng = random.Random(11)
        flood = flood_addresses(rng, story.get_absolute_url(), 1000)
        for url in flood:
            assert client.get(url).status_code in (200, 301, 404), url
        for url in cached:
            assert from_page_cache(client.get(url)), f"{url} was evicted"
        for url in flood[:100]:  # none of them was cached
            assert not from_page_cache(client.get(url)), url
    finally:
        FileCache.CULL_INTERVAL = interval


def odd_host_spellings(rng, count):
    """Spellings of the test client's allowed host that ALLOWED_HOSTS lets through."""
    makers = [
        lambda: f"testserver:{rng.randrange(81, 65536)}",
        lambda: "".join(rng.choice([c, c.upper()]) for c in "testserver").replace(
            "testserver", "TESTSERVER"
        ),
        lambda: "testserver.",
        lambda: f"TestServer.:{rng.randrange(81, 65536)}",
    ]
    return [rng.choice(makers)() for _ in range(count)]


def test_host_spellings_never_evict_cached_pages(client, page_cache, settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "newsroom.filecache.FileCache",
            "LOCATION": str(tmp_path / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 300},
        },
        "fragments_off": django_settings.CACHES["fragments_off"],
    }
    FileCache.CULL_INTERVAL, interval = 0.0, FileCache.CULL_INTERVAL
    try:
        story = StoryFactory(published=True, section__slug="world", tags=["Peru"])
        cached = ["/", "/sections/world/", "/feed/", story.get_absolute_url()]
        for url in cached * 2:
            assert client.get(url).status_code == 200
        spellings = odd_host_spellings(random.Random(5), 1000)
        for number, host in enumerate(spellings):
            url = cached[number % len(cached)]
            assert client.get(url, HTTP_HOST=host).status_code == 200, host
        for url in cached:
            assert from_page_cache(client.get(url)), f"{url} was evicted"
        for host in spellings[:20]:
            assert not from_page_cache(client.get("/", HTTP_HOST=host)), host
    finally:
        FileCache.CULL_INTERVAL = interval


def test_host_spellings_store_no_pieces(client, discovery_newsroom, django_assert_num_queries):
    url = discovery_newsroom["live"].get_absolute_url()
    client.get(url)
    with django_assert_num_queries(0):  # the canonical host: pieces cached
        client.get(url)
    for host in ["TESTSERVER", "testserver.", "testserver:8080"]:
        # Rendered afresh every time, nothing stored (and no generation to look up): story
        # (with its section), bylines, tags, corrections, "More in", "Related", menu, footer
        # pages.
        with django_assert_num_queries(8):
            assert client.get(url, HTTP_HOST=host).status_code == 200
        with django_assert_num_queries(8):
            assert client.get(url, HTTP_HOST=host).status_code == 200
    # With the port the server listens on, it is a spelling of its own that is cached.
    client.get(url, HTTP_HOST="testserver:80")
    with django_assert_num_queries(0):
        client.get(url, HTTP_HOST="testserver:80")


@pytest.mark.parametrize(
    ("asked", "canonical"),
    [
        ("/?page=1", "/"),
        ("/?page=0001", "/"),
        ("/?page=+2", "/?page=2"),
        ("/?page=%202%20", "/?page=2"),
        ("/?page=02&page=3", "/?page=3"),
        ("/sections/world/?page=0002", "/sections/world/?page=2"),
        ("/search/?q=ships&page=01", "/search/?q=ships"),
        # A sitemap's children are numbered by ``?p=``, written the one way too.
        ("/sitemap-stories.xml?p=+1", "/sitemap-stories.xml"),
        ("/sitemap-stories.xml?p=%EF%BC%91", "/sitemap-stories.xml"),  # a full-width 1
        ("/sitemap-stories.xml?p=1", "/sitemap-stories.xml"),
        ("/sitemap-stories.xml?p=%202", "/sitemap-stories.xml?p=2"),
        ("/sitemap-stories.xml?p=002", "/sitemap-stories.xml?p=2"),
        ("/sitemap-tags.xml?p=+1", "/sitemap-tags.xml"),
        ("/sitemap-tags.xml?p=%D9%A2", "/sitemap-tags.xml?p=2"),  # an Arabic-Indic 2
    ],
)
def test_page_numbers_written_another_way_redirect_to_the_canonical_address(
    client, discovery_newsroom, asked, canonical
):
    response = client.get(asked)
    assert response.status_code == 301
    assert response["Location"] == canonical


@pytest.mark.parametrize(
    "url",
    [
        "/?q=harbours",  # no search on the front page
        "/?utm_source=mail",
        "/search/?q=%20harbours",  # rendered as typed, but not cached
        "/search/?q=harbours%20%20ships",
        "/search/?q=cafe%CC%81",  # not NFC
        "/search/?q=harbours&q=ships",
        "/?page=last",
        "/sitemap.xml?p=1",
    ],
)
def test_addresses_that_are_not_canonical_are_never_cached(
    client, discovery_newsroom, page_cache, url
):
    first = client.get(url)
    assert first.status_code in (200, 404)
    assert not from_page_cache(client.get(url))


def test_search_words_and_page_key_the_cached_search_page(client, discovery_newsroom, page_cache):
    client.get("/search/?q=harbours")
    assert from_page_cache(client.get("/search/?q=harbours"))
    assert not from_page_cache(client.get("/search/?q=ships"))


# --- Conditional requests -----------------------------------------------------------------

# Streamed, so kept by a shared cache in front only (stories.reader.sitemaps.story_sitemap).
NOT_PAGE_CACHED = {"/sitemap-stories.xml"}
VALIDATED = [
    "/feed/",
    "/feed/atom/",
    "/sections/world/feed/",
    "/tags/china/feed/atom/",
    "/sitemap.xml",
    "/sitemap-stories.xml",
    "/sitemap-sections.xml",
]


@pytest.mark.parametrize("path", ["uncached", "page-cache-hit", "fast-hit"])
@pytest.mark.parametrize("url", VALIDATED)
def test_validators_are_honoured_cached_or_not(client, discovery_newsroom, settings, path, url):
    """If-Modified-Since and If-None-Match get a 304 on every path a response can take:
    rendered, from the page cache behind the session check, or from the fast hit path."""
    settings.PAGE_CACHE_SECONDS = 0 if path == "uncached" else 300
    if path == "page-cache-hit":
        # A session cookie (of no one) skips the fast hit path.
        client.cookies[django_settings.SESSION_COOKIE_NAME] = "no-such-session"
    first = client.get(url)
    assert first.status_code == 200
    last_modified, etag = first["Last-Modified"], first["ETag"]
    if path != "uncached" and url not in NOT_PAGE_CACHED:
        assert from_page_cache(client.get(url))
    since = client.get(url, headers={"if-modified-since": last_modified})
    assert since.status_code == 304
    later = http_date((datetime.now(UTC) + timedelta(days=1)).timestamp())
    assert client.get(url, headers={"if-modified-since": later}).status_code == 304
    earlier = http_date(datetime(2000, 1, 1, tzinfo=UTC).timestamp())
    stale = client.get(url, headers={"if-modified-since": earlier})
    assert stale.status_code == 200 and stale.getvalue() == first.getvalue()
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304
    # If-None-Match decides when both are sent (RFC 9110 13.2.2), cached or not.
    both = client.get(url, headers={"if-none-match": '"other"', "if-modified-since": later})
    assert both.status_code == 200


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize(
    ("url", "change"),
    [
        ("/sitemap-tags.xml", "untag"),
        ("/sitemap-stories.xml", "unpublish"),
        ("/tags/china/feed/", "edit deck"),
        ("/feed/atom/", "unpublish"),
    ],
)
def test_a_removal_or_an_edit_is_not_answered_not_modified(
    client, discovery_newsroom, settings, url, change, cached
):
    """Last-Modified follows removals and edits too, not only the newest date the page
    shows: a crawler asking If-Modified-Since after a story left gets the page again."""
    settings.PAGE_CACHE_SECONDS = 300 if cached else 0
    live = discovery_newsroom["live"]
    other = StoryFactory(published=True, section=live.section, tags=["China"])
    first = client.get(url)
    assert first.status_code == 200
    first_body = first.getvalue()  # now: a streamed body is read as it is sent
    since = first["Last-Modified"]
    assert client.get(url, headers={"if-modified-since": since}).status_code == 304
    story = Story.objects.get(pk=other.pk)
    # The change comes a few seconds later, as a real one does (HTTP dates are to the second).
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=5), tick=True):
        if change == "untag":
            story.tags.remove("China")
            live.tags.remove("China")
        elif change == "unpublish":
            story.status = Story.Status.DRAFT
            story.save()
        else:
            live.refresh_from_db()
            live.deck = "A new deck."
            live.save()
        again = client.get(url, headers={"if-modified-since": since})
    assert again.status_code == 200
    assert again.getvalue() != first_body
