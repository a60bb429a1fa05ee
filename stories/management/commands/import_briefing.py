import json
from argparse import ArgumentTypeError
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from stories.importer import BriefingError, import_briefings, read_briefing_file
from stories.importer.report import Action
from stories.models import Story


def iso_date(value):
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


class Command(BaseCommand):
    help = (
        "Import plain-text news briefings as stories. All files are one transaction: "
        "a bad file means nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Briefing files (UTF-8).")
        parser.add_argument(
            "--section", default="world", help="Section slug (created if missing; default world)."
        )
        parser.add_argument(
            "--date",
            type=iso_date,
            help="Publication date YYYY-MM-DD (default: a date leading the file name, or today).",
        )
        parser.add_argument(
            "--status",
            # The plain values, so an error lists "draft, review, published".
            choices=[
                str(status.value)
                for status in (Story.Status.DRAFT, Story.Status.REVIEW, Story.Status.PUBLISHED)
            ],
            default=Story.Status.PUBLISHED,
            help="Status of the imported stories (default published).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would happen; write nothing."
        )
        parser.add_argument(
            "--restore-deleted",
            action="store_true",
            help="Import again the stories of these files that were deleted in the newsroom "
            "(by default they are left out and reported as deleted).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print only JSON on standard output.",
        )

    def handle(
        self, *args, paths, section, date, status, dry_run, restore_deleted, as_json, **options
    ):
        try:
            briefings = [read_briefing_file(path) for path in paths]
            result = import_briefings(
                briefings,
                section=section,
                day=date,
                status=status,
                dry_run=dry_run,
                restore_deleted=restore_deleted,
            )
        except BriefingError as error:
            raise CommandError(str(error)) from None
        if as_json:
            self.write_json(result)
        else:
            self.write_summary(result)

    def write_json(self, result):
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))

    def write_summary(self, result):
        if result.dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing was written."))
        for outcome in result.outcomes:
            label = outcome.action.result_label
            self.stdout.write(f"{label:>10}  {outcome.headline}  {outcome.url}".rstrip())
            if result.dry_run and outcome.parsed is not None:
                self.write_parse(outcome)
            if outcome.reason:
                self.stdout.write(f"{'':>12}{outcome.reason}")
        counts = result.counts
        summary = ", ".join(f"{number} {name}" for name, number in counts.items())
        left_alone = counts[Action.CONFLICT.count_name] or counts[Action.DELETED.count_name]
        style = self.style.WARNING if left_alone else self.style.SUCCESS
        where = f"section {result.section}, {result.publication_status}"
        self.stdout.write(style(f"{summary} ({where}{', dry run' if result.dry_run else ''})"))

    def write_parse(self, outcome):
        parsed = outcome.parsed
        details = [
            ("deck", parsed.deck or "(none)"),
            ("paragraphs", str(len(parsed.paragraphs))),
            ("bylines", ", ".join(parsed.bylines) or "(none)"),
            ("tags", ", ".join(outcome.tags) or "(none)"),
            ("published", outcome.published_at.isoformat() if outcome.published_at else "-"),
        ]
        for name, value in details:
            self.stdout.write(f"{'':>12}{name}: {value}")
