"""The unchanged re-import's shortcuts give what the long way gave.

- ``input_checksums`` (a briefing's checksums, shared parts encoded once) hashes the bytes
  the one-story ``input_checksum`` the importer used before (kept here as the reference)
  hashes, so records written by earlier imports still match;
- on PostgreSQL stored tags are read as ids and named afterwards, in mention order;
- the cycle collector is held off while a briefing is read and while an import plans and
  reports, and is given back as it was.
"""

import gc
import io
from datetime import date
from unittest import mock

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from stories.importer import import_briefings, parser, report
from stories.importer.parser import ParsedStory, garbage_collection_paused, parse_briefing
from stories.importer.plan import TAGGER_FINGERPRINT, Plan, hash_parts, input_checksums

from .briefings import THREE_STORIES

TEXT = THREE_STORIES

TEXTS = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
STORIES = st.builds(
    ParsedStory,
    headline=TEXTS,
    deck=TEXTS,
    paragraphs=st.lists(TEXTS, min_size=1, max_size=3).map(tuple),
    # Few names, so that stories share their bylines (encoded once) as real ones do.
    bylines=st.lists(st.sampled_from(["Ana Lima", "Jo Park", "Zoë", "李明", ""]), max_size=3).map(
        tuple
    ),
    line=st.just(1),
)


@settings(max_examples=200, deadline=None)
def input_checksum(parsed, section_slug, status, day):
    """The importer's checksum of one story as it was before ``input_checksums`` (what
    earlier imports stored)."""
    return hash_parts(
        (
            parsed.headline,
            parsed.deck,
            *parsed.paragraphs,
            "\x1e",
            *parsed.bylines,
            "\x1e",
            TAGGER_FINGERPRINT,
            section_slug,
            status,
            day.isoformat() if day else "",
        )
    )


@given(
    st.lists(STORIES, max_size=6),
    st.sampled_from(["world", "wörld-2"]),
    st.sampled_from(["published", "draft"]),
    st.one_of(st.none(), st.dates()),
)
def test_input_checksums_are_input_checksum(stories, section, status, day):
    assert input_checksums(stories, section, status, day) == [
        input_checksum(story, section, status, day) for story in stories
    ]


def test_input_checksums_of_a_lone_surrogate_are_input_checksum():
    # Text from a file never holds one, but the checksum has always hashed them.
    story = ParsedStory("Head\udc80line", "", ("Body.",), ("Ana",), line=1)
    assert input_checksums([story], "world", "published", date(2024, 1, 2)) == [
        input_checksum(story, "world", "published", date(2024, 1, 2))
    ]


def run_import(**options):
    return import_briefings([parse_briefing(TEXT, source="2024-03-05-ferries.txt")], **options)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the stored tags are named so on PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_unchanged_stories_report_their_stored_tags_in_mention_order():
    first = {o.headline: o.tags for o in run_import().outcomes}
    again = run_import()
    assert {o.action for o in again.outcomes} == {report.Action.UNCHANGED}
    assert {o.headline: o.tags for o in again.outcomes} == first
    assert first["Council votes on budget in Chile and Peru"] == ["Chile", "Peru"]
    assert first["Harbour works begin"] == ["Chile", "Japan"]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_tag_gone_before_it_is_named_is_left_out():
    run_import()
    real_filter = Tag.objects.filter

    def deleted_meanwhile(**lookups):
        # As if Chile were deleted between the query reading the links and this one.
        return real_filter(**lookups).exclude(name="Chile")

    with mock.patch.object(Tag.objects, "filter", side_effect=deleted_meanwhile):
        again = run_import(dry_run=True)
    tags = {o.headline: o.tags for o in again.outcomes}
    assert tags["Council votes on budget in Chile and Peru"] == ["Peru"]
    assert tags["Harbour works begin"] == ["Japan"]
    assert tags["Ferry to Peru reopens"] == ["Peru"]


def test_the_cycle_collector_is_held_off_and_given_back_as_it_was():
    assert gc.isenabled()
    with garbage_collection_paused():
        assert not gc.isenabled()
        with garbage_collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it off, and left it so
    assert gc.isenabled()
    with pytest.raises(ValueError), garbage_collection_paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with garbage_collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_briefing_is_read_with_the_cycle_collector_held_off():
    seen = []

    def noting(real):
        def call(*args, **kwargs):
            seen.append((real.__name__, gc.isenabled()))
            return real(*args, **kwargs)

        return call

    with (
        mock.patch.object(parser, "_parse_lines", noting(parser._parse_lines)),
        mock.patch.object(parser, "_read_content_lines", noting(parser._read_content_lines)),
    ):
        parser.read_briefing(io.BytesIO(TEXT.encode()), "a.txt")
        parse_briefing(TEXT, "b.txt")
    assert seen == [
        ("_read_content_lines", False),
        ("_parse_lines", False),
        ("_parse_lines", False),
    ]
    assert gc.isenabled()


@pytest.mark.django_db
def test_an_import_plans_and_reports_with_the_cycle_collector_held_off():
    seen = {}
    real_make, real_outcomes = Plan.make, report.outcomes

    def make(plan):
        seen["make"] = gc.isenabled()
        return real_make(plan)

    def outcomes(plan):
        seen["outcomes"] = gc.isenabled()
        return real_outcomes(plan)

    with (
        mock.patch.object(Plan, "make", make),
        mock.patch("stories.importer.service.report.outcomes", outcomes),
    ):
        run_import()
    assert seen == {"make": False, "outcomes": False}
    assert gc.isenabled()
