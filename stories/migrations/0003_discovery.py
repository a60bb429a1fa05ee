# Full-text search over live stories: headline, deck, body, bylines and tags.
#
# PostgreSQL: a weighted ``search_vector`` tsvector column on stories_story (headline A,
# deck B, bylines and tags C, body D) with a GIN index. SQLite: an FTS5 table,
# stories_story_fts, whose rowid is the story id. On both, database triggers keep the index
# in step with every write, including the importer's bulk writes and renamed bylines or
# tags, so no application code has to remember to reindex.

from django.db import migrations

# The document definitions are shared with the importer's pause (stories.search_index), so
# they are imported, not copied: changing them there needs a new migration that rebuilds the
# index (see that module's docstring).
from stories.search_index import POSTGRES_CONFIG as PG_CONFIG
from stories.search_index import SQLITE_TRIGGERS, sqlite_insert

PG_FORWARD = f"""
ALTER TABLE stories_story ADD COLUMN search_vector tsvector;

CREATE FUNCTION stories_story_search_document(story stories_story) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('{PG_CONFIG}', coalesce(story.headline, '')), 'A')
        || setweight(to_tsvector('{PG_CONFIG}', coalesce(story.deck, '')), 'B')
        || setweight(to_tsvector('{PG_CONFIG}',
               coalesce((SELECT string_agg(b.name, ' ') FROM stories_storybyline sb
                         JOIN stories_byline b ON b.id = sb.byline_id
                         WHERE sb.story_id = story.id), '')
               || ' ' ||
               coalesce((SELECT string_agg(t.name, ' ') FROM stories_taggedstory ts
                         JOIN taggit_tag t ON t.id = ts.tag_id
                         WHERE ts.content_object_id = story.id), '')), 'C')
        || setweight(to_tsvector('{PG_CONFIG}', coalesce(story.body, '')), 'D')
$$;

CREATE FUNCTION stories_story_search_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := stories_story_search_document(NEW);
    RETURN NEW;
END $$;

CREATE TRIGGER stories_story_search_row
BEFORE INSERT OR UPDATE OF headline, deck, body ON stories_story
FOR EACH ROW EXECUTE FUNCTION stories_story_search_row();

-- Byline and tag links change in bulk (the importer), so these run once per statement
-- over its transition tables rather than once per row.
CREATE FUNCTION stories_story_search_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format(
            'UPDATE stories_story s SET search_vector = stories_story_search_document(s) '
            'WHERE s.id IN (SELECT %I FROM new_rows)', TG_ARGV[0]);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        EXECUTE format(
            'UPDATE stories_story s SET search_vector = stories_story_search_document(s) '
            'WHERE s.id IN (SELECT %I FROM old_rows)', TG_ARGV[0]);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stories_storybyline_search_insert AFTER INSERT ON stories_storybyline
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION stories_story_search_links('story_id');
CREATE TRIGGER stories_storybyline_search_update AFTER UPDATE ON stories_storybyline
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION stories_story_search_links('story_id');
CREATE TRIGGER stories_storybyline_search_delete AFTER DELETE ON stories_storybyline
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION stories_story_search_links('story_id');

CREATE TRIGGER stories_taggedstory_search_insert AFTER INSERT ON stories_taggedstory
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION stories_story_search_links('content_object_id');
CREATE TRIGGER stories_taggedstory_search_update AFTER UPDATE ON stories_taggedstory
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION stories_story_search_links('content_object_id');
CREATE TRIGGER stories_taggedstory_search_delete AFTER DELETE ON stories_taggedstory
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION stories_story_search_links('content_object_id');

CREATE FUNCTION stories_byline_search_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stories_story s SET search_vector = stories_story_search_document(s)
    WHERE s.id IN (SELECT story_id FROM stories_storybyline WHERE byline_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER stories_byline_search_rename AFTER UPDATE OF name ON stories_byline
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION stories_byline_search_rename();

CREATE FUNCTION stories_tag_search_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stories_story s SET search_vector = stories_story_search_document(s)
    WHERE s.id IN (SELECT content_object_id FROM stories_taggedstory WHERE tag_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER stories_tag_search_rename AFTER UPDATE OF name ON taggit_tag
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION stories_tag_search_rename();

UPDATE stories_story s SET search_vector = stories_story_search_document(s);
CREATE INDEX story_search_idx ON stories_story USING GIN (search_vector);
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS stories_tag_search_rename ON taggit_tag;
DROP FUNCTION IF EXISTS stories_tag_search_rename();
DROP TRIGGER IF EXISTS stories_byline_search_rename ON stories_byline;
DROP FUNCTION IF EXISTS stories_byline_search_rename();
DROP TRIGGER IF EXISTS stories_taggedstory_search_insert ON stories_taggedstory;
DROP TRIGGER IF EXISTS stories_taggedstory_search_update ON stories_taggedstory;
DROP TRIGGER IF EXISTS stories_taggedstory_search_delete ON stories_taggedstory;
DROP TRIGGER IF EXISTS stories_storybyline_search_insert ON stories_storybyline;
DROP TRIGGER IF EXISTS stories_storybyline_search_update ON stories_storybyline;
DROP TRIGGER IF EXISTS stories_storybyline_search_delete ON stories_storybyline;
DROP FUNCTION IF EXISTS stories_story_search_links();
DROP TRIGGER IF EXISTS stories_story_search_row ON stories_story;
DROP FUNCTION IF EXISTS stories_story_search_row();
DROP INDEX IF EXISTS story_search_idx;
ALTER TABLE stories_story DROP COLUMN IF EXISTS search_vector;
DROP FUNCTION IF EXISTS stories_story_search_document(stories_story);
"""


def create_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No parameters: psycopg then runs the whole script, and "%I" stays literal.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        # porter stemming, like PostgreSQL's english configuration: "elections" finds "election".
        schema_editor.execute(
            "CREATE VIRTUAL TABLE stories_story_fts USING fts5("
            "headline, deck, body, bylines, tags, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        for name, (event, statements) in SQLITE_TRIGGERS.items():
            schema_editor.execute(f"CREATE TRIGGER {name} {event} BEGIN {statements} END")
        schema_editor.execute(sqlite_insert("SELECT id FROM stories_story"))
    else:
        raise NotImplementedError(f"story search supports PostgreSQL and SQLite, not {vendor}")


def drop_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute("DROP TABLE IF EXISTS stories_story_fts")


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0002_editorial"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
    ]
