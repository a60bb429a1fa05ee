"""Reader search: ranked full-text search over live stories.

Readers type anything, so a query is first reduced to plain words (``search_terms``); no
operator or quote they type reaches the database's query syntax. Every word must match,
somewhere in the headline, deck, body, bylines or tags.

Ranking is the same on every database: stories whose headline matches every word come first,
then those whose deck does, then those whose bylines and tags do, then the rest (the words are
in the body, or spread over several fields); within each tier, the newest first. Relevance
scores (``ts_rank``, ``bm25``) cannot promise those tiers (a body that repeats a word often
outscores a headline), they differ between the databases, and on SQLite scoring every match
means probing the index once per story, which is slow at 10,000 stories.

Only the newest ``SEARCH_CANDIDATES`` matches are ranked (1,000 by default): at a million
stories a common word matches most of the archive, and ranking every match (the tiers read
each match's document) took seconds. The candidates are the newest matches, which the index
of live stories by date gives in order; the tiers then order those. The trade-off: a search
lists at most that many stories (fifty pages), so an old story whose headline has the words
is not found if a thousand newer stories mention them; narrower words find it. On a small
archive, or for rare words, every match is a candidate and nothing changes.

The index itself (PostgreSQL's ``search_vector`` column with its GIN index, SQLite's FTS5
table) is created and kept current by database triggers; see migrations 0003 and 0008 and
``stories.search_index``.
"""

import re
import unicodedata
from operator import itemgetter

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, IntegerField
from django.db.models.expressions import RawSQL

from stories.models import Story
from stories.search_index import POSTGRES_CONFIG

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
WORD = re.compile(r"\w+")


def clean_query(text):
    """The query as the page echoes it: one printable line, at most MAX_QUERY_LENGTH long."""
    printable = "".join(char if char.isprintable() else " " for char in text or "")
    return " ".join(printable.split())[:MAX_QUERY_LENGTH]


def canonical_query(text):
    """The search words as the one address of their results page has them (the page cache's
    ``canonical_parameters``): as the page reads them, and NFC, so the same words typed two
    ways are one page."""
    return unicodedata.normalize("NFC", clean_query(text))


def fold_case(text):
    """``text`` case-folded as the search indexes fold the words they keep: "ß" stays "ß"
    (``casefold()`` makes it "ss", so "Straßenbahn" as written found nothing) and a capital
    dotted "İ" becomes "i" (``casefold()`` adds a combining dot, which split "İstanbul" in
    two words)."""
    folded = "ß".join(part.casefold() for part in text.replace("ẞ", "ß").split("ß"))
    return folded.replace("i\u0307", "i")


def search_terms(text):
    """The distinct words of a query, lower-cased, in order; at most MAX_TERMS of them."""
    terms = []
    for word in WORD.findall(fold_case(clean_query(text))):
        # "_" counts as a word character for \w, but neither index treats it as one.
        for part in word.split("_"):
            if part and part not in terms:
                terms.append(part)
    return terms[:MAX_TERMS]


def search_stories(text, stories=None):
    """Live stories matching every word of ``text``, best first; none for an empty query.

    ``stories`` narrows the search (the API passes the stories its client may see, which
    for a key with the embargo scope includes scheduled ones); live stories by default.
    """
    terms = search_terms(text)
    stories = Story.objects.live() if stories is None else stories
    if not terms:
        return stories.none()
    search = _postgres_search if connection.vendor == "postgresql" else _sqlite_search
    matching, tier = search(terms)
    # The newest matches (see the module), their keys read first: the conditions name the
    # story table itself, so they cannot go in a subquery, where the table has another name.
    candidates = list(
        stories.filter(matching)
        .order_by("-published_at", "-pk")
        .values_list("pk", flat=True)[: settings.SEARCH_CANDIDATES]
    )
    return (
        stories.filter(pk__in=candidates)
        .annotate(search_tier=tier)
        .order_by("search_tier", "-published_at", "-pk")
    )


def search_ranking(text):
    """The keys of ``search_stories(text)``'s stories, in its order: what the search page
    keeps (``stories.delivery.pagination.CachedRanking``).

    On SQLite in one query that reads no story row: the candidates come from the index of
    live stories by date, each with its tier (which needs only its key), and are sorted by
    tier here; the sort is stable, so within a tier the newest stay first, as
    ``search_stories()`` orders them. Its second query looked up a thousand story rows for
    their date and status, which SQLite stores after the body, so each lookup read the
    body's overflow pages (3-5 ms of a 10,000-story search). Elsewhere it is
    ``search_stories()``'s own order: PostgreSQL's tiers are kept to the thousand
    candidates by its two queries, where one would work them out for every match."""
    terms = search_terms(text)
    if not terms:
        return []
    if connection.vendor != "sqlite":
        return list(search_stories(text).values_list("pk", flat=True))
    matching, tier = _sqlite_search(terms)
    candidates = (
        Story.objects.live()
        .filter(matching)
        .annotate(search_tier=tier)
        .order_by("-published_at", "-pk")
        .values_list("pk", "search_tier")[: settings.SEARCH_CANDIDATES]
    )
    return [pk for pk, _ in sorted(candidates, key=itemgetter(1))]


def _postgres_search(terms):
    """The condition a story must meet, and its tier (see the module)."""
    vector = '"stories_story"."search_vector"'
    query = "plainto_tsquery(%s::regconfig, %s)"
    params = [POSTGRES_CONFIG, " ".join(terms)]
    matching = RawSQL(f"{vector} @@ {query}", params, output_field=BooleanField())
    # The query with each lexeme restricted to one weight (A headline, B deck, C bylines and
    # tags): 'climat':A & 'talk':A matches where both words are in the headline, as
    # ts_filter(vector, '{a}') @@ query did, without copying every candidate's vector three
    # times (two thirds of the ranking's cost at a million stories). Its arguments are
    # constants, so PostgreSQL works each weighted query out once, not once per story.
    tier = RawSQL(
        f"CASE WHEN {vector} @@ {weighted_query('A')} THEN 0 "
        f"WHEN {vector} @@ {weighted_query('B')} THEN 1 "
        f"WHEN {vector} @@ {weighted_query('C')} THEN 2 ELSE 3 END",
        params * 3,
        output_field=IntegerField(),
    )
    return matching, tier


# A lexeme in a tsquery's text form: quoted, a quote inside it doubled.
TSQUERY_LEXEME = "('(?:[^']|'')*')"


def weighted_query(weight):
    """SQL: ``plainto_tsquery(config, words)`` with each lexeme restricted to ``weight``,
    by rewriting its text form (``'climat' & 'talk'`` to ``'climat':A & 'talk':A``)."""
    pattern = TSQUERY_LEXEME.replace("'", "''")
    return (
        f"regexp_replace(plainto_tsquery(%s::regconfig, %s)::text, '{pattern}', "
        f"'\\1:{weight}', 'g')::tsquery"
    )


def _fts_query(terms, columns=None):
    # Each term is a quoted FTS5 string of word characters only, so it is never syntax.
    prefix = f"{{{columns}}} : " if columns else ""
    return " AND ".join(f'{prefix}"{term}"' for term in terms)


def _sqlite_search(terms):
    """The condition a story must meet, and its tier (see the module)."""
    # Each IN (...) list is built once per query from the FTS index; joining the FTS table
    # instead lets SQLite's planner probe it once per story, which is far slower. The unary
    # + keeps the planner from walking the list of matches and looking up each story's row
    # for its date and status (stored after the body: every lookup reads the body's
    # overflow pages, 20 ms for a word in every story of 10,000): it walks the index of
    # live stories by date instead, newest first, reading no row, and stops at the
    # candidates' limit (2 ms). A word in few stories walks the whole index (1 ms at 10,000
    # stories, where the lookups took 0.1 ms).
    matching = '+"stories_story"."id" IN (SELECT rowid FROM stories_story_fts WHERE stories_story_fts MATCH %s)'  # noqa: E501
    tier = RawSQL(
        f"CASE WHEN {matching} THEN 0 WHEN {matching} THEN 1 WHEN {matching} THEN 2 ELSE 3 END",
        [
            _fts_query(terms, "headline"),
            _fts_query(terms, "deck"),
            _fts_query(terms, "bylines tags"),
        ],
        output_field=IntegerField(),
    )
    return RawSQL(matching, [_fts_query(terms)], output_field=BooleanField()), tier
