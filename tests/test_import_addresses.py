"""A report's addresses (``stories.importer.report.Addresses``) are formatted only when
read, all at once (a run whose report gives none never loads the URL configuration), and
are then what they were when the import finished, whatever time zone or script prefix is
active by then."""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.urls import get_script_prefix, set_script_prefix
from django.utils import timezone

from stories.importer import import_briefings, report
from stories.importer.parser import parse_briefing
from stories.models import Story

from .briefings import THREE_STORIES

TEXT = THREE_STORIES


def run_import(**options):
    return import_briefings([parse_briefing(TEXT, source="2024-03-05-ferries.txt")], **options)


@pytest.mark.django_db
def test_addresses_are_formatted_only_when_read():
    with mock.patch.object(Story, "absolute_urls", wraps=Story.absolute_urls) as formatting:
        result = run_import()
        assert result.counts["created"] == 3
        formatting.assert_not_called()
        urls = [outcome.url for outcome in result.outcomes]
        # All at once, when the first is read.
        formatting.assert_called_once()
    assert urls == [
        Story.objects.get(headline=o.headline).get_absolute_url() for o in result.outcomes
    ]
    assert urls[0].startswith("/2024/03/05/")
    assert result.as_dict()["stories"][0]["url"] == urls[0]


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_addresses_are_those_of_the_import_whenever_read(settings, dry_run):
    run_import()
    # Stories published just before midnight UTC have another day in Tokyo.
    Story.objects.update(published_at=datetime(2024, 3, 5, 23, 30, tzinfo=UTC))
    settings.TIME_ZONE = "UTC"
    before = get_script_prefix()
    try:
        set_script_prefix("/news/")
        with timezone.override("Asia/Tokyo"):
            result = run_import(dry_run=dry_run)
            expected = [o.url for o in run_import(dry_run=True).outcomes]
        set_script_prefix("/elsewhere/")
        assert [o.url for o in result.outcomes] == expected
        assert get_script_prefix() == "/elsewhere/"  # put back after formatting
    finally:
        set_script_prefix(before)
    assert expected[0].startswith("/news/2024/03/06/")


@pytest.mark.django_db
def test_missing_stories_have_their_addresses_after_the_planned_ones():
    run_import()
    shorter = TEXT.split("\n\nCouncil")[0] + "\n"
    result = import_briefings([parse_briefing(shorter, source="2024-03-05-ferries.txt")])
    by_headline = {o.headline: o for o in result.outcomes}
    assert by_headline["Harbour works begin"].action == report.Action.MISSING
    for headline, outcome in by_headline.items():
        assert outcome.url == Story.objects.get(headline=headline).get_absolute_url()


@pytest.mark.django_db
def test_an_undated_new_draft_is_addressed_by_the_day_of_the_import(reporter_user, time_machine):
    # A Reporter's dry run: the new drafts have neither a publication nor a creation time,
    # so their address takes the day of the import, not of the reading.
    from tests.factories import SectionFactory

    SectionFactory(slug="world", name="World")
    time_machine.move_to(datetime(2024, 3, 5, 12, tzinfo=UTC), tick=False)
    preview = run_import(user=reporter_user, status="draft", dry_run=True)
    time_machine.move_to(datetime(2024, 3, 9, 12, tzinfo=UTC), tick=False)
    assert {outcome.url[:12] for outcome in preview.outcomes} == {"/2024/03/05/"}
