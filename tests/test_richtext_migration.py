"""Migration 0020: plain-text bodies (stories and their revisions) become escaped <p>
paragraphs and come back, import records still read unedited stories as unchanged, and the
search index is rebuilt from the words."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from stories.importer.plan import state_checksum

BEFORE = [("stories", "0019_storynote")]
AFTER = [("stories", "0020_richtext_body")]
WHEN = datetime(2024, 1, 2, 10, tzinfo=UTC)

PLAIN = 'Tom & Jerry said "hi" <b>not bold</b>\nacross a line.\r\n\r\nSecond\xa0para <a href="x">.'
HTML = (
    '<p>Tom &amp; Jerry said "hi" &lt;b&gt;not bold&lt;/b&gt;\nacross a line.</p>'
    '<p>Second&nbsp;para &lt;a href="x"&gt;.</p>'
)
# What comes back: the line break inside a paragraph kept, paragraphs split by a blank line.
PLAIN_AGAIN = (
    'Tom & Jerry said "hi" <b>not bold</b>\nacross a line.\n\nSecond\xa0para <a href="x">.'
)
OLD_REVISION = "Quotes ' and \" & <i>less</i> than 1 < 2.\n\nLast."


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def search_body_words(query):
    """Story ids the index finds ``query`` in, read straight from it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT id FROM stories_story "
                "WHERE search_vector @@ plainto_tsquery('english', %s)",
                [query],
            )
        else:
            cursor.execute(
                "SELECT rowid FROM stories_story_fts WHERE stories_story_fts MATCH %s",
                [f'"{query}"'],
            )
        return [row[0] for row in cursor.fetchall()]


def indexed_body_column():
    """The story column the index's body comes from, as the database's triggers say."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT prosrc FROM pg_proc WHERE proname = 'stories_story_search_document'"
            )
            [source] = cursor.fetchone()
            trigger = "SELECT tgname FROM pg_trigger WHERE tgname = 'stories_story_search_row'"
            cursor.execute(trigger)
            assert cursor.fetchone()
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'stories_story_fts_update'")
            [source] = cursor.fetchone()
    return "body_plain" if "body_plain" in source else "body"


def checksum(story, section_slug="world"):
    return state_checksum(story, section_slug, [], [])


@pytest.mark.django_db(transaction=True)
def test_bodies_become_paragraphs_and_come_back():
    try:
        apps = migrate(BEFORE)
        Section = apps.get_model("stories", "Section")
        Story = apps.get_model("stories", "Story")
        HistoricalStory = apps.get_model("stories", "HistoricalStory")
        ImportRecord = apps.get_model("stories", "ImportRecord")
        section = Section.objects.create(name="World", slug="world")
        story = Story.objects.create(
            headline="Cartoon", slug="cartoon", body=PLAIN, section=section,
            status="published", published_at=WHEN,
        )  # fmt: skip
        edited = Story.objects.create(
            headline="Edited", slug="edited", body="Imported text.", section=section
        )
        HistoricalStory.objects.create(
            id=story.pk, headline="Cartoon", slug="cartoon", body=OLD_REVISION,
            section_id=section.pk, status="draft", created_at=WHEN, updated_at=WHEN,
            history_date=WHEN, history_type="+",
        )  # fmt: skip
        ImportRecord.objects.create(
            story=story, source="a.txt", headline="Cartoon", input_checksum="x",
            state_checksum=checksum(story), written_at=WHEN,
        )  # fmt: skip
        stale = checksum(edited).replace(checksum(edited)[0], "0", 1)  # edited since import
        ImportRecord.objects.create(
            story=edited, source="a.txt", headline="Edited", input_checksum="y",
            state_checksum=stale, written_at=WHEN,
        )  # fmt: skip
        if connection.vendor == "sqlite":
            assert search_body_words("href") == [story.pk]  # markup was searchable text
        assert indexed_body_column() == "body"

        apps = migrate(AFTER)
        Story = apps.get_model("stories", "Story")
        story = Story.objects.get(slug="cartoon")
        assert story.body == HTML
        assert story.body_plain == (
            'Tom & Jerry said "hi" <b>not bold</b> across a line.\n\nSecond\xa0para <a href="x">.'
        )
        [revision] = apps.get_model("stories", "HistoricalStory").objects.all()
        assert revision.body == (
            "<p>Quotes ' and \" &amp; &lt;i&gt;less&lt;/i&gt; than 1 &lt; 2.</p><p>Last.</p>"
        )
        records = apps.get_model("stories", "ImportRecord").objects
        # The unedited story still matches its record, under the new body; the edited one
        # still does not.
        assert records.get(headline="Cartoon").state_checksum == checksum(story)
        assert records.get(headline="Edited").state_checksum == stale
        # The index holds the words: "href" and "b" are text here, "jerry" too; "p" is not.
        assert search_body_words("jerry") == [story.pk]
        assert search_body_words("imported") == [Story.objects.get(slug="edited").pk]
        assert indexed_body_column() == "body_plain"

        apps = migrate(BEFORE)
        Story = apps.get_model("stories", "Story")
        story = Story.objects.get(slug="cartoon")
        assert story.body == PLAIN_AGAIN
        assert Story.objects.get(slug="edited").body == "Imported text."
        [revision] = apps.get_model("stories", "HistoricalStory").objects.all()
        assert revision.body == OLD_REVISION
        records = apps.get_model("stories", "ImportRecord").objects
        assert records.get(headline="Cartoon").state_checksum == checksum(story)
        assert records.get(headline="Edited").state_checksum == stale
        assert search_body_words("jerry") == [story.pk]
        assert indexed_body_column() == "body"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_markup_is_not_searchable_after_the_migration():
    from stories.models import Story

    from .factories import StoryFactory

    story = StoryFactory(
        body='<p>Calm <strong>seas</strong> <a href="https://tide.example/">here</a></p>'
    )
    assert search_body_words("seas") == [story.pk]
    for markup in ("strong", "href", "tide", "noopener"):
        assert search_body_words(markup) == [], markup
    # Updates re-index from the words too.
    Story.objects.filter(pk=story.pk).update(body_plain="Rough waters")
    assert search_body_words("rough") == [story.pk]
