"""Newsroom at a national newsroom's scale: `make bench-scale` (not part of `make test`).

    python bench/scale.py [--stories 1000000] [--small 10000] [--words 150] [--chunk 20000]
        [--jobs 2] [--requests 10] [--output bench/SCALE.md] [--resume] [--skip-measure]

Builds two PostgreSQL databases of its own, ``<base>_scale_10k`` and ``<base>_scale_1m``
(``<base>`` is the database DATABASE_URL names, default ``newsroom``), each THROUGH THE REAL
IMPORTER: briefing files are generated (8 sections, 500 bylines, countries the place tagger
finds, bodies of ``--words`` words), then imported by ``bench/scale_import.py`` calling
``stories.importer.import_briefings``, one transaction per run of ``--chunk`` stories. Then:

- the importer's rows: new stories/s (all runs, and the last run into the full archive),
  unchanged re-import stories/s (the last run's files again), each with the import process's
  peak resident memory and the CPU seconds of the process and of its database server;
- editors' topic tags, so the newsroom has ``--tags`` tags (the tagger only knows the
  world's ~250 countries), added after the importer rows are measured;
- ``bench/scale_measure.py`` for each database in a fresh process (reader pages, search,
  sitemaps, the desk);
- ``--output`` (``bench/SCALE.md``): run, method, phases, the tables side by side and each
  target of issue 16 met or not, computed from this run's figures. Sections of the file it
  does not write (the soak's hit rates, hand-written notes) are kept.

Progress goes to standard output and ``bench/work/scale/run.log`` every 30 s while building
(``tail -f`` it).
``--resume`` measures again the databases an earlier run built completely (their importer
figures are saved in ``bench/work/scale/build-<label>.json``) instead of building them
again, so a failure while measuring does not cost the build."""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run as bench  # noqa: E402  (bench/run.py: databases, environment, machine)
from fakenews import (  # noqa: E402
    SECTIONS,
    WORDS,
    byline_names,
    country_names,
    deck,
    headline,
    sentence,
)

WORK = BENCH_DIR / "work" / "scale"
SEED = 16
SENTENCE_POOL = 20_000
STORIES_PER_FILE = 1_000  # one section's stories of one day
FIRST_DAY = date(2022, 1, 1)
TARGETS = {"new": 5_000, "unchanged": 20_000, "peak_mb": 250}


def log(message):
    line = f"[bench-scale] {datetime.now(UTC):%H:%M:%S} {message}"
    print(line, flush=True)
    # Also to a file of its own, to watch a long run with tail -f.
    with (WORK / "run.log").open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def database_url(label):
    given = os.environ.get("DATABASE_URL", "")
    if not given.startswith("postgres"):
        given = "postgres://postgres@127.0.0.1:5432/newsroom"
    parts = urlsplit(given)
    base = parts.path.lstrip("/") or "newsroom"
    return urlunsplit(parts._replace(path=f"/{base}_scale_{label}"))


def label_for(count):
    return f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count // 1000}k"


# --- briefings ------------------------------------------------------------------------


class Newsroom:
    """Deterministic briefing text: sentences drawn from a pool made once (making every
    word of a million bodies with the random generator took longer than importing them)."""

    def __init__(self, words):
        self.rng = random.Random(SEED)
        self.words = words
        self.sentences = [
            sentence(self.rng, self.rng.randint(12, 25)) for _ in range(SENTENCE_POOL)
        ]
        self.decks = [deck(self.rng) for _ in range(SENTENCE_POOL // 4)]
        self.countries = country_names(250)
        self.bylines = byline_names(500, self.rng)

    def body(self, mentions):
        rng, paragraphs, remaining = self.rng, [], self.words
        while remaining > 0:
            paragraph, size = [], 0
            while size < min(remaining, 100):
                text = rng.choice(self.sentences)
                if mentions:
                    # "… in Chile." keeps the sentence's final full stop.
                    text = f"{text[:-1]} in {mentions.pop()}."
                paragraph.append(text)
                size += text.count(" ") + 1
            paragraphs.append(" ".join(paragraph))
            remaining -= size
        return paragraphs

    def briefing(self, first_number, count):
        rng, lines = self.rng, []
        for number in range(first_number, first_number + count):
            lines.append(headline(rng, number))
            lines.append(rng.choice(self.decks))
            lines.extend(self.body(rng.sample(self.countries, 3)))
            signed = rng.sample(self.bylines, rng.choice((1, 1, 2)))
            lines.append("— By " + " and ".join(signed))
        return "\n".join(lines) + "\n"


def write_briefings(count, words, folder, chunk):
    """Briefing files for ``count`` stories in ``folder``; the import runs that take them
    (one section each, at most ``chunk`` stories), in order."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "runs.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved["count"] == count and saved["words"] == words and saved["chunk"] == chunk:
            log(f"briefings for {count:,} stories already written in {folder}")
            return saved["runs"]
    newsroom = Newsroom(words)
    runs, number = [], 1
    started = time.perf_counter()
    shares = [round(count * share) for _, _, share in SECTIONS]
    shares[0] += count - sum(shares)
    day = FIRST_DAY
    for (slug, _, _), stories in zip(SECTIONS, shares, strict=True):
        run_files, run_stories = [], 0
        for start in range(0, stories, STORIES_PER_FILE):
            size = min(STORIES_PER_FILE, stories - start)
            # The date leading the name is the stories' publication day.
            path = folder / f"{day.isoformat()}-{slug}.txt"
            path.write_text(newsroom.briefing(number, size), encoding="utf-8")
            number += size
            day += timedelta(days=1)
            run_files.append(str(path))
            run_stories += size
            if run_stories >= chunk:
                runs.append({"section": slug, "files": run_files, "stories": run_stories})
                run_files, run_stories = [], 0
        if run_files:
            runs.append({"section": slug, "files": run_files, "stories": run_stories})
    size = sum(Path(f).stat().st_size for run in runs for f in run["files"])
    log(
        f"wrote {count:,} stories in {sum(len(r['files']) for r in runs)} files "
        f"({size / 1e6:,.0f} MB) in {time.perf_counter() - started:.0f}s"
    )
    manifest.write_text(
        json.dumps({"count": count, "words": words, "chunk": chunk, "runs": runs, "mb": size / 1e6})
    )
    return runs


# --- phases and progress --------------------------------------------------------------

PHASES = []  # (name, seconds, load at start, load at end), in order
PROGRESS_SECONDS = 30


@contextmanager
def phase(name):
    """Time one phase of the run and say so in the log (the run is watched with tail -f)."""
    load, started = bench.load_average(), time.perf_counter()
    log(f"{name}: started (load {load})")
    yield
    seconds = time.perf_counter() - started
    PHASES.append((name, seconds, load, bench.load_average()))
    log(f"{name}: done in {seconds / 60:.1f} min (load {bench.load_average()})")


def stories_logged(name):
    path = WORK / f"{name}.log"
    if not path.exists():
        return 0
    return sum(
        json.loads(line)["stories"]
        for line in path.read_text().splitlines()
        if line.startswith("{")
    )


def duration(seconds):
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def wait_for(processes, label, total, analyze_url=None):
    """Wait for the import processes ``[(process, name)]``, logging stories imported so far,
    the rate and the time left every PROGRESS_SECONDS (runs report when they commit). One
    that fails stops the others at once: a build is not worth finishing without its runs.

    With ``analyze_url``, the database is analyzed each time its archive doubles, from
    20,000 stories: autovacuum may be off (it is on the bench machine), and the importer's
    queries are planned from those statistics."""
    started, last_done, last_time = time.perf_counter(), 0, time.perf_counter()
    analyze_at = 20_000
    while any(process.poll() is None for process, _ in processes):
        time.sleep(1)
        failed = [name for process, name in processes if process.poll() not in (None, 0)]
        if failed:
            for process, _ in processes:
                if process.poll() is None:
                    process.terminate()
                    process.wait()
            raise SystemExit(f"import process {failed[0]} failed: see its output above")
        if time.perf_counter() - last_time < PROGRESS_SECONDS:
            continue
        done, now = sum(stories_logged(name) for _, name in processes), time.perf_counter()
        rate = done / (now - started)
        recent = (done - last_done) / (now - last_time)
        left = duration((total - done) / rate) if rate else "unknown"
        log(
            f"{label}: {done:,} of {total:,} stories ({100 * done / total:.0f} %), "
            f"{recent:,.0f}/s lately, {rate:,.0f}/s so far, {(now - started) / 60:.1f} min "
            f"gone, about {left} left (load {bench.load_average()})"
        )
        last_done, last_time = done, now
        if analyze_url and done >= analyze_at:
            analyzing = time.perf_counter()
            sql(analyze_url, "ANALYZE")
            log(f"{label}: ANALYZE at {done:,} stories ({time.perf_counter() - analyzing:.0f}s)")
            analyze_at = 2 * done
    return [finished(process, name) for process, name in processes]


# --- importing ------------------------------------------------------------------------


def start_import(url, runs, name):
    """Start an import process for ``runs``; it writes a JSON line per run to a log."""
    jobs = WORK / f"{name}.json"
    jobs.write_text(json.dumps(runs))
    env = bench.django_env(url, BRIEFING_MAX_BYTES=str(64 * 1024 * 1024))
    out = (WORK / f"{name}.log").open("w")
    return subprocess.Popen(
        [bench.PYTHON, str(BENCH_DIR / "scale_import.py"), str(jobs)],
        cwd=bench.ROOT,
        env=env,
        stdout=out,
    )


def finished(process, name):
    if process.wait() != 0:
        raise SystemExit(f"import process {name} failed: see its output above")
    lines = (WORK / f"{name}.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def import_runs(url, runs, name, label):
    """Run ``runs`` one after another in one import process; one dict of figures per run."""
    total = sum(run["stories"] for run in runs)
    return wait_for([(start_import(url, runs, name), name)], label, total)[0]


def summed(figures):
    total = {
        key: sum(f[key] or 0 for f in figures)
        for key in ("stories", "seconds", "client_cpu_seconds", "server_cpu_seconds")
    }
    total["peak_mb"] = max(f["peak_mb"] for f in figures)
    total["runs"] = len(figures)
    total["stories_per_second"] = total["stories"] / total["seconds"]
    total["cpu_ms_per_story"] = (
        1000 * (total["client_cpu_seconds"] + total["server_cpu_seconds"]) / total["stories"]
    )
    counts = {}
    for f in figures:
        for key, value in f["counts"].items():
            counts[key] = counts.get(key, 0) + value
    total["counts"] = counts
    return total


def sql(url, *statements):
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        results = []
        for statement in statements:
            cursor = connection.execute(statement)
            results.append(cursor.fetchall() if cursor.description else None)
        return results


def live_stories(url):
    """Stories in the database at ``url``; None if there is no such database."""
    import psycopg

    try:
        return sql(url, "SELECT count(*) FROM stories_story")[0][0][0]
    except psycopg.Error:
        return None


def build(count, words, chunk, jobs, resume):
    """Build the archive of ``count`` stories through the importer; the importer's rows.

    With ``jobs`` > 1 all runs but the last are spread over that many import processes at
    once (each run is still one transaction; a run that races another to create a byline
    or tag rolls back and plans again, as the importer does), which only builds the archive
    sooner; the importer's own rows are then measured on the last run alone, into the full
    archive, in a process of its own. With ``resume``, a database this script built before
    (its figures saved, its stories all there) is measured again instead of built again."""
    label = label_for(count)
    url = database_url(label)
    name = urlsplit(url).path.lstrip("/")
    saved = WORK / f"build-{label}.json"
    if resume and saved.exists():
        result = json.loads(saved.read_text())
        found = live_stories(url)
        if result["stories"] == count and result["words"] == words and found == count:
            log(f"{label}: --resume: {name} already holds {found:,} stories; not built again")
            PHASES.extend(
                (f"{phase_name} (by the run of {result.get('built_at', 'before')})", *figures)
                for phase_name, *figures in result.get("phases", [])
            )
            if not result.get("tagged"):
                tag(result, saved)
            return result
        log(f"{label}: --resume: {name} holds {found} stories, not {count:,}: building it")
    first_phase = len(PHASES)
    with phase(f"{label}: write briefings"):
        runs = write_briefings(count, words, WORK / label, chunk)
    rows = {}
    with phase(f"{label}: build through the importer"):
        log(f"{label}: fresh database {name}")
        bench.fresh_database(url, drop=True)
        env = bench.django_env(url)
        bench.run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
        if jobs == 1:
            figures = import_runs(url, runs, f"{label}-new", label)
            rows["new (all runs, one process)"] = summed(figures)
            rows["new (last run)"] = summed(figures[-1:])
        else:
            # Only the bulk of the build, never the importer's own rows: no wait for the
            # WAL to reach the disk at each commit (a crash could lose the last runs, and
            # the build would be started again). Set on this database alone.
            sql(url, f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            started = time.perf_counter()
            names = [f"{label}-build-{index}" for index in range(jobs)]
            processes = [
                (start_import(url, runs[index:-1:jobs], names[index]), names[index])
                for index in range(jobs)
            ]
            building = count - runs[-1]["stories"]
            figures = [f for done in wait_for(processes, label, building, url) for f in done]
            built = summed(figures)
            built["seconds"] = time.perf_counter() - started
            built["stories_per_second"] = built["stories"] / built["seconds"]
            rows[f"new, build ({jobs} processes at once, all runs but the last)"] = built
            log(f"{label}: built {built['stories']:,} stories in {built['seconds']:.0f}s")
            sql(url, f'ALTER DATABASE "{name}" RESET synchronous_commit', "ANALYZE")
            rows["new (last run)"] = summed(import_runs(url, runs[-1:], f"{label}-last", label))
    with phase(f"{label}: unchanged re-import of the last run"):
        rows["unchanged re-import (last run)"] = summed(
            import_runs(url, runs[-1:], f"{label}-unchanged", label)
        )
    unchanged = rows["unchanged re-import (last run)"]["counts"].get("unchanged", 0)
    if unchanged != runs[-1]["stories"]:
        # Said again under Targets; the build is still worth measuring.
        log(f"{label}: WARNING: {unchanged:,} of {runs[-1]['stories']:,} stories unchanged")
    for row_name, row in rows.items():
        log(
            f"{label}: {row_name}: {row['stories']:,} stories, "
            f"{row['stories_per_second']:,.0f}/s, {row['cpu_ms_per_story']:.2f} CPU ms/story, "
            f"peak {row['peak_mb']:.0f} MB"
        )
    result = {
        "label": label,
        "url": url,
        "stories": count,
        "words": words,
        "files": sum(len(r["files"]) for r in runs),
        "chunk": chunk,
        "jobs": jobs,
        "last_run_stories": runs[-1]["stories"],
        "rows": rows,
        "built_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "phases": PHASES[first_phase:],
        "tagged": False,
    }
    # Saved before the topic tags too: --resume picks up from there if they fail.
    saved.write_text(json.dumps(result, indent=2))
    tag(result, saved)
    return result


def tag(result, saved):
    with phase(f"{result['label']}: topic tags, VACUUM ANALYZE"):
        add_topic_tags(result["url"], bench.django_env(result["url"]))
    result["tagged"] = True
    result["phases"].append(PHASES[-1])
    saved.write_text(json.dumps(result, indent=2))


TOPIC_SCRIPT = """
import random, sys
import django
django.setup()
from django.db import transaction
from stories.importer.bulk import insert_rows
from stories.models import Story, TaggedStory
from taggit.models import Tag
wanted, per_topic, words = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split()
rng = random.Random(16)
with transaction.atomic():
    have = Tag.objects.count()
    names = [f"{a} {b}".title() for a in words for b in words if a != b][: max(0, wanted - have)]
    tags = Tag.objects.bulk_create([Tag(name=name, slug=Tag().slugify(name)) for name in names])
    story_ids = list(Story.objects.values_list("id", flat=True))
    pairs = {(rng.choice(story_ids), tag.pk) for tag in tags for _ in range(per_topic)}
    # One COPY; its statement-level trigger re-indexes the stories tagged, once each.
    insert_rows(TaggedStory, ({"content_object_id": s, "tag_id": t} for s, t in sorted(pairs)))
print(Tag.objects.count())
"""


def add_topic_tags(url, env):
    """Editors' topic tags, after the importer rows are measured: the tagger makes only
    country tags. The stories they are added to read as edited to a later re-import."""
    completed = bench.run_python(
        ["-c", TOPIC_SCRIPT, str(ARGS.tags), str(ARGS.stories_per_topic), " ".join(WORDS)],
        env,
        capture_output=True,
        text=True,
    )
    log(f"tags now {completed.stdout.strip()}")
    sql(url, "VACUUM ANALYZE")


# --- the reader's and the desk's rows (bench/scale_measure.py) ----------------------------


def measure(result):
    """Measure one database in a fresh process of its own (no cache, connection or
    imported module carried over from the other database's run)."""
    out = WORK / f"measure-{result['label']}.json"
    out.unlink(missing_ok=True)
    env = bench.django_env(result["url"])
    with phase(f"{result['label']}: measure reader pages and the desk"):
        bench.run_python(
            [
                str(BENCH_DIR / "scale_measure.py"),
                "--database-url",
                result["url"],
                "--label",
                result["label"],
                "--json",
                str(out),
                "--requests",
                str(ARGS.requests),
            ],
            env,
        )
    return json.loads(out.read_text())


# --- report ---------------------------------------------------------------------------

# The sections this script writes; any other "## " section of the file (the soak's hit
# rates, hand-written notes) is kept as it is, after them.
GENERATED = (
    "## Run",
    "## Method",
    "## Phases",
    "## Importer on PostgreSQL",
    "## Reader pages, search, sitemaps",
    "## The desk",
    "## Targets",
)
READER_CPU_LIMIT = 1.2
SEARCH_P95_MS = 100
SITEMAP_MAX_URLS = 50_000
SITEMAP_MS = 1_000
# A child made in constant memory peaks alike whatever its number of addresses; one that
# holds its URLs grows with them (the 1M child has up to 5x the 10k child's).
SITEMAP_MEMORY_GROWTH = 1.5
PER_URL_ROW = "story sitemap child"
DESK_P95_MS = {"changelist": 300, "admin search": 500, "autocomplete": 100, "desk": 300}


def verdict(ok):
    return {True: "**met**", False: "**not met**", None: "**not measured**"}[ok]


def fmt(value, pattern="{:,.1f}"):
    return "—" if value is None else pattern.format(value)


def importer_table(results):
    lines = [
        "| archive | run | stories | wall s | stories/s | client CPU ms/story | "
        "server CPU ms/story | CPU ms/story | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for name, row in result["rows"].items():
            per_story = 1000 / row["stories"]
            lines.append(
                f"| {result['label']} | {name} | {row['stories']:,} | {row['seconds']:.1f} | "
                f"{row['stories_per_second']:,.0f} | "
                f"{row['client_cpu_seconds'] * per_story:.2f} | "
                f"{row['server_cpu_seconds'] * per_story:.2f} | "
                f"{row['cpu_ms_per_story']:.2f} | {row['peak_mb']:.0f} |"
            )
    return lines


def ratio(big, small):
    return big / small if big is not None and small else None


def compare(small, big, group):
    """Rows of ``group`` ("reader" or "desk") at both sizes: {name: (small row, big row,
    CPU ratio, CPU ratio over /healthz's)}."""
    health = ratio(
        big["reader"].get("healthz", {}).get("cpu_ms_p50"),
        small["reader"].get("healthz", {}).get("cpu_ms_p50"),
    )
    rows = {}
    for name in dict.fromkeys([*small[group], *big[group]]):
        a, b = small[group].get(name), big[group].get(name)
        cpu = ratio(b and cpu_compared(name, b), a and cpu_compared(name, a))
        rows[name] = (a, b, cpu, ratio(cpu, health))
    return rows


def cpu_compared(name, row):
    """CPU ms p50, per address for the story sitemap's child: it holds up to 50,000 of them
    in a big archive and all the stories of a small one, so its size differs by design."""
    if name == PER_URL_ROW and row.get("urls"):
        return row["cpu_ms_p50"] / row["urls"]
    return row["cpu_ms_p50"]


def side_by_side(small, big, group):
    s, b = small["label"], big["label"]
    lines = [
        f"| row | {s} CPU ms p50 / p95 | {s} wall ms p50 / p95 | {s} queries | "
        f"{b} CPU ms p50 / p95 | {b} wall ms p50 / p95 | {b} queries | "
        f"CPU {b}/{s} | same over /healthz's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cells(row):
        if row is None:
            return "— | — | —"
        return (
            f"{row['cpu_ms_p50']:.1f} / {row['cpu_ms_p95']:.1f} | "
            f"{row['wall_ms_p50']:.1f} / {row['wall_ms_p95']:.1f} | {row['queries']}"
        )

    for name, (a, c, cpu, normalised) in compare(small, big, group).items():
        lines.append(
            f"| {name} | {cells(a)} | {cells(c)} | {fmt(cpu, '{:.2f}×')} | "
            f"{fmt(normalised, '{:.2f}×')} |"
        )
    return lines


def target_lines(results, measured):
    """Each target of issue 16, met or not, from this run's figures (the last archive is
    the big one, the first the small one)."""
    lines = []

    def target(text, ok, detail):
        lines.append(f"- {text}: {verdict(ok)} ({detail})")

    big_result = results[-1]
    new = big_result["rows"]["new (last run)"]
    again = big_result["rows"]["unchanged re-import (last run)"]
    all_unchanged = again["counts"].get("unchanged", 0) == again["stories"]
    target(
        f"Importer, new stories ≥ {TARGETS['new']:,}/s",
        new["stories_per_second"] >= TARGETS["new"],
        f"{new['stories_per_second']:,.0f}/s for the last run's {new['stories']:,} stories "
        f"into the {big_result['label']} archive; "
        + "; ".join(
            f"{name}: {row['stories_per_second']:,.0f}/s"
            for name, row in big_result["rows"].items()
            if name.startswith("new") and name != "new (last run)"
        )
        + f"; {new['cpu_ms_per_story']:.2f} CPU ms/story client and server",
    )
    target(
        f"Importer, unchanged stories ≥ {TARGETS['unchanged']:,}/s",
        again["stories_per_second"] >= TARGETS["unchanged"] and all_unchanged,
        f"{again['stories_per_second']:,.0f}/s re-importing {again['stories']:,} stories "
        f"into the {big_result['label']} archive, {again['cpu_ms_per_story']:.2f} CPU ms/story"
        + (
            ""
            if all_unchanged
            else f"; but only {again['counts'].get('unchanged', 0):,} came out unchanged: "
            + ", ".join(f"{key} {value:,}" for key, value in again["counts"].items())
        ),
    )
    peaks = {
        f"{result['label']} {name}": row["peak_mb"]
        for result in results
        for name, row in result["rows"].items()
    }
    worst = max(peaks, key=peaks.get)
    target(
        f"Importer, peak memory < {TARGETS['peak_mb']} MB",
        peaks[worst] < TARGETS["peak_mb"],
        f"highest {peaks[worst]:.0f} MB, {worst}; runs of up to {ARGS.chunk:,} stories",
    )
    small, big = measured[0], measured[-1]
    if small is None or big is None:
        for text in ("Reader pages", "Search", "Sitemaps", "The desk"):
            target(text, None, "`--skip-measure`")
        return lines

    reader = {
        name: row
        for name, row in compare(small, big, "reader").items()
        if name != "healthz" and None not in row[:2]
    }
    over = {name: row for name, row in reader.items() if row[2] > READER_CPU_LIMIT}
    target(
        f"Reader pages, server CPU at {big['label']} within {READER_CPU_LIMIT}× of "
        f"{small['label']} (p50)",
        not over,
        "every page"
        if not over
        else "over: " + ", ".join(f"{name} {row[2]:.2f}×" for name, row in over.items()),
    )
    over = {name: row for name, row in reader.items() if (row[3] or 0) > READER_CPU_LIMIT}
    target(
        "Same, each ratio divided by `/healthz`'s (what the machine's load moved)",
        not over,
        "every page"
        if not over
        else "over: " + ", ".join(f"{name} {row[3]:.2f}×" for name, row in over.items()),
    )
    # A story sitemap child makes a query per so many addresses: it is judged by its own
    # target below, as its size differs between the archives.
    grew = {
        name: (a["queries"], b["queries"])
        for name, (a, b, _, _) in reader.items()
        if name != "story sitemap child" and b["queries"] > a["queries"]
    }
    target(
        "Reader pages, queries flat",
        not grew,
        "the same count or fewer at both sizes (the story sitemap child aside)"
        if not grew
        else "more at "
        + big["label"]
        + ": "
        + ", ".join(f"{name} {a} → {b}" for name, (a, b) in grew.items()),
    )
    searches = {name: row for name, row in big["reader"].items() if name.startswith("search")}
    target(
        f"Search p95 < {SEARCH_P95_MS} ms at {big['label']}, one to three words, ranked",
        bool(searches) and all(r["wall_ms_p95"] < SEARCH_P95_MS for r in searches.values()),
        ", ".join(
            f"{name} p95 {row['wall_ms_p95']:.0f} ms over {row.get('requests', '?')} requests"
            for name, row in searches.items()
        ),
    )
    child, tags = big["reader"].get("story sitemap child"), big["reader"].get("tags sitemap")
    small_child = small["reader"].get("story sitemap child")
    if child and tags and small_child:
        target(
            f"Sitemap children ≤ {SITEMAP_MAX_URLS:,} URLs",
            max(child["urls"], tags["urls"]) <= SITEMAP_MAX_URLS,
            f"story child {child['urls']:,} URLs, the index listing "
            f"{big['context']['story sitemap children']} story children; tags {tags['urls']:,}",
        )
        growth = child["peak_memory_mb"] / small_child["peak_memory_mb"]
        target(
            "Sitemap child in constant memory",
            growth <= SITEMAP_MEMORY_GROWTH,
            f"Python peak {child['peak_memory_mb']:.1f} MB for {child['urls']:,} URLs at "
            f"{big['label']}, {small_child['peak_memory_mb']:.1f} MB for "
            f"{small_child['urls']:,} at {small['label']}: {growth:.2f}× "
            f"(met if ≤ {SITEMAP_MEMORY_GROWTH}×: not growing with the child's addresses); "
            f"{1024 * child['peak_memory_mb'] / child['urls']:.2f} kB per address, so at most "
            f"about {child['peak_memory_mb'] / child['urls'] * SITEMAP_MAX_URLS:.0f} MB for a "
            f"full child",
        )
        target(
            f"Sitemap children < {SITEMAP_MS:,} ms",
            max(child["wall_ms_p95"], tags["wall_ms_p95"]) < SITEMAP_MS,
            f"story child wall p95 {child['wall_ms_p95']:.0f} ms "
            f"(CPU {child['cpu_ms_p50']:.0f}), tags sitemap {tags['wall_ms_p95']:.0f} ms "
            f"(CPU {tags['cpu_ms_p50']:.0f})",
        )
    else:
        target("Sitemaps", None, "a sitemap row is missing")
    for kind, limit in DESK_P95_MS.items():
        rows = {name: row for name, row in big["desk"].items() if name.startswith(kind)}
        target(
            f"The desk, {kind} p95 < {limit} ms at {big['label']}",
            bool(rows) and all(row["wall_ms_p95"] < limit for row in rows.values()),
            ", ".join(f"{name} {row['wall_ms_p95']:.0f} ms" for name, row in rows.items())
            or "not measured",
        )
    return lines


def method_lines(args, results, measured):
    big = results[-1]
    settings = next((m["database_settings"] for m in measured if m), {})
    jit = settings.get("jit", "not read")
    lines = [
        "Briefing files are generated (`bench/scale.py`: one file per section and day of "
        f"{STORIES_PER_FILE:,} stories, the date in the file name; bodies of {args.words} "
        "words, about 1 kB: a wire brief rather than `make bench`'s 600-word feature, so a "
        "million stories with their revisions and search index fit the disk) and imported "
        "through the importer's one entry point (`stories.importer.import_briefings`, what "
        "`manage.py import_briefing` calls) by `bench/scale_import.py`, one transaction per "
        f"run of up to {args.chunk:,} stories (one section's files). "
        f"The {big['label']} archive ({big['files']:,} files) is built by {big['jobs']} "
        "import processes at once, each taking every other run but the last, with "
        "`synchronous_commit = off` set on that database alone for the build (a commit does "
        "not wait for the WAL to reach the disk; reset before the importer's own rows). "
        "`ANALYZE` runs each time the archive doubles from 20,000 stories and once the build "
        "is done (so the importer's queries are planned from statistics whether or not "
        "autovacuum is on); then the last run is imported alone, into the nearly full "
        "archive, in a process of its own: that is the importer's new-stories row. "
        "The small archive is built by one process, all its runs in order. "
        "The unchanged re-import runs the last run's files again in a fresh process. "
        "Peak RSS is the import process's (VmHWM); client CPU is its own, server CPU its "
        "PostgreSQL backend's (/proc).",
        "",
        "Tags: the place tagger knows only the world's countries, so after the importer rows "
        f"are measured editors' topic tags are added (to {args.stories_per_topic} random "
        f"stories each) until there are {args.tags:,}; then `VACUUM ANALYZE`.",
        "",
        "Reader pages and the desk: `bench/scale_measure.py`, run in a **fresh process per "
        "database** ("
        + ", ".join(f"{m['label']}: pid {m['pid']}" for m in measured if m)
        + "), the page cache and cached pieces off (`PAGE_CACHE_SECONDS=0`, "
        "`FRAGMENT_CACHE_SECONDS=0`), so each page is rendered from scratch. Reader pages "
        "through the WSGI application in process (no network, no test client), the desk "
        "through Django's test client as a logged-in editor. "
        f"{args.requests} timed requests per row after 2 untimed ones (sitemaps and each search "
        f"query {max(1, args.requests // 3)}); CPU is the measuring process's (Python's "
        "work), wall includes the database's. Search rows take p50/p95 over every request of "
        "every query of that many words. The pages measured are picked from the data (the "
        "biggest section, its page 5,000 or last page, the most used tag and byline, a story "
        "from the middle of the archive).",
        "",
        "PostgreSQL as the measuring sessions saw it: "
        + ", ".join(f"`{name}` = {value}" for name, value in settings.items())
        + f". JIT is **{jit}** (as the server is configured; nothing set for the bench).",
    ]
    return lines


def kept_sections(path):
    """The ``## `` sections of an earlier report this script does not write, in order."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    sections = re.split(r"^(?=## )", text, flags=re.M)[1:]
    return [
        section.rstrip("\n")
        for section in sections
        if section.splitlines()[0].strip() not in GENERATED
    ]


def report(args, results, measured, started_at, seconds, loads):
    names = ", ".join(urlsplit(r["url"]).path.lstrip("/") for r in results)
    counts = " and ".join(f"{r['stories']:,}" for r in results)
    lines = [
        "# Newsroom at scale (`make bench-scale`)",
        "",
        f"Written by `bench/scale.py` from one run ({started_at:%Y-%m-%d %H:%M} UTC, "
        f"{seconds / 60:.0f} min): every section below up to the hand-written ones it keeps."
        + (
            " With `--resume`: databases an earlier run built completely were measured "
            "again, not built again (Phases says which)."
            if args.resume
            else ""
        ),
        "",
        "## Run",
        "",
        f"- Machine: {bench.machine()}",
        f"- Load average at the start {loads[0]}, at the end {loads[1]} (the machine may be "
        "shared: wall-clock figures move with its load, CPU ms much less)",
        f"- Databases: PostgreSQL, {names}",
        f"- Stories: {counts}, all live, in 8 sections (uneven shares), 500 bylines, "
        f"{args.tags:,} tags; bodies of {args.words} words",
        f"- Command: `python bench/scale.py {' '.join(sys.argv[1:])}`",
        "",
        "## Method",
        "",
        *method_lines(args, results, measured),
        "",
        "## Phases",
        "",
        "| phase | minutes | load at start | load at end |",
        "|---|---:|---|---|",
        *(f"| {n} | {s / 60:.1f} | {a} | {b} |" for n, s, a, b in PHASES),
        "",
        "## Importer on PostgreSQL",
        "",
        *importer_table(results),
        "",
    ]
    small, big = measured[0], measured[-1]
    for heading, group in (
        ("## Reader pages, search, sitemaps", "reader"),
        ("## The desk", "desk"),
    ):
        lines += [heading, ""]
        if small is None or big is None:
            lines += ["Not measured (`--skip-measure`).", ""]
            continue
        lines += [*side_by_side(small, big, group), ""]
        if group == "reader":
            lines += [
                f"The {PER_URL_ROW}'s ratios are of CPU per address: "
                + ", ".join(
                    f"{m['reader'][PER_URL_ROW]['urls']:,} addresses at {m['label']}"
                    for m in (small, big)
                    if PER_URL_ROW in m["reader"]
                )
                + ".",
                "",
                "Picked: "
                + "; ".join(
                    f"{m['label']}: "
                    + ", ".join(f"{key} {value}" for key, value in m["context"].items())
                    for m in (small, big)
                )
                + ".",
                "",
            ]
    lines += ["## Targets", ""]
    if small and big:
        lines += [
            "Wall-clock targets include the wait for a core: the measuring ran at load "
            + ", ".join(
                f"{m['load_at_start'].split()[0]}–{m['load_at_end'].split()[0]} ({m['label']})"
                for m in (small, big)
            )
            + f" on {os.cpu_count()} cores.",
            "",
        ]
    lines += [*target_lines(results, measured), ""]
    kept = kept_sections(args.output)
    return "\n".join(lines) + ("\n" + "\n\n".join(kept) + "\n" if kept else "")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--tags", type=int, default=2_000)
    parser.add_argument("--stories-per-topic", type=int, default=20)
    parser.add_argument(
        "--jobs", type=int, default=2, help="import processes building the big archive at once"
    )
    parser.add_argument("--requests", type=int, default=10, help="timed requests per row")
    parser.add_argument("--skip-measure", action="store_true")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="measure databases a previous run built (and saved the figures of) again",
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "SCALE.md")
    ARGS = args = parser.parse_args()
    started_at, started = datetime.now(UTC), time.perf_counter()
    start_load = bench.load_average()
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "run.log").write_text("")
    log(f"writing {args.output} at the end; progress every {PROGRESS_SECONDS}s while building")
    results = []
    for count in (args.small, args.stories):
        jobs = 1 if count <= args.chunk else args.jobs
        results.append(build(count, args.words, args.chunk, jobs, args.resume))
    # Both archives measured after both are built, one after the other, so under the
    # nearest load we can give them.
    measured = [None if args.skip_measure else measure(result) for result in results]
    seconds = time.perf_counter() - started
    (WORK / "results.json").write_text(json.dumps({"importer": results, "measured": measured}))
    text = report(args, results, measured, started_at, seconds, (start_load, bench.load_average()))
    args.output.write_text(text, encoding="utf-8")
    log(f"wrote {args.output} ({seconds / 60:.0f} min)")


ARGS = None

if __name__ == "__main__":
    main()
