# SQLite only: the FTS triggers of 0003 rewrite a story's whole index row for every byline and
# tag row inserted, five or six times per imported story. They now stand aside while a row in
# stories_search_pause exists; the importer adds one inside its transaction (SQLite has one
# writer at a time, so no other write can slip past) and rebuilds the rows it touched once.
# PostgreSQL's link triggers already run once per statement.

from django.db import migrations

from stories.search_index import SQLITE_TRIGGERS

PAUSED = "WHEN NOT EXISTS (SELECT 1 FROM stories_search_pause)"


def recreate_triggers(schema_editor, condition):
    for name, (event, statements) in SQLITE_TRIGGERS.items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(f"CREATE TRIGGER {name} {event} {condition} BEGIN {statements} END")


def add_pause(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("CREATE TABLE stories_search_pause (id INTEGER PRIMARY KEY)")
    recreate_triggers(schema_editor, PAUSED)


def remove_pause(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    recreate_triggers(schema_editor, "")
    schema_editor.execute("DROP TABLE IF EXISTS stories_search_pause")


class Migration(migrations.Migration):
    dependencies = [("stories", "0005_import_checksums_by_slug")]

    operations = [migrations.RunPython(add_pause, remove_pause)]
