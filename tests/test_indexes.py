"""The indexes of the tables every story write fills: each one is read by something, since
each is one more entry to write for every story, link and revision (migration 0032)."""

import pytest
from django.db import connection

from stories.models import ImportRecord, Story, StoryByline, TaggedStory

pytestmark = pytest.mark.django_db

# What an import or an edit writes a row of for every story.
WRITTEN_FOR_EVERY_STORY = [Story, StoryByline, TaggedStory, Story.history.model, ImportRecord]
# Partial and covering (introspection shows neither): published stories' keys with their
# dates, for index-only probes (migration 0031); the primary key does not answer those.
NOT_A_PLAIN_INDEX = {"story_published_key_idx"}


def indexes(table):
    """{name: (columns, unique)} of ``table``'s indexes, primary key included."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: (tuple(found["columns"]), found["unique"] or found["primary_key"])
        for name, found in constraints.items()
        if found["index"] or found["unique"] or found["primary_key"]
        if found["columns"] and None not in found["columns"]
    }


@pytest.mark.parametrize("model", WRITTEN_FOR_EVERY_STORY, ids=lambda model: model.__name__)
def test_no_plain_index_is_the_start_of_another(model):
    """An index on (a) answers nothing that an index on (a, b) does not: it is only written."""
    found = indexes(model._meta.db_table)
    redundant = sorted(
        (name, other)
        for name, (columns, unique) in found.items()
        if not unique and name not in NOT_A_PLAIN_INDEX
        for other, (other_columns, _) in found.items()
        if other != name
        and other_columns[: len(columns)] == columns
        # The LIKE index PostgreSQL keeps beside a varchar's plain one has other operators.
        and not name.endswith("_like")
        and not other.endswith("_like")
    )
    assert redundant == []


def test_revisions_are_indexed_by_what_reads_them():
    """By story and history id (the history, the comparison, restore), date (the latest
    revision) and user (deleting a user); not by slug, section, author or lead image."""
    found = indexes(Story.history.model._meta.db_table)
    indexed = {columns for columns, _ in found.values()}
    assert indexed == {("history_id",), ("id",), ("history_date",), ("history_user_id",)}
