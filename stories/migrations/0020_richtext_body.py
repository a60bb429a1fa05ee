# Story bodies become HTML (stories.richtext): each plain-text paragraph (separated by a blank
# line) becomes an escaped <p>, in stories and in their revisions, so old revisions still
# compare and restore as bodies of today. body_plain, the body's words without markup, is what
# the search index reads from now on (both databases), so markup and link addresses are never
# searchable. Import records whose state checksum matched their story are rewritten with the
# new body, so a re-import of an unedited story still reads as unchanged. Backwards, bodies are
# plain text again (markup added since is dropped, its words kept) and everything is undone.

import hashlib
from datetime import UTC

from django.db import migrations, models

import stories.text
from stories.richtext import body_text, html_to_plain, plain_to_html
from stories.search_index import POSTGRES_CONFIG, sqlite_insert, sqlite_triggers

CHUNK = 500

PG_DOCUMENT = """
CREATE OR REPLACE FUNCTION stories_story_search_document(story stories_story) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('{config}', coalesce(story.headline, '')), 'A')
        || setweight(to_tsvector('{config}', coalesce(story.deck, '')), 'B')
        || setweight(to_tsvector('{config}',
               coalesce((SELECT string_agg(b.name, ' ') FROM stories_storybyline sb
                         JOIN stories_byline b ON b.id = sb.byline_id
                         WHERE sb.story_id = story.id), '')
               || ' ' ||
               coalesce((SELECT string_agg(t.name, ' ') FROM stories_taggedstory ts
                         JOIN taggit_tag t ON t.id = ts.tag_id
                         WHERE ts.content_object_id = story.id), '')), 'C')
        || setweight(to_tsvector('{config}', coalesce(story.{body}, '')), 'D')
$$;

DROP TRIGGER IF EXISTS stories_story_search_row ON stories_story;
CREATE TRIGGER stories_story_search_row
BEFORE INSERT OR UPDATE OF headline, deck, {body} ON stories_story
FOR EACH ROW EXECUTE FUNCTION stories_story_search_row();

UPDATE stories_story s SET search_vector = stories_story_search_document(s);
"""

SQLITE_PAUSED = "WHEN NOT EXISTS (SELECT 1 FROM stories_search_pause)"


def state_checksum(story, body, section_slug, byline_slugs, tag_names):
    """stories.importer.plan.state_checksum as it is at this migration, with ``body``."""
    published_at = story.published_at.astimezone(UTC).isoformat() if story.published_at else ""
    parts = (
        story.headline,
        story.slug,
        story.deck,
        body,
        section_slug,
        story.status,
        published_at,
        str(len(byline_slugs)),
        *byline_slugs,
        str(len(tag_names)),
        *sorted(tag_names),
    )
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(b"%d:" % len(encoded))
        digest.update(encoded)
    return digest.hexdigest()


def convert(apps, to_body, forwards):
    Story = apps.get_model("stories", "Story")
    HistoricalStory = apps.get_model("stories", "HistoricalStory")
    ImportRecord = apps.get_model("stories", "ImportRecord")
    StoryByline = apps.get_model("stories", "StoryByline")
    TaggedStory = apps.get_model("stories", "TaggedStory")

    ids = list(Story.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        stories = list(
            Story.objects.filter(pk__in=ids[start : start + CHUNK]).select_related("section")
        )
        story_ids = [story.pk for story in stories]
        records = {
            record.story_id: record
            for record in ImportRecord.objects.filter(story_id__in=story_ids)
        }
        byline_slugs = {story_id: [] for story_id in story_ids}
        rows = (
            StoryByline.objects.filter(story_id__in=story_ids)
            .order_by("position", "pk")
            .values_list("story_id", "byline__slug")
        )
        for story_id, slug in rows:
            byline_slugs[story_id].append(slug)
        tag_names = {story_id: [] for story_id in story_ids}
        rows = (
            TaggedStory.objects.filter(content_object_id__in=story_ids)
            .order_by("pk")
            .values_list("content_object_id", "tag__name")
        )
        for story_id, name in rows:
            tag_names[story_id].append(name)

        updated_records = []
        for story in stories:
            new_body = to_body(story.body)
            record = records.get(story.pk)
            if record is not None:
                state = (story.section.slug, byline_slugs[story.pk], tag_names[story.pk])
                if state_checksum(story, story.body, *state) == record.state_checksum:
                    record.state_checksum = state_checksum(story, new_body, *state)
                    updated_records.append(record)
            story.body = new_body
            story.body_plain = body_text(new_body) if forwards else ""
        Story.objects.bulk_update(stories, ["body", "body_plain"])
        ImportRecord.objects.bulk_update(updated_records, ["state_checksum"])

    ids = list(HistoricalStory.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        revisions = list(
            HistoricalStory.objects.filter(pk__in=ids[start : start + CHUNK]).only("body")
        )
        for revision in revisions:
            revision.body = to_body(revision.body)
        HistoricalStory.objects.bulk_update(revisions, ["body"])


def bodies_to_html(apps, schema_editor):
    convert(apps, plain_to_html, forwards=True)
    check_constraints_now(schema_editor)


def bodies_to_plain(apps, schema_editor):
    convert(apps, html_to_plain, forwards=False)
    check_constraints_now(schema_editor)


def check_constraints_now(schema_editor):
    # PostgreSQL: rows updated twice in this transaction queue their deferred foreign-key
    # checks, and ALTER TABLE (or a trigger's replacement) on a table with queued checks is
    # refused; run them now.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def index_plain_body(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No parameters: psycopg then runs the whole script.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_DOCUMENT.format(config=POSTGRES_CONFIG, body="body_plain"))
        check_constraints_now(schema_editor)
    elif vendor == "sqlite":
        create_sqlite_triggers(schema_editor, "body_plain")


def index_body(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_DOCUMENT.format(config=POSTGRES_CONFIG, body="body"))
        check_constraints_now(schema_editor)
    elif vendor == "sqlite":
        # Recreated with the body once body_plain is gone (the first operation, backwards).
        drop_sqlite_triggers(apps, schema_editor)


def drop_sqlite_triggers(apps, schema_editor):
    # SQLite remakes the story table to add or remove a column, and renaming the new table
    # fails while triggers (the byline and tag ones) name it: they go first, and come back
    # when the columns are in place.
    if schema_editor.connection.vendor == "sqlite":
        for name in sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def sqlite_index_body(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        create_sqlite_triggers(schema_editor, "body")


def create_sqlite_triggers(schema_editor, column):
    for name, (event, statements) in sqlite_triggers(column).items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(
            f"CREATE TRIGGER {name} {event} {SQLITE_PAUSED} BEGIN {statements} END"
        )
    schema_editor.execute("DELETE FROM stories_story_fts")
    schema_editor.execute(sqlite_insert("SELECT id FROM stories_story", column))


class Migration(migrations.Migration):
    dependencies = [("stories", "0019_storynote")]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, sqlite_index_body),
        migrations.AddField(
            model_name="story",
            name="body_plain",
            field=models.TextField(
                blank=True,
                default="",
                editable=False,
                help_text="The body's words without markup, made from the body on every save: "
                "what search indexes and summaries, word counts and revision diffs read.",
                verbose_name="body as plain text",
            ),
        ),
        migrations.AlterField(
            model_name="story",
            name="body",
            field=models.TextField(
                help_text="Paragraphs, subheads, bold, italic, links, quotes and lists. Anything "
                "else (other formatting, pasted styles, scripts) is removed when the story is "
                "saved.",
                validators=[stories.text.multiline_text],
            ),
        ),
        migrations.AlterField(
            model_name="historicalstory",
            name="body",
            field=models.TextField(
                help_text="Paragraphs, subheads, bold, italic, links, quotes and lists. Anything "
                "else (other formatting, pasted styles, scripts) is removed when the story is "
                "saved.",
                validators=[stories.text.multiline_text],
            ),
        ),
        migrations.RunPython(bodies_to_html, bodies_to_plain),
        migrations.RunPython(index_plain_body, index_body),
    ]
