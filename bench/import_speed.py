"""The importer's two rates on PostgreSQL, alone (not a test; ``bench/scale.py`` builds more).

    python bench/import_speed.py [STORIES] [LABEL]

Writes briefings for STORIES stories (default 20,000; ``bench/scale.py``'s generator, 150-word
bodies, 1,000 stories a file) once, imports them into a fresh database
``<DATABASE_URL's name>_speed`` with ``bench/scale_import.py`` (one transaction per section's
run, one process), then imports the same runs again (all unchanged). Prints, for each: stories/s
(wall), client and server CPU ms per story, peak RSS, and the load average before it.
"""

import json
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run as bench  # noqa: E402
import scale  # noqa: E402


def load():
    return Path("/proc/loadavg").read_text().split()[:3]


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    label = sys.argv[2] if len(sys.argv) > 2 else ""
    runs = scale.write_briefings(count, 150, scale.WORK / f"speed-{count}", 10_000)
    url = scale.database_url("speed")
    bench.fresh_database(url, drop=True)
    env = bench.django_env(url, BRIEFING_MAX_BYTES=str(64 * 1024 * 1024))
    bench.run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    jobs = scale.WORK / "speed.json"
    jobs.write_text(json.dumps(runs))
    for name in ("new", "unchanged"):
        before = load()
        output = subprocess.run(
            [bench.PYTHON, str(BENCH_DIR / "scale_import.py"), str(jobs)],
            cwd=bench.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout
        total = scale.summed([json.loads(line) for line in output.splitlines() if line[:1] == "{"])
        stories = total["stories"]
        print(
            f"{label} {name}: {stories:,} stories, {total['stories_per_second']:,.0f}/s, "
            f"client {1000 * total['client_cpu_seconds'] / stories:.3f} + server "
            f"{1000 * total['server_cpu_seconds'] / stories:.3f} CPU ms/story, "
            f"peak {total['peak_mb']:.0f} MB, load {' '.join(before)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
