# PostgreSQL: a bulk import re-indexed each story three times (its row, then once per
# statement for its bylines and again for its tags), each a to_tsvector of the whole body.
# The triggers now stand aside while the transaction-local setting newsroom.search_paused is
# 'on'; the importer sets it inside its own transaction, where no other session can see it,
# and rebuilds the vectors of the stories it touched once (stories.search_index).

from django.db import migrations

PAUSED = "current_setting('newsroom.search_paused', true) = 'on'"

# With {guard} empty these are the functions of migration 0003, to go back to.
ROW_FUNCTION = """
CREATE OR REPLACE FUNCTION stories_story_search_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {guard}
    NEW.search_vector := stories_story_search_document(NEW);
    RETURN NEW;
END $$;
"""

LINKS_FUNCTION = """
CREATE OR REPLACE FUNCTION stories_story_search_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {guard}
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
"""

FORWARD = ROW_FUNCTION.format(guard=f"IF {PAUSED} THEN RETURN NEW; END IF;") + (
    LINKS_FUNCTION.format(guard=f"IF {PAUSED} THEN RETURN NULL; END IF;")
)
BACKWARD = ROW_FUNCTION.format(guard="") + LINKS_FUNCTION.format(guard="")


def pause_aware(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def always_on(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("stories", "0007_import_state_checksums_hashed")]

    operations = [migrations.RunPython(pause_aware, always_on)]
