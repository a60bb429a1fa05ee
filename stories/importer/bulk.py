"""Writing many rows at once without a model instance per row.

``bulk_create`` builds a model instance for every row and then compiles every value of every
row into SQL through the query compiler. For the 50,000 rows a 10,000-story import writes
beside the stories themselves (bylines, tags, import records, revisions) that was over a
third of the import's time. Rows that need nothing back from the database (no ids), send no
model signals and have no ``auto_now`` fields can go through one prepared statement
(``executemany``) instead, with each value prepared by its field as ``bulk_create`` would. Like
every bulk write, it announces itself (``stories.changes``).
"""

from functools import partial
from itertools import chain

from django.db import DEFAULT_DB_ALIAS, connections

from stories.changes import announce

INSERT_BATCH = 1000
# Values named in one ``IN (...)`` filter or written by one bulk statement.
QUERY_CHUNK = 500


def chunks(items, size=QUERY_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_rows(model, rows):
    """INSERT ``rows`` into ``model``'s table: dicts of Python values by field attname
    (``story_id`` for a foreign key), all with the same keys. No model signal is sent and
    nothing is read back; use it inside the transaction that wrote what the rows point to.
    The write is announced (``stories.changes.announce``), so readers get a new generation.
    """
    rows = list(rows)
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in rows[0]]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            # Their values are made by pre_save(), which only model saves call.
            raise ValueError(f"insert_rows() cannot fill {field.name} (auto_now)")
    # The connection itself, not the django.db.connection proxy, which would look it up
    # again for every value prepared.
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(
        quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
    )
    marks = "({})".format(", ".join(["%s"] * len(fields)))
    prepare = [partial(field.get_db_prep_save, connection=connection) for field in fields]
    with connection.cursor() as cursor:
        # In batches: the prepared values of one batch only are in memory at once.
        for start in range(0, len(rows), INSERT_BATCH):
            values = [
                [prep(value) for prep, value in zip(prepare, row.values(), strict=True)]
                for row in rows[start : start + INSERT_BATCH]
            ]
            if connection.vendor == "postgresql":
                # One statement per batch: PostgreSQL keeps the search index with
                # once-per-statement triggers (migration 0003), which executemany() would
                # fire once per row, re-indexing a story for each of its bylines and tags.
                cursor.execute(head + ", ".join([marks] * len(values)), list(chain(*values)))
            else:
                cursor.executemany(head + marks, values)
    announce(model)
