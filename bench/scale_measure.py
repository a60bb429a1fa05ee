"""Reader pages and the desk measured in process against one database, at any size.

    python bench/scale_measure.py --database-url URL --label 10k|1m --json OUT
        [--requests N] [--warmup N] [--only NAME]

Run it in a fresh process per database: settings come from the environment (DATABASE_URL,
with the page cache and the fragment cache off), so every request renders from scratch, as
the first reader after an edit would get it. Each reader page is requested through the WSGI
application itself (as ``bench/profile_page.py`` does): no network and no test client between
the page and the clock. The desk is requested as a logged-in editor through Django's test
client (its login is forced; an account ``bench-scale-editor`` is made if missing, the only
write this script makes).

For each row: server CPU ms per request (this process's CPU: Python's work, not the
database's), wall ms per request (the database's work included), p50/p95 of both, and the
number of queries. The story sitemap's child is also measured for peak Python memory
(``tracemalloc``, one extra request). Pages and their addresses are picked from the data: the
biggest section, its page 5,000 (or its last page if it has fewer), the tag and the byline
with the most stories, a story from the middle of the archive, and so on, so the same script
measures 10,000 and 1,000,000 stories alike.
"""

import argparse
import io
import json
import math
import os
import statistics
import sys
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent

# One- to three-word reader searches: common words of the fake news (bench/fakenews.py), whose
# matches run to a large share of the archive, and rarer ones.
SEARCH_QUERIES = [
    "election",
    "climate",
    "ceasefire",
    "vaccine",
    "harvest",
    "budget vote",
    "oil prices",
    "climate talks",
    "police protest",
    "court ruling",
    "prime minister",
    "government budget vote",
    "flood water harvest",
    "trade talks summit",
    "union strike wages",
]


def configure(database_url):
    sys.path.insert(0, str(BENCH_DIR.parent))
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
    # From scratch: no cached page, no cached fragment, count or ranking.
    os.environ["PAGE_CACHE_SECONDS"] = "0"
    os.environ["FRAGMENT_CACHE_SECONDS"] = "0"
    os.environ.setdefault("NEWSROOM_VAR_DIR", str(BENCH_DIR / "work" / "var"))
    os.environ.setdefault("SECRET_KEY", "bench-scale-only-" + "k" * 40)
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counting_queries():
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def wsgi_get(application, url, keep=True):
    """``(status, body)`` of ``url``; with ``keep=False`` the body is read piece by piece
    and let go, as a server sends it (a streamed sitemap child), and its length given."""
    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    response = application(environ, lambda status, headers: statuses.append(status))
    if keep:
        body = b"".join(response)
    else:
        body = sum(len(piece) for piece in response)
    if hasattr(response, "close"):
        response.close()
    return int(statuses[0].split()[0]), body


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def timed(get, url, requests, warmup=2):
    """CPU and wall ms of each of ``requests`` requests of ``url`` after ``warmup`` ones."""
    for _ in range(warmup):
        get(url)
    cpu, wall, queries, statuses, sizes = [], [], [], set(), set()
    for _ in range(requests):
        with counting_queries() as counter:
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            status, body = get(url)
            cpu.append((time.process_time() - cpu_start) * 1000)
            wall.append((time.perf_counter() - wall_start) * 1000)
        queries.append(counter.count)
        statuses.add(status)
        sizes.add(len(body))
    if statuses != {200}:
        # A redirect or an error measures something else than the page: stop, loudly.
        raise SystemExit(f"{url} answered {sorted(statuses)}, not 200: not a page to measure")
    return {
        "url": url,
        "status": sorted(statuses),
        "bytes": max(sizes),
        # A sitemap's addresses (the protocol allows 50,000 per file).
        "urls": body.count(b"<loc>"),
        "requests": requests,
        "cpu_samples": cpu,
        "wall_samples": wall,
        "cpu_ms": statistics.mean(cpu),
        "cpu_ms_p50": statistics.median(cpu),
        "cpu_ms_p95": percentile(cpu, 0.95),
        "wall_ms": statistics.mean(wall),
        "wall_ms_p50": statistics.median(wall),
        "wall_ms_p95": percentile(wall, 0.95),
        "queries": max(queries),
    }


def peak_memory_mb(get, url):
    """Peak Python memory one request of ``url`` allocates (tracemalloc), in MB: the body
    read as a server sends it, a piece at a time (``get(url, keep=False)``), so a streamed
    response is not counted whole."""
    tracemalloc.start()
    try:
        get(url, keep=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024 / 1024


def reader_urls():
    """The reader pages to measure, picked from the data: (row name, url, requests factor)."""
    from django.conf import settings
    from django.db.models import Count
    from taggit.models import Tag

    from stories.models import Byline, Section, Story, is_live_condition

    live = Story.objects.live()
    section = (
        Section.objects.annotate(live_count=Count("stories", filter=is_live_condition("stories__")))
        .order_by("-live_count")
        .first()
    )
    last_page = max(1, math.ceil(section.live_count / settings.STORIES_PER_PAGE))
    deep_page = min(5000, last_page)
    tag = (
        Tag.objects.annotate(uses=Count("stories_taggedstory_items"))
        .exclude(slug="")
        .order_by("-uses")
        .first()
    )
    byline = Byline.objects.annotate(uses=Count("story_bylines")).order_by("-uses").first()
    total = live.count()
    # A story from the middle of the archive: the long tail, not only the newest.
    middle = live.order_by("-published_at", "-pk").only("slug", "published_at", "created_at")[
        total // 2
    ]
    rows = [
        ("healthz", "/healthz"),
        ("home", "/"),
        ("section p1", section.get_absolute_url()),
        # Named alike at every size (page 5,000 at 1M, the last page of a smaller archive),
        # so bench/scale.py can set the two archives' rows side by side.
        ("section deep page", f"{section.get_absolute_url()}?page={deep_page}"),
        ("tag", f"/tags/{tag.slug}/"),
        ("byline", byline.get_absolute_url()),
        ("story", middle.get_absolute_url()),
        ("feed", "/feed/"),
        ("section feed", f"{section.get_absolute_url()}feed/"),
        ("sitemap index", "/sitemap.xml"),
        ("tags sitemap", "/sitemap-tags.xml"),
        ("bylines sitemap", "/sitemap-bylines.xml"),
        ("sections sitemap", "/sitemap-sections.xml"),
    ]
    context = {
        "live stories": total,
        "section": section.slug,
        "section live stories": section.live_count,
        "section deep page": deep_page,
        "tag": tag.slug,
        "byline": byline.slug,
    }
    return rows, context


def story_sitemap_child():
    """The address of the story sitemap's child the index lists in the middle."""
    from stories.reader.sitemaps import StorySitemap

    pages = StorySitemap().paginator.num_pages
    middle = max(1, (pages + 1) // 2)
    # The first child's one address has no ``?p=`` (``?p=1`` redirects to it).
    return "/sitemap-stories.xml" + (f"?p={middle}" if middle > 1 else ""), pages


def editor_client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from stories.roles import EDITOR

    user, created = get_user_model().objects.get_or_create(
        username="bench-scale-editor", defaults={"is_staff": True}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=EDITOR))
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    return client


def month_filter(year, month):
    """The story list's query for one month: the publication date filter, or (code from
    before it) Django's date hierarchy."""
    from django.contrib import admin

    from stories.models import Story

    if admin.site._registry[Story].date_hierarchy:
        return f"published_at__year={year}&published_at__month={month}"
    return f"published={year}-{month:02}"


def desk_urls():
    from django.db.models import Max, Min

    from stories.models import Section, Story

    section = Section.objects.order_by("position").first()
    span = Story.objects.aggregate(first=Min("published_at"), last=Max("published_at"))
    year = span["last"].year - 1 if span["last"].year > span["first"].year else span["last"].year
    changelist = "/admin/stories/story/"
    autocomplete = "/admin/autocomplete/?app_label=stories&model_name="
    return [
        ("changelist", changelist),
        (
            "changelist filtered",
            f"{changelist}?section__id__exact={section.pk}&status__exact=published",
        ),
        ("changelist date drill-down", f"{changelist}?{month_filter(year, 3)}"),
        ("admin search 1 word", f"{changelist}?q=ceasefire"),
        ("admin search byline", f"{changelist}?q=Okafor"),
        ("admin search 2 words", f"{changelist}?q=climate+talks"),
        ("autocomplete section", f"{autocomplete}story&field_name=section&term=wor"),
        ("autocomplete byline", f"{autocomplete}storybyline&field_name=byline&term=an"),
        ("desk", "/admin/"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--label", required=True, help="what this database is, e.g. 10k or 1m")
    parser.add_argument("--json", required=True, help="where to write the results")
    parser.add_argument("--requests", type=int, default=10, help="timed requests per row")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests before them")
    parser.add_argument(
        "--only", help="measure only rows whose name contains one of these (comma-separated)"
    )
    options = parser.parse_args()
    configure(options.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    # The pages link their stylesheet through the static files' manifest (collected before
    # the application starts, so its static files middleware finds the folder).
    call_command("collectstatic", "--noinput", verbosity=0)
    # What the background worker does within a tick of a write (``webhooks.tasks.tick``):
    # the last phase's notes about listings applied, so pages read their kept counts.
    from stories.listings import apply_pending

    apply_pending()
    application = get_wsgi_application()

    def get(url, keep=True):
        return wsgi_get(application, url, keep)

    results = {
        "label": options.label,
        "vendor": connection.vendor,
        "pid": os.getpid(),
        "load_at_start": load_average(),
        "database_settings": database_settings(connection),
        "reader": {},
        "desk": {},
    }
    rows, context = reader_urls()
    child, child_pages = story_sitemap_child()
    context["story sitemap children"] = child_pages
    results["context"] = context
    parts = options.only.split(",") if options.only else [""]

    def wanted(name):
        return any(part in name for part in parts)

    few = max(1, options.requests // 3)  # sitemaps and each search query
    for name, url in rows:
        if wanted(name):
            requests = options.requests if "sitemap" not in name else few
            if name == "healthz":
                # A millisecond a request: many more of them, as the reference that the
                # other rows' ratios are divided by.
                requests = 5 * options.requests
            results["reader"][name] = timed(get, url, requests, options.warmup)
            log_row(name, results["reader"][name])
    if wanted("story sitemap child"):
        row = results["reader"]["story sitemap child"] = timed(get, child, few, options.warmup)
        row["peak_memory_mb"] = peak_memory_mb(get, child)
        log_row("story sitemap child", row)

    # Search: every query, each repeated; p50/p95 over all requests of each word count.
    by_words = {}
    for query in SEARCH_QUERIES if wanted("search") else []:
        row = timed(get, f"/search/?q={query.replace(' ', '+')}", few, min(1, options.warmup))
        by_words.setdefault(len(query.split()), []).append(row)
    for words, measured in sorted(by_words.items()):
        # Every request of every query of this many words: p95 over them all.
        wall = [ms for row in measured for ms in row["wall_samples"]]
        cpu = [ms for row in measured for ms in row["cpu_samples"]]
        name = f"search {words} word{'s' if words > 1 else ''}"
        results["reader"][name] = {
            "queries_searched": [row["url"] for row in measured],
            "cpu_ms": statistics.mean(cpu),
            "cpu_ms_p50": statistics.median(cpu),
            "cpu_ms_p95": percentile(cpu, 0.95),
            "wall_ms": statistics.mean(wall),
            "wall_ms_p50": statistics.median(wall),
            "wall_ms_p95": percentile(wall, 0.95),
            "wall_ms_max": max(wall),
            "requests": len(wall),
            "queries": max(row["queries"] for row in measured),
            "status": sorted({status for row in measured for status in row["status"]}),
        }
        log_row(name, results["reader"][name])

    client = editor_client()

    def admin_get(url):
        response = client.get(url)
        return response.status_code, response.content

    for name, url in desk_urls():
        if wanted(name):
            results["desk"][name] = timed(admin_get, url, options.requests, options.warmup)
            log_row(name, results["desk"][name])

    results["load_at_end"] = load_average()
    for group in ("reader", "desk"):
        for row in results[group].values():
            row.pop("cpu_samples", None)
            row.pop("wall_samples", None)
    Path(options.json).write_text(json.dumps(results, indent=2) + "\n")


def load_average():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def database_settings(connection):
    """The server settings that move these figures, as this process's session sees them
    (JIT compiles big plans: hundreds of ms on the desk's count queries when on)."""
    names = (
        "server_version",
        "jit",
        "work_mem",
        "shared_buffers",
        "random_page_cost",
        "autovacuum",
        "synchronous_commit",
    )
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        found = {}
        for name in names:
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


def log_row(name, row):
    print(
        f"{name:28} cpu {row['cpu_ms']:8.2f} ms  wall p50 {row['wall_ms_p50']:8.2f} "
        f"p95 {row['wall_ms_p95']:8.2f} ms  queries {row['queries']:3}"
        + (f"  status {row['status']}" if "status" in row else ""),
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    main()
