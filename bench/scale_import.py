"""Run imports for ``bench/scale.py`` in one process and say what each cost (not a test).

    python bench/scale_import.py JOBS.json

JOBS.json is a list of runs, each ``{"files": [...], "section": "world"}``. Every run is one
call of the importer's entry point (``stories.importer.import_briefings``), so one
transaction, exactly as ``manage.py import_briefing FILE...`` makes it. For each run one JSON
line goes to standard output: the counts, wall seconds, this process's CPU seconds, the
PostgreSQL server process's CPU seconds (read from /proc when the server runs on this
machine; null otherwise) and this process's peak resident memory so far (VmHWM).
"""

import json
import os
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from stories.importer import import_briefings, read_briefing_file  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid):
    """User and system CPU time of the database server process ``pid``; None if unreadable
    (the server runs elsewhere, or as a user we may not look at)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3 of stat, utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_mb():
    """This program's own high-water mark (VmHWM): ``ru_maxrss`` survives exec, so it would
    also count the process that started this one."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    jobs = json.loads(Path(sys.argv[1]).read_text())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        server_pid = cursor.fetchone()[0]
    for job in jobs:
        server_before = server_cpu_seconds(server_pid)
        cpu_before = own_cpu_seconds()
        started = time.perf_counter()
        briefings = [read_briefing_file(path) for path in job["files"]]
        result = import_briefings(briefings, section=job["section"])
        seconds = time.perf_counter() - started
        server_after = server_cpu_seconds(server_pid)
        counts = result.counts
        # Before the next run: its peak should not include this one's stories.
        del briefings, result
        print(
            json.dumps(
                {
                    "counts": counts,
                    "stories": sum(counts.values()) - counts["missing"],
                    "seconds": seconds,
                    "client_cpu_seconds": own_cpu_seconds() - cpu_before,
                    "server_cpu_seconds": None
                    if server_before is None or server_after is None
                    else server_after - server_before,
                    "peak_mb": peak_mb(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
