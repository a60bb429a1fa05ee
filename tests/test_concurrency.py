"""Two imports of one briefing at the same moment, on PostgreSQL: no duplicates.

SQLite cannot run this race: its writers queue for one lock before they read, so the
second import always plans after the first has committed.
"""

import threading

import pytest
from django.db import connection, connections
from taggit.models import Tag

from stories.importer import import_briefings
from stories.importer.parser import parse_briefing
from stories.importer.plan import Plan
from stories.importer.report import Action
from stories.models import Byline, ImportRecord, Story

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs DATABASE_URL pointing at PostgreSQL: SQLite serialises writers, "
        "so two imports cannot race there",
    ),
]

BRIEFING = """Talks resume in Geneva over the border dispute
Negotiators from France and Germany met again on Monday.
The talks had stalled for a month after a disagreement over the map.
— By Ana Lima and Ben Okafor
Harvest falls short across the plains
Farmers in Kenya and Uganda report a poor season.
Rains came late and left early, officials said.
— By Priya Santos
"""


def test_two_simultaneous_imports_of_one_briefing_create_each_story_once(monkeypatch):
    briefing = parse_briefing(BRIEFING, source="2024-05-06-briefing.txt")
    # Both imports finish planning (and so both decide to create every story) before
    # either writes: the race at its worst.
    both_planned = threading.Barrier(2, timeout=20)
    first_attempts = set()
    original_make = Plan.make

    def plan_then_wait(self):
        result = original_make(self)
        thread = threading.get_ident()
        if thread not in first_attempts:
            first_attempts.add(thread)
            both_planned.wait()
        return result

    monkeypatch.setattr(Plan, "make", plan_then_wait)
    results, errors = [], []

    def run_import():
        try:
            results.append(import_briefings([briefing]))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_import) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(result.counts["created"] for result in results) == [0, 2]
    assert sorted(result.counts["unchanged"] for result in results) == [0, 2]
    winner, loser = sorted(results, key=lambda result: -result.counts["created"])
    assert {outcome.action for outcome in winner.outcomes} == {Action.CREATED}
    assert {outcome.action for outcome in loser.outcomes} == {Action.UNCHANGED}
    assert [o.url for o in loser.outcomes] == [o.url for o in winner.outcomes]
    assert Story.objects.count() == 2
    assert ImportRecord.objects.count() == 2
    assert Byline.objects.count() == 3
    assert sorted(Tag.objects.values_list("name", flat=True)) == [
        "France",
        "Germany",
        "Kenya",
        "Uganda",
    ]
