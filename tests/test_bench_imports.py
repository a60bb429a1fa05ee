"""The benchmarks name the project's code in their own modules and in the scripts they hand
to a fresh Python (``python -c``). Neither is run by the suite, so a renamed function broke
``make bench`` twice without a failing test: every ``from stories... import name`` they
contain must still resolve."""

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
IMPORT = re.compile(r"^\s*from (stories[\w.]*) import ([\w, ()]+)$", re.MULTILINE)


def project_imports(path):
    """``(module, name)`` pairs of ``stories`` imports in ``path``'s code and in its string
    constants (scripts it runs elsewhere)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stories"):
            found.update((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for module, names in IMPORT.findall(node.value):
                found.update((module, name.strip()) for name in names.strip("()").split(","))
    return sorted(pair for pair in found if pair[1])


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda path: path.name)
def test_every_name_a_benchmark_imports_from_the_project_exists(path):
    missing = [
        f"{module}.{name}"
        for module, name in project_imports(path)
        if not hasattr(importlib.import_module(module), name)
        and importlib.util.find_spec(f"{module}.{name}") is None
    ]
    assert not missing, f"{path.name} imports names the project no longer has: {missing}"


def test_the_check_reads_scripts_inside_strings(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text('CODE = """\nfrom stories.delivery.generation import content_changed\n"""\n')
    assert project_imports(path) == [("stories.delivery.generation", "content_changed")]
