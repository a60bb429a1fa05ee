"""Writing many rows at once without a model instance per row.

``bulk_create`` builds a model instance for every row and then compiles every value of every
row into SQL through the query compiler. For the 50,000 rows a 10,000-story import writes
beside the stories themselves (bylines, tags, import records, revisions) that was over a
third of the import's time. Rows that need nothing back from the database (no ids), send no
model signals and have no ``auto_now`` fields can go in without: on PostgreSQL through one
``COPY`` per table (``copy_rows``, streamed, with ids taken beforehand from the sequence by
``reserve_ids`` when other rows must point to them), elsewhere through one prepared statement
(``executemany``), each value prepared by its field as ``bulk_create`` would. Like every bulk
write, it announces itself (``stories.changes``).
"""

from functools import partial
from itertools import chain, islice

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

    On PostgreSQL the rows go through one ``COPY`` (``copy_rows``), streamed: ``rows`` may be
    a generator, and only the row being sent is in memory.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    fields = [model._meta.get_field(name) for name in first]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            # Their values are made by pre_save(), which only model saves call.
            raise ValueError(f"insert_rows() cannot fill {field.name} (auto_now)")
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        copy_rows(model, chain([first], rows), connection=connection)
        return
    # The connection itself, not the django.db.connection proxy, which would look it up
    # again for every value prepared.
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(
        quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
    )
    marks = "({})".format(", ".join(["%s"] * len(fields)))
    prepare = [partial(field.get_db_prep_save, connection=connection) for field in fields]
    rows = chain([first], rows)
    with connection.cursor() as cursor:
        # In batches: the prepared values of one batch only are in memory at once.
        while batch := list(islice(rows, INSERT_BATCH)):
            values = [
                [prep(value) for prep, value in zip(prepare, row.values(), strict=True)]
                for row in batch
            ]
            cursor.executemany(head + marks, values)
    announce(model)


def copy_rows(model, rows, *, connection=None):
    """PostgreSQL: write ``rows`` (dicts by field attname, all with the same keys) into
    ``model``'s table with one ``COPY ... FROM STDIN``, and announce the write.

    COPY skips the parsing and planning of an INSERT per batch and streams: rows are sent
    as they are made, and the server stores them while the next ones are made. Explicit
    values are written as they are, ``auto_now`` fields included (the caller gives the
    time). Statement-level triggers fire once for the whole COPY, row triggers per row,
    as for one multi-row INSERT. Each value is prepared by its field, as ``bulk_create``
    would.
    """
    connection = connection or connections[DEFAULT_DB_ALIAS]
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    fields = [model._meta.get_field(name) for name in first]
    quote = connection.ops.quote_name
    statement = "COPY {} ({}) FROM STDIN".format(
        quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
    )
    # Text, integer and (aware) datetime values need no preparing: psycopg adapts them as
    # they are. Leaving them out saves a call per value, which at a million rows was the
    # COPY's largest cost on the client.
    prepare = [
        None
        if field.get_internal_type()
        in {
            "CharField",
            "TextField",
            "SlugField",
            "ForeignKey",
            "OneToOneField",
            "IntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "BigAutoField",
            "AutoField",
            "DateTimeField",
        }
        else partial(field.get_db_prep_save, connection=connection)
        for field in fields
    ]
    if all(prep is None for prep in prepare):
        values = (tuple(row.values()) for row in chain([first], rows))
    else:
        values = (
            [
                value if prep is None else prep(value)
                for prep, value in zip(prepare, row.values(), strict=True)
            ]
            for row in chain([first], rows)
        )
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            copy.write_row(row)
    announce(model)


def reserve_ids(model, count, *, connection=None):
    """PostgreSQL: ``count`` new primary keys for ``model`` from its sequence, so rows
    written by ``copy_rows`` (and the rows that point to them) can carry their ids."""
    connection = connection or connections[DEFAULT_DB_ALIAS]
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]
