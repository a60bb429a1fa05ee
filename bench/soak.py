"""`make soak`: readers load the served site while an editor publishes and edits stories.

Builds its own newsroom (live stories and drafts), serves it with gunicorn (several workers,
DEBUG off, as `make serve`), and for ``--duration`` seconds runs reader threads fetching
pages, feeds, search and sitemaps while one editor, logged into the admin over HTTP,
alternately publishes a draft (the "Publish now" action) and rewrites a live story's
headline (the change form). After each edit the editor reads the story's public page as an
anonymous reader, and at the end every edit is checked again, over HTTP and in the database.

Passes (exit 0) only with zero 5xx answers, zero failed requests, every edit saved and every
edit visible. Reports, and writes its own "## Soak" section of bench/RESULTS.md (the other
sections are left as they are).

    python bench/soak.py [--duration 60] [--readers 8] [--workers 4] [--results PATH]
    python bench/soak.py --through-varnish     # `make soak-cache`

Reports the page cache's hit rate among reader pages (the server's ``X-Page-Cache`` header,
``PAGE_CACHE_STATUS_HEADER``). With ``--through-varnish`` the readers and the editor go
through Varnish (deploy/varnish.vcl) on SOAK_PORT in front of gunicorn on SOAK_PORT+1,
purged by key through the background worker, and the report gives Varnish's hit rate
(``X-Cache``); an edit then counts as seen once a reader gets it within a second (the
purge runs after commit, in the worker). Writes "## Soak through Varnish" then.

Everything runs on 127.0.0.1 (SOAK_PORT, default 8392). SQLite under bench/work/soak/ by
default; with DATABASE_URL pointing at PostgreSQL, a database of its own ("_soak" appended,
created afresh). The page cache is on only with REDIS_URL: several workers need a shared
cache for an edit to reach every worker's pages at once.
"""

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# The soak's editor fills admin forms as the two-servers test does (tests/htmlforms.py).
sys.path.insert(0, str(ROOT))
from tests.htmlforms import FormFields  # noqa: E402

WORK = BENCH_DIR / "work" / "soak"
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
HOST = "127.0.0.1"
EDITOR = "soak-editor"
PASSWORD = secrets.token_urlsafe(16)
SECRET = secrets.token_urlsafe(50)
SECTION_HEADING = "## Soak"


def log(message):
    print(f"[soak] {message}", flush=True)


def database_url():
    given = os.environ.get("DATABASE_URL", "")
    if not given or given.startswith("sqlite"):
        return f"sqlite:///{WORK / 'soak.sqlite3'}"
    parts = urlsplit(given)
    name = (parts.path.lstrip("/") or "newsroom") + "_soak"
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def django_env(db_url, **extra):
    env = {
        key: value
        for key, value in os.environ.items()
        # CACHE_DIR too: without Redis the workers must share the default file cache, as
        # they do in production, or an edit would reach only the worker that made it.
        if key not in {"DEBUG", "PAGE_CACHE_SECONDS", "HTTPS", "DATABASE_URL", "CACHE_DIR"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DATABASE_URL=db_url,
        SECRET_KEY=SECRET,
        NEWSROOM_VAR_DIR=str(WORK / "var"),
        ALLOWED_HOSTS=HOST,
        TIME_ZONE="UTC",
        PYTHONPATH=str(ROOT),
        PAGE_CACHE_SECONDS="300" if os.environ.get("REDIS_URL") else "0",
        PAGE_CACHE_STATUS_HEADER="1",
        **extra,
    )
    return env


SETUP = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.cache import cache
sys.path.insert(0, "bench")
from fakenews import briefing_text
from django.utils.encoding import iri_to_uri
from stories.models import Story

live, drafts, password, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
call_command("migrate", verbosity=0)
call_command("collectstatic", "--noinput", verbosity=0)
cache.clear()
(work / "live.txt").write_text(briefing_text(live, seed=11, words=300))
(work / "drafts.txt").write_text(briefing_text(drafts, seed=12, words=300))
call_command("import_briefing", str(work / "live.txt"), "--section", "world", verbosity=0)
call_command("import_briefing", str(work / "drafts.txt"), "--section", "politics",
             "--status", "draft", verbosity=0)
user = User.objects.create_user("soak-editor", password=password, is_staff=True)
user.groups.add(Group.objects.get(name="Editor"))
stories = Story.objects.select_related("section").prefetch_related("tags", "bylines")
urls = ["/", "/?page=2", "/sections/world/", "/sections/politics/", "/feed/", "/feed/atom/",
        "/sections/world/feed/", "/sitemap.xml", "/sitemap-stories.xml", "/sitemap-news.xml",
        "/search/?q=government", "/search/?q=election+budget", "/robots.txt"]
for story in stories.filter(status="published")[:200]:
    urls.append(story.get_absolute_url())
    urls += [f"/tags/{tag.slug}/" for tag in story.tags.all()][:1]
    urls += [byline.get_absolute_url() for byline in story.bylines.all()][:1]
print(json.dumps({
    # Unicode slugs (a tag "Curaçao") go over the wire percent-encoded, as browsers send them.
    "urls": sorted({iri_to_uri(url) for url in urls}),
    "live": [
        [s.pk, iri_to_uri(s.get_absolute_url())] for s in stories.filter(status="published")[:100]
    ],
    "drafts": [[s.pk, s.slug] for s in stories.filter(status="draft")],
}))
"""

FINAL_STATE = """
import json, sys
import django
django.setup()
from django.utils.encoding import iri_to_uri
from stories.models import Story
ids = json.loads(sys.argv[1])
print(json.dumps({
    str(pk): [headline, status, url]
    for pk, headline, status, url in (
        (s.pk, s.headline, s.status, iri_to_uri(s.get_absolute_url()) if s.is_live() else None)
        for s in Story.objects.filter(pk__in=ids)
    )
}))
"""


class Server:
    """A process we started (gunicorn by default), stopped by its own pid only."""

    def __init__(self, env, command=None, name="gunicorn"):
        self.log = open(WORK / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command or [GUNICORN, "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def fetch(opener, url, data=None, timeout=30, headers=None):
    """(status, final URL, body); status 0 for a failed request (refused, reset, timeout).
    ``headers``, a dict, is filled with the response's headers."""
    try:
        with opener.open(url, data=data, timeout=timeout) as response:
            if headers is not None:
                headers.update(response.headers.items())
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode(errors="replace")
    except OSError as error:
        return 0, url, repr(error)


def hit_rate(counts):
    total = counts.get("HIT", 0) + counts.get("MISS", 0)
    return round(100 * counts.get("HIT", 0) / total, 1) if total else None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies, self.statuses, self.failures = [], {}, []
        # "HIT"/"MISS" counts of the app's page cache and of Varnish (when in front).
        self.page_cache, self.varnish = {}, {}
        self.not_found = []  # every address read exists: a 404 is worth a look, not a failure

    def add(self, url, status, seconds, detail="", headers=None):
        with self.lock:
            headers = headers or {}
            if headers.get("X-Cache"):
                self.varnish[headers["X-Cache"]] = self.varnish.get(headers["X-Cache"], 0) + 1
            # Through Varnish, only answers it fetched from the app say what the page cache
            # did (a Varnish hit repeats the header it stored).
            page_cache = headers.get("X-Page-Cache") if headers.get("X-Cache") != "HIT" else None
            if page_cache:
                self.page_cache[page_cache] = self.page_cache.get(page_cache, 0) + 1
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 0 or status >= 500:
                self.failures.append(f"{status} {url} {detail[:200]}")
            elif status == 404 and len(self.not_found) < 20:
                self.not_found.append(url)


def reader(base, urls, stop, stats, seed):
    rng = random.Random(seed)
    opener = urllib.request.build_opener()
    while not stop.is_set():
        url = rng.choice(urls)
        started = time.perf_counter()
        headers = {}
        status, _, body = fetch(opener, base + url, headers=headers)
        seconds = time.perf_counter() - started
        stats.add(url, status, seconds, body if status != 200 else "", headers)


def warm(base, urls):
    opener = urllib.request.build_opener()
    for url in urls:
        fetch(opener, base + url)


class Editor:
    """One editor in the admin, over HTTP: publishes drafts and rewrites live headlines."""

    def __init__(self, base, live, drafts, visible_within=0.0):
        self.base = base
        # 0: the next reader sees an edit at once; behind Varnish, within this many seconds
        # (the purge runs in the worker after commit).
        self.visible_within = visible_within
        self.delays = []
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.reader = urllib.request.build_opener()
        self.live = [tuple(item) for item in live]
        self.drafts = [tuple(item) for item in drafts]
        self.expected = {}  # story id -> (public path or None, headline)
        self.failures = []
        self.published = self.edited = self.seen_at_once = 0

    def csrf_token(self):
        for cookie in self.cookies():
            if cookie.name == "csrftoken":
                return cookie.value
        return ""

    def cookies(self):
        for handler in self.opener.handlers:
            if isinstance(handler, urllib.request.HTTPCookieProcessor):
                return list(handler.cookiejar)
        return []

    def submit(self, path, form_id, changes=(), adjust=None):
        status, _, html = fetch(self.opener, self.base + path)
        if status != 200:
            return status, path, html
        parser = FormFields(form_id)
        parser.feed(html)
        changes = dict(changes)
        # (name, value) pairs as the browser sends them: a multiple select (the story's
        # tags) sends one pair per value, which a dict would cut down to the last one.
        fields = [pair for pair in parser.fields if pair[0] not in changes]
        fields += [[name, value] for name, value in changes.items()]
        if adjust:
            adjust(fields)
        data = urllib.parse.urlencode([tuple(pair) for pair in fields]).encode()
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Referer": self.base + path}
        )
        return fetch(self.opener, request)

    def login(self):
        status, landed, body = self.submit(
            "/admin/login/?next=/admin/",
            "login-form",
            {"username": EDITOR, "password": PASSWORD},
        )
        if not landed.endswith("/admin/"):
            raise RuntimeError(f"editor login failed: {status} {body[:300]}")

    def publish_draft(self):
        pk, slug = self.drafts.pop()
        status, _, html = fetch(self.opener, self.base + "/admin/stories/story/")
        data = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": self.csrf_token(),
                "action": "publish_now",
                "_selected_action": str(pk),
                "index": "0",
            }
        ).encode()
        request = urllib.request.Request(
            self.base + "/admin/stories/story/",
            data=data,
            headers={"Referer": self.base + "/admin/stories/story/"},
        )
        status, _, html = fetch(self.opener, request)
        if status != 200 or "Published: 1 story" not in html:
            self.failures.append(f"publish {pk}: {status} {html[:200]}")
            return
        self.published += 1
        today = datetime.now(UTC).date()
        path = f"/{today.year}/{today.month:02}/{today.day:02}/{urllib.parse.quote(slug)}/"
        status, page = self.read_until(path, lambda status, page: status == 200)
        headline = re.search(r'<h1 class="story__headline">(.*?)</h1>', page)
        if status != 200 or not headline:
            self.failures.append(f"published {pk} not visible at {path}: {status}")
            return
        self.expected[pk] = (path, headline.group(1))
        self.live.append((pk, path))
        self.seen_at_once += 1

    def edit_headline(self, number):
        pk, path = random.choice(self.live)
        headline = f"Soak edit {number} of story {pk}"

        def only_existing_inline_rows(fields):
            values = dict(fields)
            for pair in fields:
                if pair[0].endswith("-TOTAL_FORMS"):
                    pair[1] = values[pair[0].replace("TOTAL", "INITIAL")]

        status, landed, html = self.submit(
            f"/admin/stories/story/{pk}/change/",
            "story_form",
            {"headline": headline},
            only_existing_inline_rows,
        )
        if not landed.endswith("/admin/stories/story/"):
            errors = re.findall(r'class="errorlist[^>]*>(.*?)</ul>', html)
            self.failures.append(f"edit {pk}: {status} {errors[:2]}")
            return
        self.edited += 1
        self.expected[pk] = (path, headline)
        status, page = self.read_until(path, lambda status, page: headline in page)
        if status == 200 and headline in page:
            self.seen_at_once += 1
        else:
            self.failures.append(f"edit {pk} not visible at once at {path}: {status}")

    def read_until(self, path, seen):
        """Read ``path`` as a reader until ``seen(status, page)``, for up to
        ``visible_within`` seconds (once, if 0); the time it took is recorded."""
        start = time.monotonic()
        while True:
            status, _, page = fetch(self.reader, self.base + path)
            waited = time.monotonic() - start
            if seen(status, page) or waited >= self.visible_within:
                if seen(status, page):
                    self.delays.append(waited)
                return status, page
            time.sleep(0.02)

    def run(self, stop, pause):
        self.login()
        number = 0
        while not stop.is_set():
            number += 1
            try:
                if number % 2 and self.drafts:
                    self.publish_draft()
                else:
                    self.edit_headline(number)
            except Exception as error:  # noqa: BLE001 - a soak reports every failure
                self.failures.append(f"editor step {number}: {error!r}")
            stop.wait(pause)


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def soak(args):
    WORK.mkdir(parents=True, exist_ok=True)
    for old in WORK.glob("soak.sqlite3*"):
        old.unlink()
    shutil.rmtree(WORK / "var", ignore_errors=True)
    db_url = database_url()
    backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
    port = int(os.environ.get("SOAK_PORT", "8392"))
    app_port = port + 1 if args.through_varnish else port
    extra = {}
    if args.through_varnish:
        extra = {
            "BEHIND_PROXY": "1",
            "FRONTEND_CACHE_VARNISH_URL": f"http://{HOST}:{port}",
            "CDN_CACHE_SECONDS": "3600",
        }
    env = django_env(
        db_url, PORT=str(app_port), HOST=HOST, WEB_CONCURRENCY=str(args.workers), **extra
    )
    log(f"{backend}: building a newsroom of {args.stories} live stories and 60 drafts")
    setup = subprocess.run(
        [PYTHON, "-c", SETUP, str(args.stories), "60", PASSWORD, str(WORK)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    world = json.loads(setup.stdout.strip().splitlines()[-1])
    base = f"http://{HOST}:{port}"
    servers = [Server(env)]
    if args.through_varnish:
        vcl = (ROOT / "deploy" / "varnish.vcl").read_text()
        (WORK / "varnish.vcl").write_text(vcl.replace('.port = "8001";', f'.port = "{app_port}";'))
        varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
        shutil.rmtree(WORK / "varnish", ignore_errors=True)
        varnish = [varnishd, "-F", "-j", "none", "-a", f"{HOST}:{port}", "-s", "malloc,256m"]
        varnish += ["-f", str(WORK / "varnish.vcl"), "-n", str(WORK / "varnish")]
        servers.append(Server(env, varnish, "varnish"))
        # The background worker: it purges Varnish after each edit commits.
        worker = [PYTHON, "manage.py", "webhook_worker"]
        servers.append(Server(env, worker, "worker"))
    try:
        deadline = time.monotonic() + 30
        while fetch(urllib.request.build_opener(), base + "/healthz", timeout=2)[0] != 200:
            if any(server.process.poll() is not None for server in servers) or (
                time.monotonic() > deadline
            ):
                raise RuntimeError("the servers did not start; see bench/work/soak/*.log")
            time.sleep(0.2)
        log(
            f"{args.duration}s: {args.readers} readers on {len(world['urls'])} addresses, "
            f"one editor, gunicorn {args.workers} workers, page cache "
            f"{'on (Redis)' if env['PAGE_CACHE_SECONDS'] != '0' else 'off (no REDIS_URL)'}"
        )
        # Readers between edits: every address read once before the clock starts, so the
        # hit rates measure what edits cost, not a cold start.
        warm_started = time.monotonic()
        warm_urls = list(world["urls"])
        warm_threads = [
            threading.Thread(target=warm, args=(base, warm_urls[index :: args.readers]))
            for index in range(args.readers)
        ]
        for thread in warm_threads:
            thread.start()
        for thread in warm_threads:
            thread.join()
        log(f"warmed {len(warm_urls)} addresses in {time.monotonic() - warm_started:.0f} s")
        stats, stop = Stats(), threading.Event()
        editor = Editor(base, world["live"], world["drafts"], 1.0 if args.through_varnish else 0.0)
        threads = [
            threading.Thread(target=reader, args=(base, world["urls"], stop, stats, seed))
            for seed in range(args.readers)
        ]
        threads.append(threading.Thread(target=editor.run, args=(stop, args.edit_pause)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        stop.wait(args.duration)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started

        # Afterwards: every edit, over HTTP as a reader and in the database.
        plain = urllib.request.build_opener()
        lost = []
        for pk, (path, headline) in editor.expected.items():
            status, _, page = fetch(plain, base + path)
            if status != 200 or headline not in page:
                lost.append(f"story {pk}: {status} at {path}, expected “{headline}”")
        final = subprocess.run(
            [PYTHON, "-c", FINAL_STATE, json.dumps(list(editor.expected))],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        stored = json.loads(final.stdout.strip().splitlines()[-1])
        for pk, (path, headline) in editor.expected.items():
            saved_headline, status, url = stored[str(pk)]
            if saved_headline != headline or status != "published" or url != path:
                lost.append(f"story {pk} in the database: {saved_headline!r} {status} {url}")
    finally:
        for server in reversed(servers):
            server.stop()

    requests = sum(stats.statuses.values())
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "backend": backend,
        "page_cache": env["PAGE_CACHE_SECONDS"] != "0",
        "workers": args.workers,
        "readers": args.readers,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "rps": round(requests / elapsed, 1) if elapsed else 0,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "server_errors": sum(v for k, v in stats.statuses.items() if k >= 500),
        "failed_requests": stats.statuses.get(0, 0),
        "p50_ms": round(1000 * percentile(stats.latencies, 0.5), 1) if requests else None,
        "p99_ms": round(1000 * percentile(stats.latencies, 0.99), 1) if requests else None,
        "published": editor.published,
        "edited": editor.edited,
        "seen_at_once": editor.seen_at_once,
        "checked_after": len(editor.expected),
        "lost": lost,
        "editor_failures": editor.failures,
        "request_failures": stats.failures[:20],
        "not_found": stats.not_found,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "through_varnish": args.through_varnish,
        "page_cache_hits": stats.page_cache,
        "page_cache_hit_rate": hit_rate(stats.page_cache),
        "varnish_hits": stats.varnish,
        "varnish_hit_rate": hit_rate(stats.varnish),
        "edit_pause": args.edit_pause,
        "visible_p50_ms": round(1000 * percentile(editor.delays, 0.5), 1)
        if editor.delays
        else None,
        "visible_max_ms": round(1000 * max(editor.delays), 1) if editor.delays else None,
    }
    results["passed"] = not (
        results["server_errors"]
        or results["failed_requests"]
        or lost
        or editor.failures
        or not editor.expected
    )
    return results


def report(results):
    verdict = "PASS" if results["passed"] else "FAIL"
    heading = SECTION_HEADING + (" through Varnish" if results["through_varnish"] else "")
    front = (
        "Varnish (deploy/varnish.vcl) in front of gunicorn, purged by key through the worker"
        if results["through_varnish"]
        else "gunicorn"
    )
    lines = [
        heading,
        "",
        f"`make soak` ({results['date']}): {verdict}. {results['seconds']} s of "
        f"{results['readers']} reader threads against {front} with {results['workers']} "
        f"workers ({results['backend']}, page cache "
        f"{'on, Redis' if results['page_cache'] else 'off: no REDIS_URL'}), while one editor in "
        "the admin, over HTTP, alternately published a draft and rewrote a live headline "
        f"(one every {results['edit_pause']} s); load average after: {results['load']}.",
        "",
        "| requests | req/s | 5xx | failed requests | p50 ms | p99 ms | published | edited "
        "| visible at once | stories re-checked after | lost |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {results['requests']} | {results['rps']} | {results['server_errors']} | "
        f"{results['failed_requests']} | {results['p50_ms']} | {results['p99_ms']} | "
        f"{results['published']} | {results['edited']} | {results['seen_at_once']} | "
        f"{results['checked_after']} | {len(results['lost'])} |",
        "",
        "Statuses: " + ", ".join(f"{k}: {v}" for k, v in results["statuses"].items()) + ".",
        "",
        "Page-cache hit rate among reader pages it looked up (behind Varnish: among Varnish's "
        f"misses): {results['page_cache_hit_rate']} % "
        f"({results['page_cache_hits']})."
        + (
            f" Varnish hit rate: {results['varnish_hit_rate']} % ({results['varnish_hits']}); "
            f"an edit reached the next reader through Varnish after "
            f"{results['visible_p50_ms']} ms (median), {results['visible_max_ms']} ms at most."
            if results["through_varnish"]
            else ""
        ),
    ]
    for name in ("lost", "editor_failures", "request_failures", "not_found"):
        if results[name]:
            lines.append(f"{name.replace('_', ' ').capitalize()}: " + "; ".join(results[name]))
    return "\n".join(lines) + "\n"


def write_section(path, section):
    """Replace (or append) this script's section of RESULTS.md, leaving the others alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    heading = section.splitlines()[0]
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--readers", type=int, default=8, help="concurrent reader threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--stories", type=int, default=300, help="live stories to start with")
    parser.add_argument("--edit-pause", type=float, default=0.5, help="seconds between edits")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--no-results", action="store_true", help="print only; write nothing")
    parser.add_argument(
        "--through-varnish", action="store_true", help="readers and editor through Varnish"
    )
    args = parser.parse_args()
    results = soak(args)
    text = report(results)
    print()
    print(text)
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    if not args.no_results:
        write_section(args.results, text)
        log(f"written to {args.results}")
    sys.exit(0 if results["passed"] else 1)


if __name__ == "__main__":
    main()
