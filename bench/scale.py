"""Newsroom at a national newsroom's scale: `make bench-scale` (not part of `make test`).

    python bench/scale.py [--stories 1000000] [--small 10000] [--words 150] [--chunk 20000]

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
- ``bench/scale_measure.py`` for both databases, when it exists (reader pages, search,
  sitemaps, the desk);
- ``bench/SCALE.md``: method, machine, the tables, the targets.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
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
    print(f"[bench-scale] {message}", flush=True)


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


def import_runs(url, runs, name):
    """Run ``runs`` one after another in one import process; one dict of figures per run."""
    return finished(start_import(url, runs, name), name)


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


def build(count, words, chunk, jobs):
    """Build the archive of ``count`` stories through the importer; the importer's rows.

    With ``jobs`` > 1 all runs but the last are spread over that many import processes at
    once (each run is still one transaction; a run that races another to create a byline
    or tag rolls back and plans again, as the importer does), which only builds the archive
    sooner; the importer's own rows are then measured on the last run alone, into the full
    archive, in a process of its own."""
    label = label_for(count)
    url = database_url(label)
    runs = write_briefings(count, words, WORK / label, chunk)
    log(f"{label}: fresh database {urlsplit(url).path.lstrip('/')}")
    bench.fresh_database(url, drop=True)
    env = bench.django_env(url)
    bench.run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    rows = {}
    if jobs == 1:
        figures = import_runs(url, runs, f"{label}-new")
        rows["new (all runs, one process)"] = summed(figures)
        rows["new (last run)"] = summed(figures[-1:])
    else:
        started = time.perf_counter()
        processes = [
            (start_import(url, runs[index:-1:jobs], f"{label}-build-{index}"), index)
            for index in range(jobs)
        ]
        figures = []
        for process, index in processes:
            figures.extend(finished(process, f"{label}-build-{index}"))
        build = summed(figures)
        build["seconds"] = time.perf_counter() - started
        build["stories_per_second"] = build["stories"] / build["seconds"]
        rows[f"build ({jobs} processes at once, all runs but the last)"] = build
        log(f"{label}: built {build['stories']:,} stories in {build['seconds']:.0f}s")
        rows["new (last run)"] = summed(import_runs(url, runs[-1:], f"{label}-last"))
    log(f"{label}: re-importing the last run's {runs[-1]['stories']:,} stories unchanged")
    rows["unchanged re-import (last run)"] = summed(
        import_runs(url, runs[-1:], f"{label}-unchanged")
    )
    assert rows["unchanged re-import (last run)"]["counts"]["unchanged"] == runs[-1]["stories"]
    for name, row in rows.items():
        log(
            f"{label}: {name}: {row['stories']:,} stories, {row['stories_per_second']:,.0f}/s, "
            f"{row['cpu_ms_per_story']:.2f} CPU ms/story, peak {row['peak_mb']:.0f} MB"
        )
    add_topic_tags(url, env)
    return {
        "label": label,
        "url": url,
        "stories": count,
        "files": sum(len(r["files"]) for r in runs),
        "chunk": chunk,
        "rows": rows,
    }


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
    import psycopg

    started = time.perf_counter()
    completed = bench.run_python(
        ["-c", TOPIC_SCRIPT, str(ARGS.tags), str(ARGS.stories_per_topic), " ".join(WORDS)],
        env,
        capture_output=True,
        text=True,
    )
    log(f"tags now {completed.stdout.strip()} ({time.perf_counter() - started:.0f}s)")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


# --- the reader's and the desk's rows (bench/scale_measure.py, helper "scale") -------------


def measure(result):
    script = BENCH_DIR / "scale_measure.py"
    if not script.exists():
        log("bench/scale_measure.py is not in this checkout: reader and desk rows skipped")
        return None
    out = WORK / f"measure-{result['label']}.json"
    env = bench.django_env(result["url"])
    bench.run_python(
        [
            str(script),
            "--database-url",
            result["url"],
            "--label",
            result["label"],
            "--json",
            str(out),
        ],
        env,
    )
    return json.loads(out.read_text())


# --- report ---------------------------------------------------------------------------


def verdict(ok):
    return "**met**" if ok else "**not met**"


def importer_table(results):
    lines = [
        "| archive | run | stories | wall s | stories/s | client CPU s | server CPU s | "
        "CPU ms/story | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for name, row in result["rows"].items():
            lines.append(
                f"| {result['label']} | {name} | {row['stories']:,} | {row['seconds']:.1f} | "
                f"{row['stories_per_second']:,.0f} | {row['client_cpu_seconds']:.1f} | "
                f"{row['server_cpu_seconds']:.1f} | {row['cpu_ms_per_story']:.2f} | "
                f"{row['peak_mb']:.0f} |"
            )
    return lines


def measure_section(result, measured):
    lines = [f"### {result['label']}", ""]
    if measured is None:
        return [*lines, "Skipped: `bench/scale_measure.py` is not in this checkout.", ""]
    lines += ["```json", json.dumps(measured, indent=2)[:20000], "```", ""]
    return lines


def report(args, results, measured, started_at, seconds):
    names = ", ".join(urlsplit(r["url"]).path.lstrip("/") for r in results)
    counts = ", ".join(f"{r['stories']:,}" for r in results)
    lines = [
        "# Newsroom at scale (`make bench-scale`)",
        "",
        f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; whole run {seconds / 60:.0f} min",
        f"- Machine: {bench.machine()}; load average at the end {bench.load_average()} "
        "(the machine is shared: wall-clock rates move with its load, CPU ms/story much less)",
        f"- Databases: PostgreSQL, {names}",
        f"- Stories: {counts}, all live, in 8 sections "
        f"(uneven shares), 500 bylines, {args.tags:,} tags; bodies of {args.words} words "
        "(about 1 kB: a wire brief rather than `make bench`'s 600-word feature, so a million "
        "stories with their revisions and search index fit the disk and the 25-minute run)",
        "",
        "## Method",
        "",
        "Briefing files are generated (`bench/scale.py`: one file per section and day of "
        f"{STORIES_PER_FILE:,} stories, the date in the file name) and imported through the "
        "importer's one entry point (`stories.importer.import_briefings`, what "
        "`manage.py import_briefing` calls) by `bench/scale_import.py`, one transaction per "
        f"run of up to {args.chunk:,} stories (one section's files). The 1M archive is built "
        f"in {results[-1]['files']:,} files. New stories/s is over all runs and for the last "
        "run alone (into the nearly full archive); the unchanged re-import runs the last run's "
        "files again in a fresh process. Peak RSS is the import process's "
        "(VmHWM); server CPU is the PostgreSQL backend's (/proc). Tags: the place "
        "tagger knows only the world's countries, so after the importer rows are measured "
        f"editors' topic tags are added (to {args.stories_per_topic} random stories each) "
        f"until there are {args.tags:,}.",
        "",
        "## Importer on PostgreSQL",
        "",
        *importer_table(results),
        "",
    ]
    for result in results:
        rows = result["rows"]
        new, again = rows["new (last run)"], rows["unchanged re-import (last run)"]
        peak = max(row["peak_mb"] for row in rows.values())
        lines.append(
            f"- {result['label']}: new {new['stories_per_second']:,.0f}/s "
            f"(≥ {TARGETS['new']:,}: {verdict(new['stories_per_second'] >= TARGETS['new'])}); "
            f"unchanged {again['stories_per_second']:,.0f}/s (≥ {TARGETS['unchanged']:,}: "
            f"{verdict(again['stories_per_second'] >= TARGETS['unchanged'])}); peak "
            f"{peak:.0f} MB (< {TARGETS['peak_mb']}: {verdict(peak < TARGETS['peak_mb'])})"
        )
    lines += ["", "## Reader pages, search, sitemaps, the desk (`bench/scale_measure.py`)", ""]
    for result, figures in zip(results, measured, strict=True):
        lines += measure_section(result, figures)
    return "\n".join(lines) + "\n"


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
    parser.add_argument("--skip-measure", action="store_true")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "SCALE.md")
    ARGS = args = parser.parse_args()
    started_at, started = datetime.now(UTC), time.perf_counter()
    results = []
    for count in (args.small, args.stories):
        log(f"building {count:,} stories")
        jobs = 1 if count <= args.chunk else args.jobs
        results.append(build(count, args.words, args.chunk, jobs))
    measured = [None if args.skip_measure else measure(result) for result in results]
    seconds = time.perf_counter() - started
    (WORK / "results.json").write_text(json.dumps({"importer": results, "measured": measured}))
    args.output.write_text(report(args, results, measured, started_at, seconds))
    log(f"wrote {args.output} ({seconds / 60:.0f} min)")


ARGS = None

if __name__ == "__main__":
    main()
