"""Reader search: ranked full-text search over live stories.

Readers type anything, so a query is first reduced to plain words (``search_terms``); no
operator or quote they type reaches the database's query syntax. Every word must match,
somewhere in the headline, deck, body, bylines or tags.

Ranking is the same on every database: stories whose headline matches come first, then those
whose deck matches, then the rest (body, bylines, tags); within each tier the database's own
relevance score (PostgreSQL ``ts_rank`` over the weighted vector, SQLite FTS5 ``bm25`` with
column weights), then the newest first. Relevance scores alone cannot promise the tiers: a
body that repeats a word often can outscore a headline.

The index itself (PostgreSQL's ``search_vector`` column with its GIN index, SQLite's FTS5
table) is created and kept current by database triggers; see migration 0002.
"""

import re

from django.db import connection
from django.db.models import BooleanField, FloatField, IntegerField
from django.db.models.expressions import RawSQL

from .models import Story

# Must match the configuration the migration's triggers index with.
POSTGRES_CONFIG = "english"
MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
WORD = re.compile(r"\w+")

# FTS5 column order: headline, deck, body, bylines, tags (bm25 is lower-is-better).
FTS_WEIGHTS = "10.0, 4.0, 1.0, 2.0, 2.0"


def clean_query(text):
    """The query as the page echoes it: one printable line, at most MAX_QUERY_LENGTH long."""
    printable = "".join(char if char.isprintable() else " " for char in text or "")
    return " ".join(printable.split())[:MAX_QUERY_LENGTH]


def search_terms(text):
    """The distinct words of a query, lower-cased, in order; at most MAX_TERMS of them."""
    terms = []
    for word in WORD.findall(clean_query(text).casefold()):
        # "_" counts as a word character for \w, but neither index treats it as one.
        for part in word.split("_"):
            if part and part not in terms:
                terms.append(part)
    return terms[:MAX_TERMS]


def search_stories(text):
    """Live stories matching every word of ``text``, best first; none for an empty query."""
    terms = search_terms(text)
    stories = Story.objects.live()
    if not terms:
        return stories.none()
    if connection.vendor == "postgresql":
        stories = _postgres_search(stories, terms)
    else:
        stories = _sqlite_search(stories, terms)
    return stories.order_by("search_tier", "-search_score", "-published_at", "-pk")


def _postgres_search(stories, terms):
    vector = '"stories_story"."search_vector"'
    query = "plainto_tsquery(%s::regconfig, %s)"
    params = [POSTGRES_CONFIG, " ".join(terms)]
    return stories.filter(
        RawSQL(f"{vector} @@ {query}", params, output_field=BooleanField())
    ).annotate(
        search_tier=RawSQL(
            f"CASE WHEN ts_filter({vector}, '{{a}}') @@ {query} THEN 0 "
            f"WHEN ts_filter({vector}, '{{b}}') @@ {query} THEN 1 ELSE 2 END",
            params * 2,
            output_field=IntegerField(),
        ),
        search_score=RawSQL(f"ts_rank({vector}, {query})", params, output_field=FloatField()),
    )


def _fts_query(terms, column=None):
    # Each term is a quoted FTS5 string of word characters only, so it is never syntax.
    prefix = f"{column} : " if column else ""
    return " AND ".join(f'{prefix}"{term}"' for term in terms)


def _sqlite_search(stories, terms):
    in_column = (
        '"stories_story"."id" IN '
        "(SELECT rowid FROM stories_story_fts WHERE stories_story_fts MATCH %s)"
    )
    matches = RawSQL("stories_story_fts MATCH %s", [_fts_query(terms)], output_field=BooleanField())
    return (
        # The join to the FTS table lets bm25() score each row in the same query.
        stories.filter(search_entry__isnull=False)
        .filter(matches)
        .annotate(
            search_tier=RawSQL(
                f"CASE WHEN {in_column} THEN 0 WHEN {in_column} THEN 1 ELSE 2 END",
                [_fts_query(terms, "headline"), _fts_query(terms, "deck")],
                output_field=IntegerField(),
            ),
            # bm25 is lower-is-better; negated so both databases sort the score descending.
            search_score=RawSQL(
                f"-bm25(stories_story_fts, {FTS_WEIGHTS})", [], output_field=FloatField()
            ),
        )
    )
