"""`make audit-ci` (bench/audit.py --assert): what fails it and what it only reports, judged
on Lighthouse results shaped as Lighthouse writes them."""

import importlib.util
from pathlib import Path

import pytest

AUDIT_PY = Path(__file__).resolve().parents[1] / "bench" / "audit.py"


@pytest.fixture(scope="module")
def audit():
    spec = importlib.util.spec_from_file_location("newsroom_audit", AUDIT_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def result(performance=1.0, accessibility=1.0, best_practices=1.0, seo=1.0, failing=()):
    """A Lighthouse JSON result: the four category scores, and the audits named in
    ``failing`` (as ``category/audit-id``) scored 0 with weight, every other one passing."""
    categories = {}
    audits = {}
    for key, score in (
        ("performance", performance),
        ("accessibility", accessibility),
        ("best-practices", best_practices),
        ("seo", seo),
    ):
        refs = [{"id": f"{key}-fine", "weight": 1}]
        audits[f"{key}-fine"] = {"score": 1}
        for name in failing:
            category, audit_id = name.split("/")
            if category == key:
                refs.append({"id": audit_id, "weight": 1})
                audits[audit_id] = {"score": 0}
        categories[key] = {"score": score, "auditRefs": refs}
    return {
        "categories": categories,
        "audits": audits,
        "lighthouseVersion": "12.8.2",
        "environment": {"benchmarkIndex": 1234.4},
    }


def test_full_marks_pass(audit):
    for page in ("home", "story", "search"):
        assert audit.problems_with(page, result()) == []


def test_accessibility_or_best_practices_below_100_fail_anywhere(audit):
    low = result(accessibility=0.98, failing=["accessibility/target-size"])
    assert audit.problems_with("home", low) == ["Accessibility 98: ['target-size']"]
    assert audit.problems_with("search", low)
    assert audit.problems_with("story", result(best_practices=0.96, failing=["best-practices/x"]))


def test_seo_below_100_fails_an_indexable_page(audit):
    assert audit.problems_with("tag", result(seo=0.92, failing=["seo/meta-description"]))


def test_search_may_lose_seo_points_for_noindex_only(audit):
    noindex = result(seo=0.54, failing=["seo/is-crawlable"])
    assert audit.problems_with("search", noindex) == []
    assert audit.problems_with("home", noindex), "noindex on an indexable page is a failure"
    more = result(seo=0.5, failing=["seo/is-crawlable", "seo/meta-description"])
    assert audit.problems_with("search", more) == [
        "SEO loses points for more than noindex: ['meta-description']"
    ]


def test_performance_is_reported_not_asserted(audit, tmp_path):
    slow = result(performance=0.41, failing=["performance/largest-contentful-paint"])
    assert audit.problems_with("story", slow) == []
    report = tmp_path / "AUDIT.md"
    versions = {"date": "2026-12-05 01:00 UTC", "lighthouse": "12.8.2", "chromium": "Chromium 1"}
    audit.write_report(
        report, [("story", "mobile", slow), ("search", "desktop", result())], versions
    )
    text = report.read_text()
    assert "| story | mobile | 41 | 100 | 100 | 100 | largest-contentful-paint | 1234 |" in text
    assert "| search | desktop | 100 | 100 | 100 | 100 (noindex on purpose) | — | 1234 |" in text
    assert "Lighthouse 12.8.2" in text and "Chromium 1" in text
