"""The full-text search index as writers see it: what a story's document holds, and a pause.

Database triggers keep the index current (PostgreSQL's ``search_vector`` column, SQLite's
FTS5 table). Migrations 0003 and 0006 build them from the definitions here (0008 changes the
PostgreSQL functions 0003 made); bulk writers (the importer) pause them and rebuild the index
entries they touched once, with ``search_index_paused()``, from the same definitions. Reader
search (``stories.reader.search``) queries the index with the same configuration.

The migrations import these definitions rather than copy them, so they run them as they are
now: changing what a document holds means a new migration that recreates the triggers and
rebuilds the index, not an edit here alone. Since migration 0020 a story's body is HTML, and
the index reads its words from ``body_plain`` (filled from the body on every save) so that
markup and attribute text ("strong", "href", a link's address) are never searchable; the
definitions take the column as a parameter whose default, ``body``, keeps them as migrations
0003 and 0006 ran them, and ``BODY_COLUMN`` is the one in use.
"""

from contextlib import contextmanager

from django.db import connection

# The text search configuration PostgreSQL's document is made with (migration 0003).
POSTGRES_CONFIG = "english"
# What fills the document's body: the body's plain text (migration 0020).
BODY_COLUMN = "body_plain"


def sqlite_refresh(story_ids_sql, body_column="body"):
    """SQLite: statements that rewrite the FTS rows of the stories ``story_ids_sql`` selects
    (a subquery, or a list of ids or placeholders)."""
    return f"""
    DELETE FROM stories_story_fts WHERE rowid IN ({story_ids_sql});
    {sqlite_insert(story_ids_sql, body_column)};
    """


def sqlite_insert(story_ids_sql, body_column="body"):
    """SQLite: the statement that adds the FTS rows (a story's document) of those stories,
    their body read from ``body_column``."""
    return f"""
    INSERT INTO stories_story_fts (rowid, headline, deck, body, bylines, tags)
    SELECT s.id, s.headline, s.deck, s.{body_column},
        coalesce((SELECT group_concat(b.name, ' ') FROM stories_storybyline sb
                  JOIN stories_byline b ON b.id = sb.byline_id WHERE sb.story_id = s.id), ''),
        coalesce((SELECT group_concat(t.name, ' ') FROM stories_taggedstory ts
                  JOIN taggit_tag t ON t.id = ts.tag_id WHERE ts.content_object_id = s.id), '')
    FROM stories_story s WHERE s.id IN ({story_ids_sql})
    """


def sqlite_triggers(body_column="body"):
    """The triggers that keep the FTS5 table in step with every write, the body read from
    ``body_column`` (migrations 0003 and 0006 made them with ``body``, 0020 with
    ``body_plain``)."""
    return {
        # name: (event, statements)
        "stories_story_fts_insert": (
            "AFTER INSERT ON stories_story",
            sqlite_refresh("NEW.id", body_column),
        ),
        "stories_story_fts_update": (
            f"AFTER UPDATE OF headline, deck, {body_column} ON stories_story",
            sqlite_refresh("NEW.id", body_column),
        ),
        "stories_story_fts_delete": (
            "AFTER DELETE ON stories_story",
            "DELETE FROM stories_story_fts WHERE rowid = OLD.id;",
        ),
        "stories_storybyline_fts_insert": (
            "AFTER INSERT ON stories_storybyline",
            sqlite_refresh("NEW.story_id", body_column),
        ),
        "stories_storybyline_fts_update": (
            "AFTER UPDATE ON stories_storybyline",
            sqlite_refresh("OLD.story_id, NEW.story_id", body_column),
        ),
        "stories_storybyline_fts_delete": (
            "AFTER DELETE ON stories_storybyline",
            sqlite_refresh("OLD.story_id", body_column),
        ),
        "stories_taggedstory_fts_insert": (
            "AFTER INSERT ON stories_taggedstory",
            sqlite_refresh("NEW.content_object_id", body_column),
        ),
        "stories_taggedstory_fts_update": (
            "AFTER UPDATE ON stories_taggedstory",
            sqlite_refresh("OLD.content_object_id, NEW.content_object_id", body_column),
        ),
        "stories_taggedstory_fts_delete": (
            "AFTER DELETE ON stories_taggedstory",
            sqlite_refresh("OLD.content_object_id", body_column),
        ),
        "stories_byline_fts_rename": (
            "AFTER UPDATE OF name ON stories_byline",
            sqlite_refresh(
                "SELECT story_id FROM stories_storybyline WHERE byline_id = NEW.id", body_column
            ),
        ),
        "stories_tag_fts_rename": (
            "AFTER UPDATE OF name ON taggit_tag",
            sqlite_refresh(
                "SELECT content_object_id FROM stories_taggedstory WHERE tag_id = NEW.id",
                body_column,
            ),
        ),
    }


# As migrations 0003 and 0006 made them (they import this name), and as they are now.
SQLITE_TRIGGERS = sqlite_triggers()
CURRENT_SQLITE_TRIGGERS = sqlite_triggers(BODY_COLUMN)


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
            cursor.execute(sqlite_insert(marks, BODY_COLUMN), chunk)


@contextmanager
def search_index_resumed():
    """Inside ``search_index_paused()``: the triggers index what is written in this block,
    as they would outside the pause; the pause holds again after it.

    For a writer that writes a new story's bylines and tags first and the story row last
    (foreign keys are checked at commit), so that the story's row trigger indexes it once,
    whole, as the row is stored, and the story need not be written again to index it.
    PostgreSQL only; elsewhere the block runs paused (and the caller rebuilds as usual).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('newsroom.search_paused', 'off', true)")
    # No try/finally: after an error the transaction is aborted (the setting goes with it),
    # and one more statement would only hide the error behind "transaction is aborted".
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('newsroom.search_paused', 'on', true)")
