"""A short soak (bench/soak.py): readers load gunicorn while an editor publishes and edits in
the admin; zero 5xx, zero failed requests, every edit saved and visible. `make soak` runs
the full 60 seconds and records the figures in bench/RESULTS.md."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_soak_has_no_errors_and_loses_no_edit():
    env = {**os.environ, "SOAK_PORT": os.environ.get("SOAK_PORT") or str(free_port())}
    completed = subprocess.run(
        [sys.executable, "bench/soak.py", "--duration", "15", "--stories", "120", "--no-results"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads((ROOT / "bench" / "work" / "soak" / "results.json").read_text())
    assert results["passed"]
    assert results["server_errors"] == 0 and results["failed_requests"] == 0
    assert results["requests"] > 0
    assert results["published"] > 0 and results["edited"] > 0
    assert results["lost"] == [] and results["editor_failures"] == []
