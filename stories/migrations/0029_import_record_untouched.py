# An unchanged re-import at a million stories (issue 16) spent most of the database's time
# hashing each stored story's state (headline, body, section, bylines, tags) to compare it
# with the checksum the importer wrote: work that only finds something when someone wrote to
# the story since. On PostgreSQL, triggers now note that write on the story's import record
# (``untouched`` goes false) from every path that can change what the checksum covers: the
# story's row, its byline and tag links, and the renaming of its section, bylines or tags.
# The importer sets it true when it writes the record, so a re-import hashes only the stories
# written since (``stories.importer.plan.STORED_IMPORTS_SQL``), with the same verdict.
#
# A rename waits for imports in progress (an advisory lock the importer holds shared and the
# rename triggers take exclusively): the importer's checksum names the section, bylines and
# tags as it read them, and a rename committed meanwhile would otherwise go unnoticed.
#
# SQLite has no triggers for it: there the field stays false and every re-import hashes
# every story, as before. Existing records are checked once here (the same comparison a
# re-import makes), so stories unedited since their import start out untouched.

from django.db import migrations, models

# Shared by imports (``stories.importer.service``), exclusive for a rename.
RENAME_LOCK = 160_507_227

TRIGGERS = f"""
CREATE FUNCTION stories_importrecord_touch_story() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stories_importrecord SET untouched = false WHERE story_id = NEW.id AND untouched;
    RETURN NULL;
END $$;

CREATE TRIGGER stories_story_import_touch
AFTER UPDATE OF headline, slug, deck, body, section_id, status, published_at, updated_at
ON stories_story FOR EACH ROW
WHEN ((OLD.headline, OLD.slug, OLD.deck, OLD.body, OLD.section_id, OLD.status,
       OLD.published_at, OLD.updated_at)
      IS DISTINCT FROM
      (NEW.headline, NEW.slug, NEW.deck, NEW.body, NEW.section_id, NEW.status,
       NEW.published_at, NEW.updated_at))
EXECUTE FUNCTION stories_importrecord_touch_story();

-- Link rows: once per statement (an import writes thousands), by the story column's name.
CREATE FUNCTION stories_importrecord_touch_links() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format(
            'UPDATE stories_importrecord SET untouched = false '
            'WHERE untouched AND story_id IN (SELECT %I FROM new_rows)', TG_ARGV[0]);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        EXECUTE format(
            'UPDATE stories_importrecord SET untouched = false '
            'WHERE untouched AND story_id IN (SELECT %I FROM old_rows)', TG_ARGV[0]);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stories_storybyline_import_touch_insert AFTER INSERT ON stories_storybyline
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION stories_importrecord_touch_links('story_id');
CREATE TRIGGER stories_storybyline_import_touch_update AFTER UPDATE ON stories_storybyline
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION stories_importrecord_touch_links('story_id');
CREATE TRIGGER stories_storybyline_import_touch_delete AFTER DELETE ON stories_storybyline
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
EXECUTE FUNCTION stories_importrecord_touch_links('story_id');
CREATE TRIGGER stories_taggedstory_import_touch_insert AFTER INSERT ON stories_taggedstory
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION stories_importrecord_touch_links('content_object_id');
CREATE TRIGGER stories_taggedstory_import_touch_update AFTER UPDATE ON stories_taggedstory
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION stories_importrecord_touch_links('content_object_id');
CREATE TRIGGER stories_taggedstory_import_touch_delete AFTER DELETE ON stories_taggedstory
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
EXECUTE FUNCTION stories_importrecord_touch_links('content_object_id');

-- A renamed section, byline or tag: every story carrying it. TG_ARGV[0] selects those
-- stories' ids from the renamed row's id ($1).
CREATE FUNCTION stories_importrecord_touch_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({RENAME_LOCK});
    EXECUTE format(
        'UPDATE stories_importrecord SET untouched = false '
        'WHERE untouched AND story_id IN (%s)', TG_ARGV[0]) USING NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER stories_section_import_touch AFTER UPDATE OF slug ON stories_section
FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug)
EXECUTE FUNCTION stories_importrecord_touch_renamed(
    'SELECT id FROM stories_story WHERE section_id = $1');
CREATE TRIGGER stories_byline_import_touch AFTER UPDATE OF slug ON stories_byline
FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug)
EXECUTE FUNCTION stories_importrecord_touch_renamed(
    'SELECT story_id FROM stories_storybyline WHERE byline_id = $1');
CREATE TRIGGER stories_tag_import_touch AFTER UPDATE OF name ON taggit_tag
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION stories_importrecord_touch_renamed(
    'SELECT content_object_id FROM stories_taggedstory WHERE tag_id = $1');
"""

DROP = """
DROP TRIGGER IF EXISTS stories_story_import_touch ON stories_story;
DROP TRIGGER IF EXISTS stories_storybyline_import_touch_insert ON stories_storybyline;
DROP TRIGGER IF EXISTS stories_storybyline_import_touch_update ON stories_storybyline;
DROP TRIGGER IF EXISTS stories_storybyline_import_touch_delete ON stories_storybyline;
DROP TRIGGER IF EXISTS stories_taggedstory_import_touch_insert ON stories_taggedstory;
DROP TRIGGER IF EXISTS stories_taggedstory_import_touch_update ON stories_taggedstory;
DROP TRIGGER IF EXISTS stories_taggedstory_import_touch_delete ON stories_taggedstory;
DROP TRIGGER IF EXISTS stories_section_import_touch ON stories_section;
DROP TRIGGER IF EXISTS stories_byline_import_touch ON stories_byline;
DROP TRIGGER IF EXISTS stories_tag_import_touch ON taggit_tag;
DROP FUNCTION IF EXISTS stories_importrecord_touch_story();
DROP FUNCTION IF EXISTS stories_importrecord_touch_links();
DROP FUNCTION IF EXISTS stories_importrecord_touch_renamed();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(TRIGGERS, params=None)
    # The records whose stories are as the importer left them, by the comparison a
    # re-import makes (its query as it is now; every record is checked).
    from stories.importer.plan import STATE_EDITED_SQL

    schema_editor.execute(
        f"""
        UPDATE stories_importrecord r SET untouched = true
        FROM stories_story s JOIN stories_section section ON section.id = s.section_id
        WHERE s.id = r.story_id AND NOT {STATE_EDITED_SQL}
        """.replace("%%", "%"),
        params=None,
    )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0028_import_tombstones"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrecord",
            name="untouched",
            field=models.BooleanField(
                default=False,
                db_default=False,
                serialize=False,
                help_text="PostgreSQL: nothing the state checksum covers was written since "
                "the importer wrote this record (kept by triggers, migration 0029).",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
