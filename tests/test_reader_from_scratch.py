"""Pages rendered from scratch (the first reader after an edit, issue 16) do less work for
the same page: the stored plain text, words counted once, cards without byline photos,
a plain LIMIT near the top of a listing, one context for a page's cards."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stories import richtext
from stories.delivery import fragments
from stories.delivery.pagination import DEFERRED_JOIN_OFFSET, DeferredJoinPaginator
from stories.models import Story

from .factories import BylineFactory, SectionFactory, StoryFactory
from .library import library_image

pytestmark = pytest.mark.django_db


def test_plain_text_is_the_stored_words_until_the_body_changes(monkeypatch):
    saved = StoryFactory(body="<p>Stored words.</p>")
    story = Story.objects.get(pk=saved.pk)

    def no_parsing(value):
        raise AssertionError("the body was parsed again")

    monkeypatch.setattr(richtext, "body_text", no_parsing)
    assert story.plain_text == "Stored words."
    assert story.paragraphs == ["Stored words."]
    monkeypatch.undo()
    # A changed body (a preview of unsaved edits) is read for what it says now.
    story.body = "<p>New words here.</p>"
    assert story.plain_text == "New words here."
    assert story.word_count == 3


def test_a_row_loaded_without_its_plain_text_parses_its_body():
    saved = StoryFactory(body="<p>Old row.</p>")
    Story.objects.filter(pk=saved.pk).update(body_plain="")  # a row written around save()
    assert Story.objects.get(pk=saved.pk).plain_text == "Old row."
    assert Story.objects.defer("body_plain").get(pk=saved.pk).plain_text == "Old row."


def test_a_card_row_reads_its_body_with_the_stored_words(monkeypatch, django_assert_num_queries):
    """A listing's lead card shows its story's first paragraph: the row, read without its
    body (``for_cards()``), reads it with its stored words in one query, as it read the body
    alone, and does not parse the HTML again."""
    saved = StoryFactory(body="<p>Stored words.</p><p>More.</p>", published=True)
    story = Story.objects.for_cards().get(pk=saved.pk)

    def no_parsing(value):
        raise AssertionError("the body was parsed again")

    monkeypatch.setattr(richtext, "body_text", no_parsing)
    with django_assert_num_queries(1):
        assert story.paragraphs == ["Stored words.", "More."]
    assert story.body == "<p>Stored words.</p><p>More.</p>"


def test_words_are_counted_once_per_body(monkeypatch):
    story = Story.objects.get(pk=StoryFactory(body="<p>" + "word " * 460 + "</p>").pk)
    counted = []
    real = richtext.word_count
    monkeypatch.setattr(richtext, "word_count", lambda text: counted.append(text) or real(text))
    assert (story.word_count, story.reading_minutes, story.word_count) == (460, 2, 460)
    assert len(counted) == 1
    story.body = "<p>Two words</p>"
    assert (story.word_count, story.reading_minutes) == (2, 1)
    assert len(counted) == 2


def test_cards_read_bylines_without_their_photos(media_root):
    photo = library_image((300, 300), "teal", alt="Head shot")
    story = StoryFactory(published=True, bylines=[BylineFactory(name="Pia Photo", photo=photo)])
    stories = list(Story.objects.live().for_cards())
    with CaptureQueriesContext(connection) as queries:
        [card] = fragments.render_cards(stories)
    assert len(queries) == 1 and "stories_image" not in queries[0]["sql"]
    assert "Pia Photo" in card and story.headline in card


def test_cards_rendered_in_one_context_do_not_leak_into_each_other():
    with_deck = StoryFactory(published=True, deck="Only on the first card.")
    without = StoryFactory(published=True, deck="", bylines=[BylineFactory(name="Solo Writer")])
    stories = sorted(Story.objects.live().for_cards(), key=lambda story: story.pk)
    first, second = fragments.render_cards(stories)
    assert with_deck.headline in first and "Only on the first card." in first
    assert without.headline in second and "story-card__deck" not in second
    assert "Solo Writer" in second and "Solo Writer" not in first


def test_pages_near_the_top_and_deep_pages_list_the_same_stories():
    section = SectionFactory()
    StoryFactory.create_batch(DEFERRED_JOIN_OFFSET + 30, published=True, section=section)
    listing = Story.objects.live().for_cards().in_section(section)
    paginator = DeferredJoinPaginator(listing, 20)
    expected = list(listing.all())
    for number in (1, 2, DEFERRED_JOIN_OFFSET // 20 + 1, paginator.num_pages):
        with CaptureQueriesContext(connection) as queries:
            stories = list(paginator.page(number).object_list)
        assert stories == expected[(number - 1) * 20 : number * 20]
        deep = (number - 1) * 20 >= DEFERRED_JOIN_OFFSET
        assert (" IN (SELECT " in queries[-1]["sql"]) == deep
