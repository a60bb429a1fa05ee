from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from stories.models import Byline, Story

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db


def test_live_includes_published_story_whose_time_has_come():
    story = StoryFactory(published=True)
    assert list(Story.objects.live()) == [story]
    assert story.is_live()


@pytest.mark.parametrize(
    ("status", "offset"),
    [
        (Story.Status.DRAFT, timedelta(hours=-1)),
        (Story.Status.REVIEW, timedelta(hours=-1)),
        (Story.Status.PUBLISHED, timedelta(seconds=30)),
        (Story.Status.DRAFT, None),
    ],
    ids=["draft", "in-review", "scheduled", "draft-without-date"],
)
def test_live_excludes_stories_readers_may_not_see(status, offset):
    published_at = None if offset is None else timezone.now() + offset
    story = StoryFactory(status=status, published_at=published_at)
    assert list(Story.objects.live()) == []
    assert not story.is_live()


def test_live_scheduled_story_becomes_live_exactly_on_time(time_machine):
    go_live = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    story = StoryFactory(status=Story.Status.PUBLISHED, published_at=go_live)
    time_machine.move_to(go_live - timedelta(seconds=1), tick=False)
    assert not Story.objects.live().exists()
    assert not story.is_live()
    time_machine.move_to(go_live, tick=False)
    assert list(Story.objects.live()) == [story]
    assert story.is_live()


def test_story_published_without_date_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        StoryFactory(status=Story.Status.PUBLISHED, published_at=None)


def test_story_slug_is_made_from_headline_and_kept_unique():
    section = SectionFactory()
    first = Story.objects.create(headline="Rain in Spain", body="x", section=section)
    second = Story.objects.create(headline="Rain in Spain", body="y", section=section)
    assert first.slug == "rain-in-spain"
    assert second.slug == "rain-in-spain-2"


def test_story_slug_keeps_letters_of_any_script():
    story = Story.objects.create(headline="Москва и Пекин", body="x", section=SectionFactory())
    assert story.slug == "москва-и-пекин"


def test_story_slug_falls_back_when_headline_has_no_letters():
    story = Story.objects.create(headline="🔥 🔥", body="x", section=SectionFactory())
    assert story.slug == "story"


def test_story_absolute_url_uses_local_publication_date(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    published_at = datetime(2024, 9, 12, 20, 0, tzinfo=UTC)
    story = StoryFactory(slug="kim-arrives", published=True, published_at=published_at)
    # 20:00 UTC is already the next morning in Tokyo.
    assert story.get_absolute_url() == "/2024/09/13/kim-arrives/"


def test_story_paragraphs_are_the_bodys_blocks_as_plain_text():
    story = StoryFactory.build(
        body="<p>“One” — <strong>two</strong>.</p><h2>Three &lt;b&gt;four&lt;/b&gt;</h2>"
        "<ul><li>Five</li><li><a href='https://example.org/six'>six</a></li></ul>"
        "<blockquote><p>Seven\n  lines</p></blockquote><p></p>"
    )
    # Unsaved too: a preview of unsaved changes reads them.
    assert story.paragraphs == ["“One” — two.", "Three <b>four</b>", "Five", "six", "Seven lines"]
    assert (story.word_count, story.reading_minutes) == (8, 1)


def test_story_ordered_bylines_follow_position():
    first, second = BylineFactory(name="Zed"), BylineFactory(name="Amy")
    story = StoryFactory(published=True, bylines=[first, second])
    loaded = Story.objects.for_listing().get(pk=story.pk)
    assert loaded.ordered_bylines == [first, second]


def test_byline_slug_is_made_from_name():
    byline = Byline.objects.create(name="William Roberts")
    assert byline.slug == "william-roberts"
    assert Byline.objects.create(name="William Roberts").slug == "william-roberts-2"


def test_section_and_byline_have_natural_keys():
    section = SectionFactory(slug="world")
    byline = BylineFactory(slug="william-roberts")
    assert section.natural_key() == ("world",)
    assert type(section).objects.get_by_natural_key("world") == section
    assert Byline.objects.get_by_natural_key("william-roberts") == byline
