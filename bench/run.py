"""`make bench`: build a large newsroom, serve it with gunicorn, load it with wrk, report.

Reports, never asserts. Everything runs on 127.0.0.1; databases, logs and the nginx
reference live in bench/work/ (git-ignored). The latest results go to bench/RESULTS.md.

    python bench/run.py [--stories 10000] [--duration 10] [--connections 4] [--skip-import]

SQLite by default; with DATABASE_URL pointing at PostgreSQL the bench uses that server
with "_bench" appended to the database name (created if missing), never the database
itself. Ports: BENCH_PORT (default 8390) for gunicorn and the next one for nginx.

Three gunicorn runs: page cache off (the targets' main case; story cards, counts and the
section menu are still cached per content generation, see stories/delivery/fragments.py), page cache
and fragments both off (every page rendered from scratch, for comparison), and page cache on.
GUNICORN_WORKER_CLASS / GUNICORN_THREADS / WEB_CONCURRENCY pick the serving stack.

Every server runs with ``floor.settings`` (bench/floor/): the site's settings with the floor's
two pages mounted, a careful plain-Django story page and section listing rendering what ours
render. The from-scratch run loads them too, and our pages there are measured against them.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / "work"
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"
SMALL_STORIES = 100
CACHE_OFF, CACHE_ON = "0", "300"


def log(message):
    print(f"[bench] {message}", flush=True)


# --- databases -----------------------------------------------------------------------


def database_urls():
    """(big newsroom, small newsroom, importer) database URLs, all the bench's own."""
    given = os.environ.get("DATABASE_URL", "")
    if not given or given.startswith("sqlite"):
        return tuple(f"sqlite:///{WORK / name}.sqlite3" for name in ("newsroom", "small", "import"))
    parts = urlsplit(given)
    base = parts.path.lstrip("/") or "newsroom"
    return tuple(
        urlunsplit(parts._replace(path=f"/{base}_bench{suffix}"))
        for suffix in ("", "_small", "_import")
    )


def fresh_database(url, *, drop=False):
    """Create a PostgreSQL database if missing (or anew); remove a SQLite file if asked."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        if drop:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists and drop:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def django_env(database_url, **extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DEBUG", "PAGE_CACHE_SECONDS", "FRAGMENT_CACHE_SECONDS", "REDIS_URL", "HTTPS"}
    }
    env.update(
        # The site's settings with the floor's pages mounted (bench/floor/settings.py).
        DJANGO_SETTINGS_MODULE="floor.settings",
        DATABASE_URL=database_url,
        SECRET_KEY=BENCH_SECRET,
        NEWSROOM_VAR_DIR=str(WORK / "var"),
        ALLOWED_HOSTS=HOST,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH_DIR)]),
        # The figures are for the per-process memory cache (nothing is edited during a run);
        # without Redis, servers default to a shared file cache in var/cache instead.
        CACHE_DIR="",
        # wrk is one client asking thousands of times a second: the API's per-address
        # rate limit would answer it with 429s, which measure nothing.
        API_RATE_ANONYMOUS="1000000/second",
        **extra,
    )
    return env


def run_python(args, env, **kwargs):
    return subprocess.run([PYTHON, *args], cwd=ROOT, env=env, check=True, **kwargs)


BENCH_SECRET = secrets.token_urlsafe(50)


# --- processes and /proc -------------------------------------------------------------


def process_tree(pid):
    """pid and all its descendants (gunicorn master and workers; nginx master and workers)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_ticks(pids):
    """User + system clock ticks of these processes (live ones; workers do not restart)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def peak_memory_mb(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


def wait_for(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


class Server:
    """A server process group we started, stopped by its own pid only."""

    def __init__(self, args, env, log_name):
        self.log = open(WORK / log_name, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_gunicorn(database_url, port, page_cache, fragments=CACHE_ON, **extra):
    env = django_env(
        database_url,
        PORT=str(port),
        HOST=HOST,
        WEB_CONCURRENCY=os.environ.get("WEB_CONCURRENCY", "2"),
        PAGE_CACHE_SECONDS=page_cache,
        FRAGMENT_CACHE_SECONDS=fragments,
        **extra,
    )
    server = Server(
        [GUNICORN, "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
        env,
        f"gunicorn-cache-{page_cache}-{fragments}.log",
    )
    wait_for(f"http://{HOST}:{port}/healthz")
    return server


def start_nginx(port, html):
    root = WORK / "nginx"
    shutil.rmtree(root, ignore_errors=True)
    (root / "html").mkdir(parents=True)
    (root / "html" / "story.html").write_bytes(html)
    config = root / "nginx.conf"
    config.write_text(
        f"""
daemon off;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_timeout 0;
    default_type text/html;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{
        listen {HOST}:{port};
        root {root}/html;
    }}
}}
"""
    )
    server = Server(["nginx", "-c", str(config), "-p", str(root)], os.environ.copy(), "nginx.log")
    wait_for(f"http://{HOST}:{port}/story.html")
    return server


def start_varnish(port, app_port):
    """Varnish (deploy/varnish.vcl) on ``port`` in front of the app on ``app_port``."""
    root = WORK / "varnish"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    vcl = (ROOT / "deploy" / "varnish.vcl").read_text()
    (root / "newsroom.vcl").write_text(vcl.replace('.port = "8001";', f'.port = "{app_port}";'))
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    server = Server(
        [varnishd, "-F", "-j", "none", "-a", f"{HOST}:{port}", "-s", "malloc,256m"]
        + ["-f", str(root / "newsroom.vcl"), "-n", str(root / "state")],
        os.environ.copy(),
        "varnish.log",
    )
    wait_for(f"http://{HOST}:{port}/healthz")
    return server


def varnish_row(database_url, port, story_path, args):
    """The story page through Varnish, as readers get it between edits (a cache hit), with
    the app behind it as `make serve-cache` runs it."""
    app = start_gunicorn(
        database_url,
        port + 1,
        CACHE_ON,
        BEHIND_PROXY="1",
        CDN_CACHE_SECONDS="3600",
        FRONTEND_CACHE_VARNISH_URL=f"http://{HOST}:{port}",
    )
    try:
        varnish = start_varnish(port, port + 1)
        try:
            url = f"http://{HOST}:{port}{story_path}"
            fetch(url)
            row = run_wrk(url, varnish.pid, args)
            row["path"] = story_path
            row["bytes"] = len(fetch(url)[1])
            return row
        finally:
            varnish.stop()
    finally:
        app.stop()


# --- wrk -----------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_duration_ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * UNITS[match.group(2)]


def run_wrk(url, server_pid, args):
    pids = process_tree(server_pid)
    before = cpu_ticks(pids)
    completed = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    after = cpu_ticks(pids)
    output = completed.stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    cpu_ms = (after - before) / CLOCK_TICKS * 1000
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": parse_duration_ms(latency["50"]),
        "p99_ms": parse_duration_ms(latency["99"]),
        "cpu_ms_per_request": cpu_ms / requests if requests else None,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


# --- the steps -----------------------------------------------------------------------


def page_urls(database_url):
    """The pages to load, picked from the built newsroom (a typical story and tag)."""
    script = """
import json
import django
django.setup()
from django.db.models import Count
from stories.models import Byline, Story
from taggit.models import Tag
stories = Story.objects.live()
# A story page with everything a story can show (lead image, corrections), if any has.
full = stories.filter(lead_image__isnull=False, corrections__isnull=False).distinct()
full = full if full.exists() else stories
story = full.order_by("-published_at")[full.count() // 2]
tags = Tag.objects.annotate(n=Count("stories_taggedstory_items")).order_by("-n", "pk")
tag = tags[tags.count() // 2]
bylines = Byline.objects.annotate(n=Count("story_bylines")).order_by("-n", "pk")
byline = bylines[bylines.count() // 2]
world = stories.filter(section__slug="world").count()
# Page 100 in the big newsroom; the last page of the section in a small one.
deep = min(100, max(1, -(-world // 20)))
print(json.dumps({
    "story": story.get_absolute_url(), "tag": f"/tags/{tag.slug}/", "deep": deep,
    "byline": byline.get_absolute_url(), "story_id": story.pk, "story_slug": story.slug,
}))
"""
    completed = run_python(["-c", script], django_env(database_url), capture_output=True, text=True)
    picked = json.loads(completed.stdout)
    return picked, [
        ("/healthz", "/healthz"),
        ("home", "/"),
        ("section p1", "/sections/world/"),
        ("section p100", f"/sections/world/?page={picked['deep']}"),
        ("tag", picked["tag"]),
        ("byline", picked["byline"]),
        ("story", picked["story"]),
        ("search", "/search/?q=government"),
        ("feed", "/feed/"),
        # The read API (stories/api/): a page of 20 stories in ninjs, and one story.
        ("api stories", "/api/v1/stories/"),
        ("api story", f"/api/v1/stories/{picked['story_id']}/"),
    ]


# Rows of the from-scratch table measured against the floor's pages (bench/floor/): the
# story page against the floor's story, every listing against the floor's section listing.
FLOOR_OF = {
    "story": "floor: story",
    "home": "floor: listing",
    "section p1": "floor: listing",
    "section p100": "floor: listing",
    "tag": "floor: listing",
    "byline": "floor: listing",
}


def with_floor(urls, floors):
    """``urls`` with each floor page just before the first row measured against it: rows
    measured minutes apart on a shared machine see different loads, and the ratio is what
    the target reads."""
    floors, ordered = dict(floors), []
    for name, path in urls:
        reference = FLOOR_OF.get(name)
        if reference in floors:
            ordered.append((reference, floors.pop(reference)))
        ordered.append((name, path))
    return ordered + list(floors.items())


def floor_urls(picked):
    """The floor's story page (the story ours shows) and its listing (section page 1)."""
    return [
        ("floor: story", f"/floor/story/{picked['story_slug']}/"),
        ("floor: listing", "/floor/sections/world/"),
    ]


QUERY_COUNT_SCRIPT = """
import json, sys
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from stories.delivery import surrogates
client = Client(HTTP_HOST="127.0.0.1")
counts = {}


def count(url):
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    return len(queries.captured_queries) if status == 200 else f"HTTP {status}"


for name, url in json.loads(sys.argv[1]):
    client.get(url)  # first-request work (connections, templates) is not per page
    surrogates.stamp({surrogates.ALL})  # an edit to everything: the next view renders afresh
    after_an_edit = count(url)
    counts[name] = f"{after_an_edit}·{count(url)}"
print(json.dumps(counts))
"""


def query_counts(database_url, urls):
    completed = run_python(
        ["-c", QUERY_COUNT_SCRIPT, json.dumps(urls)],
        django_env(database_url, PAGE_CACHE_SECONDS=CACHE_OFF),
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


IMPORT_SCRIPT = """
import json, resource, sys, time
import django
django.setup()
from django.core.management import call_command
from stories.importer import import_briefings, read_briefing_file
call_command("migrate", verbosity=0)
started = time.perf_counter()
result = import_briefings([read_briefing_file(sys.argv[1])], section="world")
seconds = time.perf_counter() - started
print(json.dumps({
    "counts": result.counts,
    "seconds": seconds,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def importer_figures(database_url, stories):
    sys.path.insert(0, str(BENCH_DIR))
    from fakenews import briefing_text

    briefing = WORK / "briefing.txt"
    if not briefing.exists() or briefing.stat().st_size < stories * 1000:
        briefing.write_text(briefing_text(stories), encoding="utf-8")
    fresh_database(database_url, drop=True)
    # A 600-word story is about 4.7 kB: 10,000 of them are over the default file limit.
    env = django_env(database_url, BRIEFING_MAX_BYTES=str(256 * 1024 * 1024))
    figures = {"briefing_mb": briefing.stat().st_size / 1e6}
    for run in ("first import", "unchanged re-import"):
        completed = run_python(
            ["-c", IMPORT_SCRIPT, str(briefing)], env, capture_output=True, text=True
        )
        data = json.loads(completed.stdout.strip().splitlines()[-1])
        data["stories_per_second"] = stories / data["seconds"]
        figures[run] = data
        log(f"{run}: {data['counts']} in {data['seconds']:.2f}s, peak {data['peak_mb']:.0f} MB")
    return figures


def page_cache_supported(database_url):
    completed = run_python(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(hasattr(settings, 'PAGE_CACHE_SECONDS'))",
        ],
        django_env(database_url),
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip() == "True"


def load_pages(server, port, urls, args):
    rows = {}
    for name, path in urls:
        url = f"http://{HOST}:{port}{path}"
        status, _ = fetch(url)
        if status != 200:
            rows[name] = {"path": path, "missing": f"HTTP {status}"}
            log(f"{name:13} {path}: HTTP {status}, not loaded")
            continue
        for _ in range(20):  # warm the workers' caches (templates, connections)
            fetch(url)
        row = run_wrk(url, server.pid, args)
        row["path"] = path
        rows[name] = row
        log(
            f"{name:13} {row['rps']:8.0f} req/s  p50 {row['p50_ms']:6.2f} ms  "
            f"p99 {row['p99_ms']:6.2f} ms  cpu {row['cpu_ms_per_request']:.2f} ms/req"
        )
    return rows


# --- report --------------------------------------------------------------------------


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory / 1024 / 1024:.0f} GB RAM, {platform.platform()}"
    )


def load_average():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def fmt(value, pattern="{:.2f}"):
    return "—" if value is None else pattern.format(value)


def report(results):
    lines = []
    add = lines.append
    add("# Benchmark results")
    add("")
    add(f"- Date: {results['date']}")
    add(f"- Machine: {results['machine']}")
    add(f"- Database: {results['backend']}; {results['stories']:,} stories")
    add(
        f"- Serving: gunicorn {results['workers']} {results['worker_class']} workers; "
        f"wrk {results['wrk']} "
        "from the same machine; all on 127.0.0.1"
    )
    add(f"- Python {platform.python_version()}")
    add(
        f"- Load average before / after: {results['load_before']} / {results['load_after']} "
        "(a shared machine: other work running at the same time inflates every figure)"
    )
    add("- Notes on the figures, the profile and what changed: bench/NOTES.md")
    add("")
    floor = results["cache off"].get("/healthz", {})
    ceiling = results["nginx"]
    add("## Pages, page cache off (`PAGE_CACHE_SECONDS=0`)")
    add("")
    add(
        "Every response is rendered per request, from pieces cached per content generation "
        "(`FRAGMENT_CACHE_SECONDS`, stories/delivery/fragments.py and the templates' "
        "`{% cache %}` blocks): story cards, counts, search rankings, the menu, the object "
        "an address names, each page's meta tags and content, whole feeds. Any edit, import "
        "or go-live starts a new "
        "generation. The table shows pages as readers get them between edits; queries are "
        "counted for the first view after an edit · a view again. The next table has "
        "everything rendered from scratch (nothing cached), what the first reader after an "
        "edit pays."
    )
    add("")
    add(
        "| page | req/s | p50 ms | p99 ms | server CPU ms/req | CPU × /healthz "
        "| req/s vs /healthz | req/s vs nginx | queries after an edit·again "
        "(100 / 10,000 stories) |"
    )
    add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    rows = [("nginx (static copy of the story page)", ceiling, None)]
    if results.get("varnish"):
        rows.append(("Varnish in front, story page (a hit)", results["varnish"], None))
    rows += [(name, row, results["queries"]) for name, row in results["cache off"].items()]
    for name, row, queries in rows:
        query_text = (
            f"{queries['small'].get(name, '—')} / {queries['big'].get(name, '—')}"
            if queries
            else "—"
        )
        if "missing" in row:
            add(
                f"| {name} `{row['path']}` | {row['missing']}: not on this branch yet "
                f"| | | | | | | {query_text} |"
            )
            continue
        cpu = row.get("cpu_ms_per_request")
        add(
            f"| {name} `{row.get('path', '')}` | {row['rps']:.0f} | {row['p50_ms']:.2f} "
            f"| {row['p99_ms']:.2f} | {fmt(cpu)} "
            f"| {fmt(cpu / floor['cpu_ms_per_request'] if cpu and floor else None, '{:.2f}×')} "
            f"| {fmt(row['rps'] / floor['rps'] if floor else None, '{:.0%}')} "
            f"| {fmt(row['rps'] / ceiling['rps'], '{:.1%}')} | {query_text} |"
        )
    add("")
    add(f"Peak memory of a gunicorn worker (VmHWM): {fmt(results['worker_peak_mb'], '{:.0f}')} MB.")
    add("")
    if results.get("cold"):
        add("## Pages rendered from scratch (page cache and cached fragments off)")
        add("")
        add(
            "`PAGE_CACHE_SECONDS=0`, `FRAGMENT_CACHE_SECONDS=0`: what the first reader after an "
            "edit pays. The floor rows are a careful plain-Django story page and section "
            "listing (bench/floor/) rendering the same content, served by the same gunicorn "
            'under the same middleware; "CPU × floor" compares the story page with the '
            "floor's story and every listing with the floor's listing (target ≤ 1.00×)."
        )
        add("")
        add("| page | req/s | p50 ms | p99 ms | server CPU ms/req | CPU × /healthz | CPU × floor |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, row in results["cold"].items():
            if "missing" in row:
                add(f"| {name} | {row['missing']} | | | | | |")
                continue
            cpu = row["cpu_ms_per_request"]
            versus = floor_ratio(results["cold"], name)
            add(
                f"| {name} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
                f"| {cpu:.2f} | {cpu / floor['cpu_ms_per_request']:.2f}× "
                f"| {fmt(versus, '{:.2f}×')} |"
            )
        add("")
    add("## Pages, page cache on (anonymous readers)")
    add("")
    if results["cache on"] is None:
        add(
            "n/a until the page cache lands (`PAGE_CACHE_SECONDS` is not a setting on this branch)."
        )
    else:
        add("| page | req/s | p50 ms | p99 ms | server CPU ms/req | CPU × /healthz | vs nginx |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, row in results["cache on"].items():
            if "missing" in row:
                add(f"| {name} | {row['missing']} | | | | | |")
                continue
            cpu = row["cpu_ms_per_request"]
            add(
                f"| {name} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
                f"| {cpu:.2f} | {cpu / floor['cpu_ms_per_request']:.2f}× "
                f"| {row['rps'] / ceiling['rps']:.1%} |"
            )
    add("")
    add("## Importer")
    add("")
    importer = results["importer"]
    if importer:
        add(
            f"A generated briefing of {results['stories']:,} stories "
            f"({importer['briefing_mb']:.0f} MB, 600-word bodies), one process per run."
        )
        add("")
        add("| run | stories/s | seconds | peak memory MB | outcome |")
        add("| --- | ---: | ---: | ---: | --- |")
        for run in ("first import", "unchanged re-import"):
            data = importer[run]
            outcome = ", ".join(f"{k} {v}" for k, v in data["counts"].items() if v)
            add(
                f"| {run} | {data['stories_per_second']:.0f} | {data['seconds']:.2f} "
                f"| {data['peak_mb']:.0f} | {outcome} |"
            )
    else:
        add("Skipped (`--skip-import`).")
    add("")
    add("## Targets")
    add("")
    for line in targets(results):
        add(f"- {line}")
    add("")
    return "\n".join(lines)


def floor_ratio(rows, name):
    """A from-scratch page's CPU per request over its floor's (bench/floor/), or None."""
    page, reference = rows.get(name, {}), rows.get(FLOOR_OF.get(name), {})
    if "cpu_ms_per_request" not in page or not reference.get("cpu_ms_per_request"):
        return None
    return page["cpu_ms_per_request"] / reference["cpu_ms_per_request"]


def targets(results):
    off = results["cache off"]
    floor = off["/healthz"]["cpu_ms_per_request"]

    def ratio(name):
        row = off.get(name, {})
        return row["cpu_ms_per_request"] / floor if "cpu_ms_per_request" in row else None

    def verdict(ok):
        return "**met**" if ok else "**not met**"

    out = []
    for name in ("story", "home", "section p1", "section p100", "tag", "byline"):
        value = ratio(name)
        if value is not None:
            out.append(f"{name}: {value:.2f}× /healthz CPU (target ≤ 2×): {verdict(value <= 2)}")
    p1, p100 = off.get("section p1", {}), off.get("section p100", {})
    if "cpu_ms_per_request" in p1 and "cpu_ms_per_request" in p100:
        change = p100["cpu_ms_per_request"] / p1["cpu_ms_per_request"] - 1
        out.append(
            f"section page 100 vs page 1: {change:+.0%} CPU (target within 10%): "
            f"{verdict(abs(change) <= 0.10)}"
        )
    for name in ("search", "feed"):
        value = ratio(name)
        if value is None:
            out.append(f"{name}: not measured ({off.get(name, {}).get('missing', 'missing')})")
        else:
            out.append(f"{name}: {value:.2f}× /healthz CPU (target ≤ 4×): {verdict(value <= 4)}")
    for name, reference in FLOOR_OF.items():
        value = floor_ratio(results.get("cold") or {}, name)
        if value is not None:
            out.append(
                f"{name} from scratch: {value:.2f}× the CPU of {reference} (target ≤ 1×): "
                f"{verdict(value <= 1)}"
            )
    if results["cache on"] is None:
        out.append("page cache on: n/a until the page cache lands")
    else:
        for name, row in results["cache on"].items():
            if "cpu_ms_per_request" in row and name != "/healthz":
                value = row["cpu_ms_per_request"] / floor
                share = row["rps"] / results["nginx"]["rps"]
                out.append(
                    f"cached {name}: {value:.2f}× /healthz (≤ 1.2×): {verdict(value <= 1.2)}; "
                    f"{share:.0%} of nginx req/s (≥ 20%): {verdict(share >= 0.2)}"
                )
    small, big = results["queries"]["small"], results["queries"]["big"]
    differ = [name for name in big if small.get(name) != big.get(name)]
    out.append(
        "queries per page the same at 100 and 10,000 stories: "
        + (verdict(True) if not differ else f"{verdict(False)} ({', '.join(differ)})")
    )
    importer = results["importer"]
    if importer:
        first, again = importer["first import"], importer["unchanged re-import"]
        out.append(
            f"import {first['stories_per_second']:.0f} stories/s (≥ 1,000): "
            f"{verdict(first['stories_per_second'] >= 1000)}; unchanged re-import "
            f"{again['stories_per_second']:.0f}/s (≥ 5,000): "
            f"{verdict(again['stories_per_second'] >= 5000)}; peak memory "
            f"{max(first['peak_mb'], again['peak_mb']):.0f} MB (< 250): "
            f"{verdict(max(first['peak_mb'], again['peak_mb']) < 250)}"
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per row")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y {tool}")
    WORK.mkdir(exist_ok=True)
    port = int(os.environ.get("BENCH_PORT", "8390"))
    big_db, small_db, import_db = database_urls()
    backend = "PostgreSQL" if big_db.startswith("postgres") else "SQLite"
    log(f"{backend}: building newsrooms of {args.stories:,} and {SMALL_STORIES} stories")
    for url, count in ((big_db, args.stories), (small_db, SMALL_STORIES)):
        fresh_database(url)
        run_python([str(BENCH_DIR / "build_newsroom.py"), str(count)], django_env(url))
    run_python(["manage.py", "collectstatic", "--noinput", "--verbosity", "0"], django_env(big_db))
    picked, urls = page_urls(big_db)
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "backend": backend,
        "stories": args.stories,
        "workers": os.environ.get("WEB_CONCURRENCY", "2"),
        "worker_class": os.environ.get("GUNICORN_WORKER_CLASS", "sync")
        + (
            f" ({os.environ['GUNICORN_THREADS']} threads)"
            if os.environ.get("GUNICORN_THREADS")
            else ""
        ),
        "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration}s",
        "load_before": load_average(),
        "queries": {
            "small": query_counts(small_db, page_urls(small_db)[1]),
            "big": query_counts(big_db, urls),
        },
    }
    log(f"queries per page: {results['queries']}")

    server = start_gunicorn(big_db, port, CACHE_OFF)
    try:
        story_html = fetch(f"http://{HOST}:{port}{dict(urls)['story']}")[1]
        results["cache off"] = load_pages(server, port, urls, args)
        workers = [pid for pid in process_tree(server.pid) if pid != server.pid]
        results["worker_peak_mb"] = max((peak_memory_mb(pid) or 0 for pid in workers), default=None)
    finally:
        server.stop()

    nginx = start_nginx(port + 1, story_html)
    try:
        results["nginx"] = run_wrk(f"http://{HOST}:{port + 1}/story.html", nginx.pid, args)
        results["nginx"]["path"] = "/story.html"
        log(f"nginx         {results['nginx']['rps']:8.0f} req/s")
    finally:
        nginx.stop()

    results["varnish"] = None
    if shutil.which("varnishd") or os.access("/usr/sbin/varnishd", os.X_OK):
        results["varnish"] = varnish_row(big_db, port + 2, dict(urls)["story"], args)
        log(f"varnish       {results['varnish']['rps']:8.0f} req/s")
    else:
        log("varnish: not installed (make varnish), no row")

    server = start_gunicorn(big_db, port, CACHE_OFF, fragments=CACHE_OFF)
    try:
        log("page cache and cached fragments off: every page rendered from scratch")
        results["cold"] = load_pages(server, port, with_floor(urls, floor_urls(picked)), args)
    finally:
        server.stop()

    results["cache on"] = None
    if page_cache_supported(big_db):
        server = start_gunicorn(big_db, port, CACHE_ON)
        try:
            results["cache on"] = load_pages(server, port, urls, args)
        finally:
            server.stop()
    else:
        log("page cache: n/a until the page cache lands")

    results["importer"] = None if args.skip_import else importer_figures(import_db, args.stories)

    results["load_after"] = load_average()
    text = report(results)
    print()
    print(text)
    args.results.write_text(text, encoding="utf-8")
    (WORK / "results.json").write_text(json.dumps(results, indent=2, default=str))
    log(f"written to {args.results}")


if __name__ == "__main__":
    main()
