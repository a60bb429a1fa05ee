"""The full-text search index's side that writers need: its configuration and a pause.

Database triggers keep the index current (PostgreSQL's ``search_vector`` column, SQLite's
FTS5 table; migrations 0003, 0006 and 0008). Bulk writers (the importer) pause them and
rebuild the index entries they touched once, with ``search_index_paused()``. Reader search
(``stories.reader.search``) queries the index with the same configuration.
"""

from contextlib import contextmanager

from django.db import connection

# Must match the configuration the migration's triggers index with.
POSTGRES_CONFIG = "english"


@contextmanager
def search_index_paused():
    """Bulk writes inside this block leave the search index alone; on the way out the index
    entries of the stories added to the yielded set are rebuilt once. Use inside a
    transaction.

    Both databases' triggers would otherwise re-index a story for its row and again for its
    bylines and tags (migrations 0006 and 0008). On PostgreSQL the pause is a
    transaction-local setting, which no other session sees; on SQLite a row in
    stories_search_pause, which SQLite's single writer keeps to this transaction.
    """
    touched = set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('newsroom.search_paused', 'on', true)")
        yield touched
        ids = sorted(touched)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('newsroom.search_paused', 'off', true)")
            for start in range(0, len(ids), 500):
                cursor.execute(
                    "UPDATE stories_story s SET search_vector = stories_story_search_document(s) "
                    "WHERE s.id = ANY(%s)",
                    [ids[start : start + 500]],
                )
        return
    if connection.vendor != "sqlite":
        yield touched
        return
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO stories_search_pause (id) VALUES (1)")
    yield touched
    ids = sorted(touched)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM stories_search_pause")
        # Small batches: FTS5 holds each statement's new terms in memory.
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM stories_story_fts WHERE rowid IN ({marks})", chunk)
            cursor.execute(
                "INSERT INTO stories_story_fts (rowid, headline, deck, body, bylines, tags) "
                "SELECT s.id, s.headline, s.deck, s.body, "
                "coalesce((SELECT group_concat(b.name, ' ') FROM stories_storybyline sb "
                "JOIN stories_byline b ON b.id = sb.byline_id WHERE sb.story_id = s.id), ''), "
                "coalesce((SELECT group_concat(t.name, ' ') FROM stories_taggedstory ts "
                "JOIN taggit_tag t ON t.id = ts.tag_id WHERE ts.content_object_id = s.id), '') "
                f"FROM stories_story s WHERE s.id IN ({marks})",
                chunk,
            )
