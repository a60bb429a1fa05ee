"""``import_briefings``: the importer's one entry point, used by ``manage.py import_briefing``
and the admin's import page (``stories.editorial.briefing_import``).

A run reads its sources (``sources``), plans (``plan``: reads only), then writes
(``write``: one transaction) or, in a dry run, only previews; either way it reports
(``report``).
"""

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from stories.models import Story

from . import report
from .parser import garbage_collection_paused
from .plan import Plan
from .write import Writer

# Two imports racing on PostgreSQL: the loser hits a unique constraint, rolls back and
# plans again, now seeing the winner's rows (so its stories come out "unchanged").
IMPORT_ATTEMPTS = 3
# Migration 0029's: shared by imports, exclusive for a rename.
RENAME_LOCK = 160_507_227


def hold_off_renames():
    """PostgreSQL: renaming a section, byline or tag waits until this import commits (the
    rename triggers of migration 0029 take this lock exclusively; imports share it).

    The records an import writes hold checksums made from the names it read, and say their
    stories are untouched since; a rename committed while the import runs could not reach its
    stories, which no other session sees yet, and would go unnoticed on re-import.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [RENAME_LOCK])


def import_briefings(
    briefings,
    *,
    section="world",
    day=None,
    status=Story.Status.PUBLISHED,
    user=None,
    dry_run=False,
    now=None,
    restore_deleted=False,
):
    """Import parsed briefings as one unit: all of them are written, or none.

    Raises ``BriefingError`` for bad options; returns an ``ImportResult`` in which
    conflicts and missing stories are reported, not raised. Stories deleted in the
    newsroom since an earlier import are left out and reported, unless ``restore_deleted``.

    Safe to run twice at once: the database's unique constraints (story slug, one import
    record per file and headline, byline slug, tag name) stop the second run from creating
    duplicates, and it then starts over and finds the first run's stories unchanged.
    """
    briefings = list(briefings)
    now = now or timezone.now()
    for attempt in range(1, IMPORT_ATTEMPTS + 1):
        plan = Plan(
            briefings,
            section=section,
            day=day,
            status=status,
            user=user,
            now=now,
            restore_deleted=restore_deleted,
        )
        try:
            with transaction.atomic():
                if not dry_run:
                    hold_off_renames()
                # Planning and reporting make a few objects per story and keep them all:
                # the cycle collector would go through them again and again for nothing.
                # (Writing is left to it: new stories' model rows come and go.)
                with garbage_collection_paused():
                    plan.make()
                if dry_run:
                    # The slugs new stories would get, for their addresses in the preview.
                    plan.allocate_new_slugs()
                else:
                    Writer(plan).apply()
        except IntegrityError:
            if attempt == IMPORT_ATTEMPTS:
                raise
            continue
        break
    with garbage_collection_paused():
        outcomes = report.outcomes(plan)
    return report.ImportResult(
        outcomes=outcomes,
        section=section,
        publication_status=status,
        dry_run=dry_run,
    )
