"""The importer's saving rules: seed import, idempotency, corrections, conflicts, options."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stories.importer import import_briefings, read_briefing_file
from stories.importer.parser import BriefingError, parse_briefing
from stories.models import Byline, ImportRecord, Section, Story
from stories.reader.search import search_stories

from .factories import BylineFactory, SectionFactory

pytestmark = pytest.mark.django_db

SEED_HEADLINES = [
    "North Korea’s Kim arrives in Russia’s far east for summit with Putin",
    "Beijing sets Fujian as Taiwan trade zone",
    "China builds up coastal military bases",
    "US lawmakers plan China visits",
]

SMALL = """Dam opens on the river
Water flowed through the new gates on Monday, officials said.
— By Ana Lima

Council votes on budget
The vote was close, members said.
— Jo Park
"""


def run_import(text, name="briefing.txt", **options):
    return import_briefings([parse_briefing(text, source=name)], **options)


def actions(result):
    return [(outcome.headline, outcome.action) for outcome in result.outcomes]


def test_seed_imports_exactly_four_live_stories(seed_path):
    result = import_briefings([read_briefing_file(seed_path)])
    assert result.counts == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "conflicts": 0,
        "missing": 0,
        "deleted": 0,
    }
    stories = list(Story.objects.live().for_listing().order_by("pk"))
    assert [story.headline for story in stories] == SEED_HEADLINES
    assert [story.deck for story in stories] == [
        "US says Pyongyang set to supply arms for Moscow's war in Ukraine.",
        "",
        "",
        "",
    ]
    assert [len(story.paragraphs) for story in stories] == [15, 4, 3, 1]
    assert {tuple(b.name for b in story.ordered_bylines) for story in stories} == {
        ("William Roberts",)
    }
    assert Byline.objects.get().name == "William Roberts"
    assert Section.objects.get().name == "World"
    assert all(story.section.slug == "world" for story in stories)
    tags = [{tag.name for tag in story.tags.all()} for story in stories]
    assert {"North Korea", "Russia", "Ukraine", "United States", "South Korea", "China"} <= tags[0]
    assert tags[1:] == [{"China", "Taiwan"}, {"China", "Taiwan"}, {"United States", "China"}]


def test_seed_text_is_kept_exactly(seed_path):
    import_briefings([read_briefing_file(seed_path)])
    story = Story.objects.get(headline=SEED_HEADLINES[0])
    raw = seed_path.read_text(encoding="utf-8").splitlines()
    assert story.paragraphs == raw[2:17]
    assert "“prioritizing the strategic importance”" in story.body
    assert "nation — this is not" in story.body


def test_reimport_changes_nothing_and_writes_no_row(seed_path):
    import_briefings([read_briefing_file(seed_path)])
    before = {story.pk: story.updated_at for story in Story.objects.all()}
    with CaptureQueriesContext(connection) as queries:
        result = import_briefings([read_briefing_file(seed_path)])
    assert [outcome.action for outcome in result.outcomes] == ["unchanged"] * 4
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]
    assert writes == []
    assert {story.pk: story.updated_at for story in Story.objects.all()} == before


def test_reimport_on_a_later_day_keeps_stories_where_they_are(seed_path):
    import_briefings([read_briefing_file(seed_path)])
    urls = sorted(story.get_absolute_url() for story in Story.objects.all())
    tomorrow = timezone.now() + timedelta(days=1)
    result = import_briefings([read_briefing_file(seed_path)], now=tomorrow)
    assert {outcome.action for outcome in result.outcomes} == {"unchanged"}
    assert sorted(story.get_absolute_url() for story in Story.objects.all()) == urls


def test_corrected_briefing_updates_the_stories_it_created():
    run_import(SMALL)
    corrected = SMALL.replace("officials said.", "officials said on Tuesday.")
    result = run_import(corrected)
    assert actions(result) == [
        ("Dam opens on the river", "updated"),
        ("Council votes on budget", "unchanged"),
    ]
    story = Story.objects.get(headline="Dam opens on the river")
    assert story.paragraphs == [
        "Water flowed through the new gates on Monday, officials said on Tuesday."
    ]
    assert Story.objects.count() == 2
    # and the correction is itself idempotent
    assert {o.action for o in run_import(corrected).outcomes} == {"unchanged"}


@pytest.mark.parametrize("corrected", [False, True], ids=["same-file", "corrected-file"])
@pytest.mark.parametrize("status", ["draft", "review"])
def test_reimport_as_draft_never_takes_published_stories_off_the_site(corrected, status):
    run_import(SMALL)  # published, live
    text = SMALL.replace("officials said.", "officials said on Tuesday.") if corrected else SMALL
    result = run_import(text, status=status)
    assert {outcome.action for outcome in result.outcomes} == {"conflict"}
    assert all("never unpublishes" in outcome.reason for outcome in result.outcomes)
    assert Story.objects.live().count() == 2
    assert "on Tuesday" not in Story.objects.get(headline="Dam opens on the river").body
    # Imported as published, the correction goes through.
    if corrected:
        assert ("Dam opens on the river", "updated") in actions(run_import(text))


def test_reimport_as_published_updates_drafts_it_created():
    run_import(SMALL, status="draft")
    result = run_import(SMALL, status="published")
    assert {outcome.action for outcome in result.outcomes} == {"updated"}
    assert Story.objects.live().count() == 2


def test_corrected_bylines_replace_the_old_ones():
    run_import(SMALL)
    run_import(SMALL.replace("— By Ana Lima", "— By Ana Lima and Jo Park"))
    story = Story.objects.for_listing().get(headline="Dam opens on the river")
    assert [byline.name for byline in story.ordered_bylines] == ["Ana Lima", "Jo Park"]
    assert Byline.objects.filter(name="Jo Park").count() == 1


def test_story_edited_since_import_is_a_conflict_and_left_alone():
    run_import(SMALL)
    story = Story.objects.get(headline="Dam opens on the river")
    story.deck = "An editor's deck."
    story.save()
    result = run_import(SMALL.replace("officials said.", "officials said, again."))
    assert actions(result) == [
        ("Dam opens on the river", "conflict"),
        ("Council votes on budget", "unchanged"),
    ]
    story.refresh_from_db()
    assert story.deck == "An editor's deck."
    assert story.paragraphs == ["Water flowed through the new gates on Monday, officials said."]
    # Re-importing the same file is a conflict too, never an overwrite.
    assert actions(run_import(SMALL))[0] == ("Dam opens on the river", "conflict")


@pytest.mark.parametrize(
    "edit",
    ["queryset_update", "byline_change", "tag_change", "save_without_change"],
)
def test_any_change_since_import_is_a_conflict(edit):
    run_import(SMALL)
    story = Story.objects.get(headline="Dam opens on the river")
    if edit == "queryset_update":
        # QuerySet.update() bypasses auto_now, so updated_at alone would miss it.
        Story.objects.filter(pk=story.pk).update(body="Rewritten by code.")
    elif edit == "byline_change":
        story.story_bylines.all().delete()
    elif edit == "tag_change":
        story.tags.add("Local news")
    else:
        story.save()
    result = run_import(SMALL.replace("officials said.", "officials said, again."))
    assert actions(result)[0] == ("Dam opens on the river", "conflict")


def test_stories_missing_from_a_corrected_briefing_are_reported_not_deleted():
    run_import(SMALL)
    shorter = SMALL.split("Council votes")[0]
    result = run_import(shorter)
    assert actions(result) == [
        ("Dam opens on the river", "unchanged"),
        ("Council votes on budget", "missing"),
    ]
    assert Story.objects.filter(headline="Council votes on budget").exists()


def test_same_headline_in_another_briefing_is_another_story():
    run_import(SMALL, name="monday.txt")
    result = run_import(SMALL, name="tuesday.txt")
    assert {o.action for o in result.outcomes} == {"created"}
    assert Story.objects.filter(headline="Dam opens on the river").count() == 2
    assert ImportRecord.objects.count() == 4


def test_files_are_matched_by_name_not_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "brief.txt").write_text(SMALL)
    (tmp_path / "b" / "brief.txt").write_text(SMALL)
    import_briefings([read_briefing_file(tmp_path / "a" / "brief.txt")])
    result = import_briefings([read_briefing_file(tmp_path / "b" / "brief.txt")])
    assert {o.action for o in result.outcomes} == {"unchanged"}


def test_two_files_with_one_name_in_one_import_are_refused(tmp_path):
    briefings = [
        parse_briefing(SMALL, source=str(tmp_path / "a" / "brief.txt")),
        parse_briefing(SMALL, source=str(tmp_path / "b" / "brief.txt")),
    ]
    with pytest.raises(BriefingError, match="two briefings named brief.txt"):
        import_briefings(briefings)
    assert not Story.objects.exists()


def test_bylines_match_existing_rows_by_name():
    existing = BylineFactory(name="Ana Lima", slug="ana", role="Correspondent")
    run_import(SMALL)
    assert Byline.objects.filter(name="Ana Lima").get() == existing
    story = Story.objects.get(headline="Dam opens on the river")
    assert list(story.bylines.all()) == [existing]


def test_section_option_uses_existing_or_creates_named_from_slug():
    existing = SectionFactory(name="Local News", slug="local")
    run_import(SMALL, section="local")
    assert set(Story.objects.values_list("section", flat=True)) == {existing.pk}
    run_import(SMALL, name="other.txt", section="middle-east")
    assert Section.objects.get(slug="middle-east").name == "Middle East"


def test_section_option_must_be_a_slug():
    with pytest.raises(BriefingError, match="not a slug"):
        run_import(SMALL, section="Not a slug!")
    assert not Section.objects.exists()


def test_default_publication_is_now_and_live():
    now = timezone.now()
    run_import(SMALL, now=now)
    assert set(Story.objects.values_list("published_at", flat=True)) == {now}
    assert Story.objects.live().count() == 2


def test_past_date_publishes_at_noon_site_time(settings):
    settings.TIME_ZONE = "America/New_York"
    run_import(SMALL, day=date(2024, 9, 12))
    story = Story.objects.first()
    assert story.published_at == datetime(2024, 9, 12, 16, 0, tzinfo=UTC)  # noon EDT
    assert story.get_absolute_url().startswith("/2024/09/12/")
    assert Story.objects.live().count() == 2


def test_future_date_schedules_stories(time_machine):
    future = timezone.localdate() + timedelta(days=3)
    run_import(SMALL, day=future)
    assert Story.objects.filter(status="published").count() == 2
    assert not Story.objects.live().exists()
    noon_then = timezone.make_aware(datetime(future.year, future.month, future.day, 12))
    time_machine.move_to(noon_then, tick=False)
    assert Story.objects.live().count() == 2


def test_today_as_explicit_date_publishes_now():
    now = timezone.now()
    run_import(SMALL, day=timezone.localdate(now), now=now)
    assert set(Story.objects.values_list("published_at", flat=True)) == {now}


def test_date_leading_the_file_name_dates_the_stories():
    run_import(SMALL, name="2024-03-05-morning.txt")
    assert Story.objects.first().get_absolute_url().startswith("/2024/03/05/")


def test_explicit_date_wins_over_file_name():
    run_import(SMALL, name="2024-03-05-morning.txt", day=date(2023, 1, 2))
    assert Story.objects.first().get_absolute_url().startswith("/2023/01/02/")


def test_impossible_date_in_file_name_is_an_error():
    with pytest.raises(BriefingError, match="not a real date") as error:
        run_import(SMALL, name="2024-02-30-morning.txt")
    assert error.value.source == "2024-02-30-morning.txt"


def test_draft_status_imports_hidden_stories():
    run_import(SMALL, status="draft")
    assert Story.objects.filter(status="draft").count() == 2
    assert not Story.objects.live().exists()


def test_dry_run_writes_nothing_but_reports_urls():
    result = run_import(SMALL, dry_run=True)
    assert [o.action for o in result.outcomes] == ["created", "created"]
    assert result.outcomes[0].url.endswith("/dam-opens-on-the-river/")
    assert not Story.objects.exists()
    assert not Section.objects.exists()
    assert not Byline.objects.exists()


def test_slugs_stay_unique_across_imports():
    run_import(SMALL, name="one.txt")
    run_import(SMALL, name="two.txt")
    slugs = sorted(Story.objects.values_list("slug", flat=True))
    assert slugs == [
        "council-votes-on-budget",
        "council-votes-on-budget-2",
        "dam-opens-on-the-river",
        "dam-opens-on-the-river-2",
    ]


def test_reimport_of_two_files_is_one_transaction(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(SMALL)
    import_briefings([read_briefing_file(good)])
    with mock.patch("stories.importer.write.Writer.write_relations", side_effect=RuntimeError):
        with pytest.raises(RuntimeError):
            import_briefings([read_briefing_file(good), parse_briefing(SMALL, source="new.txt")])
    assert Story.objects.count() == 2
    assert not ImportRecord.objects.filter(source="new.txt").exists()


# --- writing in batches --------------------------------------------------------------------


def numbered_briefing(count, corrected=()):
    return "".join(
        f"Ferry line {number} reopens\n"
        f"Boats to Peru sailed {'at last' if number in corrected else 'again'} on Monday.\n"
        "— By Ana Lima and Jo Park\n\n"
        for number in range(count)
    )


def test_a_batch_at_a_time_writes_what_one_batch_writes():
    with mock.patch("stories.importer.write.WRITE_BATCH", 2):
        run_import(numbered_briefing(3))
        # Two updated, one unchanged and two created, in three batches.
        result = run_import(numbered_briefing(5, corrected={0, 1}))
    assert [outcome.action for outcome in result.outcomes] == [
        "updated",
        "updated",
        "unchanged",
        "created",
        "created",
    ]
    stories = list(Story.objects.for_listing().order_by("pk"))
    assert [story.headline for story in stories] == [f"Ferry line {n} reopens" for n in range(5)]
    assert [story.history.count() for story in stories] == [2, 2, 1, 1, 1]
    for story in stories:
        assert [byline.name for byline in story.ordered_bylines] == ["Ana Lima", "Jo Park"]
        assert [tag.name for tag in story.tags.all()] == ["Peru"]
        assert story.import_record.written_at == story.updated_at
    assert [outcome.story_id for outcome in result.outcomes] == [story.pk for story in stories]
    assert [outcome.url for outcome in result.outcomes] == [
        story.get_absolute_url() for story in stories
    ]
    assert len(search_stories("ferry last")) == 2
    assert len(search_stories("ferry lima peru")) == 5
    # and all of it reads back as the importer wrote it
    outcomes = run_import(numbered_briefing(5, corrected={0, 1})).outcomes
    assert {outcome.action for outcome in outcomes} == {"unchanged"}


def test_each_import_writes_a_revision_that_copies_the_story(django_user_model):
    # The importer applies its user's permissions; this one may publish.
    user = django_user_model.objects.create_user("importer", is_superuser=True)
    first, later = timezone.now() - timedelta(hours=1), timezone.now()
    run_import(SMALL, user=user, now=first)
    run_import(SMALL.replace("officials said.", "officials said again."), user=user, now=later)
    story = Story.objects.get(headline="Dam opens on the river")
    created, updated = story.history.order_by("history_id")
    assert (created.history_type, created.history_date, created.history_user) == ("+", first, user)
    assert (updated.history_type, updated.history_date, updated.history_user) == ("~", later, user)
    for revision in (created, updated):
        assert revision.history_change_reason == "Imported from a briefing"
        assert (revision.byline_slugs, revision.tag_names) == (["ana-lima"], [])
    assert created.body == "<p>Water flowed through the new gates on Monday, officials said.</p>"
    for field in Story.history.model.tracked_fields:
        assert getattr(updated, field.attname) == getattr(story, field.attname), field.name


def test_slugs_cut_to_make_room_for_a_suffix_never_clash():
    # Three names that slugify alike at the full 100 characters: the second's slug is cut to
    # "aaa…a-2", which the third must see although it does not start with the third's slug.
    names = ["A" * 100, "a" * 100, "aA" + "a" * 98, "Aa" + "a" * 98]
    for name in names[:3]:
        Byline.objects.create(name=name)  # one at a time, as the admin saves them
    run_import(SMALL.replace("— By Ana Lima", f"— By {names[3]}"))  # and in bulk
    slugs = list(Byline.objects.exclude(name="Jo Park").values_list("slug", flat=True))
    assert sorted(slugs) == sorted(["a" * 100, "a" * 98 + "-2", "a" * 98 + "-3", "a" * 98 + "-4"])


def test_reporter_import_is_an_undated_draft_into_an_existing_section(reporter_user):
    with pytest.raises(BriefingError, match="only editors may create sections"):
        run_import(SMALL, user=reporter_user, status="draft")
    SectionFactory(slug="world", name="World")
    with pytest.raises(BriefingError, match="only editors may import stories as anything but"):
        run_import(SMALL, user=reporter_user, status="published")
    with pytest.raises(BriefingError, match="only editors may give an import a publication date"):
        run_import(SMALL, user=reporter_user, status="draft", day=date(2020, 1, 2))
    assert not Story.objects.exists()
    run_import(SMALL, name="2020-01-02-desk.txt", user=reporter_user, status="draft")
    assert set(Story.objects.values_list("status", "published_at")) == {("draft", None)}
