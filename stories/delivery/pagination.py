"""Listing counts and search rankings cached per content generation, and page numbers
without the OFFSET cliff.

A plain ``LIMIT 20 OFFSET 1980`` makes the database build (join, fetch) and throw away
1,980 full rows, so deep pages cost far more than the first. Here the offset runs on a
query that reads only primary keys, which the ordering index answers without touching
the table, and only the page's 20 rows are fetched in full ("deferred join"). Page
numbers, counts and links stay as Django's ``Paginator`` makes them.
"""

import hashlib
from collections.abc import Sequence

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import IntegerField, Subquery
from django.db.models.expressions import RawSQL
from django.utils.functional import SimpleLazyObject, cached_property

from . import fragments


def cached_count(request, name, count):
    """``count()`` for a listing, counted once per generation. ``name`` must say everything
    the count depends on (the section, tag, byline or search words)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return fragments.cached(request, f"count:{digest}", count)


# Pages whose first row is further down than this read their keys first (the deferred
# join); above it, a plain LIMIT/OFFSET discards too few rows to matter.
DEFERRED_JOIN_OFFSET = 100


class CachedCountPaginator(Paginator):
    """``cache_name``, with the request, caches the count for the content generation
    (``cached_count``): a COUNT over thousands of rows on every page view was a large part
    of a listing's cost, and it changes only with content. ``counter`` gives the count
    (by default the listing's ``count()``): a listing kept counted in the database
    (``stories.listings.live_count``) reads it from there."""

    def __init__(self, *args, request=None, cache_name=None, counter=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request, self.cache_name, self.counter = request, cache_name, counter

    @cached_property
    def count(self):
        counter = self.counter or self.object_list.count
        if self.cache_name is None:
            return counter()
        return cached_count(self.request, self.cache_name, counter)


class CachedCountMixin:
    """For a ``ListView``: the listing is counted once per content generation, under the
    name ``cache_name()`` gives (it must say everything the listing depends on), by
    ``count_listing()`` if the view has one (else the queryset's ``count()``)."""

    def cache_name(self):
        raise NotImplementedError

    def get_paginator(self, queryset, per_page, **kwargs):
        return super().get_paginator(
            queryset,
            per_page,
            request=self.request,
            cache_name=self.cache_name(),
            counter=getattr(self, "count_listing", None),
            **kwargs,
        )


# Listings reached through a link table (a tag's, a byline's) of at most this many stories
# have their page's keys sorted apart on PostgreSQL (``keys_sorted_apart``).
SORT_APART_MAX = 20_000


def keys_sorted_apart(keys, bottom, top):
    """The keys of a listing's rows ``bottom`` to ``top``, newest first, found by reading
    the listing's keys and dates in full and sorting those: a subquery fenced with ``OFFSET
    0`` that the planner cannot merge with the ordering.

    Without the fence PostgreSQL walks the index of every live story newest first and looks
    up each story's tag (or byline) until it has a page: quick if the tag's stories are
    spread evenly over time, but a tag whose stories are all years old made it read most of
    the archive (8.5 s for a tag of 1,400 stories among 1,000,000). Sorted apart, the cost
    follows the size of the listing instead, which ``SORT_APART_MAX`` bounds."""
    sql, params = keys.order_by().values_list("pk", "published_at").query.sql_with_params()
    return RawSQL(
        f"SELECT listed.pk FROM ({sql} OFFSET 0) AS listed (pk, published_at) "
        "ORDER BY listed.published_at DESC, listed.pk DESC LIMIT %s OFFSET %s",
        (*params, top - bottom, bottom),
    )


class PinnedCount(Subquery):
    """How many rows a (sliced) queryset of keys has, as a value every row of the outer query
    carries: the database works it out once (an uncorrelated subquery)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS pinned)"
    output_field = IntegerField()


class DeferredJoinPaginator(CachedCountPaginator):
    """``sort_apart``: the listing is reached through a link table (see
    ``keys_sorted_apart``).

    ``pinned``: a function giving the listing's stories its first page shows ahead of the
    others (those editors pinned there), a queryset sliced to at most ``pinned_most``. They
    are left out of the date order, so each story is on one page only, the first page lists
    ``per_page`` stories in all and the count still numbers the pages: the first page's own
    stories are the newest others, as many as places are left, and every later page starts
    as many stories earlier in the date order as are pinned."""

    def __init__(self, *args, sort_apart=False, pinned=None, pinned_most=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.sort_apart = sort_apart
        self.pinned, self.pinned_most = pinned, pinned_most

    def page(self, number):
        number = self.validate_number(number)
        # The stories are read when first used: a page whose rendered content is cached for
        # the content generation (``{% cache %}`` in the listing templates) never reads them,
        # and the listing (``stories.reader.views.LazyListing``) is not even built.
        stories = SimpleLazyObject(lambda: self.page_stories(number))
        return self._get_page(stories, number, self)

    def page_stories(self, number):
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if self.pinned is None:
            return self.read(self.object_list, bottom, top)
        # How many are pinned is only known with them: read as many more stories as may be
        # pinned, each carrying the number pinned (no query of its own), and keep the page's.
        keys = self.pinned().values("pk")
        listing = self.object_list.exclude(pk__in=keys)
        read_from = max(0, bottom - self.pinned_most)
        stories = self.read(listing, read_from, top, pinned_count=PinnedCount(keys))
        pinned = stories[0].pinned_count if stories else 0
        first = max(0, bottom - pinned) - read_from
        return stories[first : first + top - bottom - (pinned if number == 1 else 0)]

    def read(self, listing, bottom, top, **annotations):
        """The stories ``bottom`` to ``top`` of ``listing`` (the paginator's own, or fewer:
        without those pinned), each with ``annotations``."""
        keys = listing.prefetch_related(None).values("pk")
        if (
            self.sort_apart
            and connections[keys.db].vendor == "postgresql"
            and self.count <= SORT_APART_MAX
        ):
            page_keys = keys_sorted_apart(keys, bottom, top)
        elif bottom < DEFERRED_JOIN_OFFSET:
            # Near the top there are few rows to skip: a plain LIMIT costs the database as
            # little, and building one queryset instead of two costs the page less.
            return list(listing.annotate(**annotations)[bottom:top])
        else:
            page_keys = keys[bottom:top]
        # One query still: the keys are a subquery of the row query, which reads them from
        # the full listing (its other filters again made PostgreSQL scan every story).
        return list(self.object_list.filter(pk__in=page_keys).annotate(**annotations))


class CachedRanking(Sequence):
    """Search results as the ranked list of their stories' keys, cached for the content
    generation: ranking every match is most of a search's cost, and a reader paging through
    results, or the next reader asking the same words, needs only a page's stories read.
    The list holds keys only, so it stays small. ``ranked`` is a function giving the ranked
    keys, ``stories`` one giving the queryset they are read from; both run only if needed.
    A slice is the page's stories in rank order (``live()`` still applies), read only when
    a template uses it, so a page whose rendered results are cached (``{% cache %}``) reads
    none.

    The slice is a ``SimpleLazyObject`` rather than a queryset: merely building the ranked
    queryset (``live()``, ``for_cards()`` and, then, a ``Case`` of twenty ``When``s) cost a
    warm search page 1.2 ms of its 2.2 ms in process (10,000 stories; 1.4 ms with the lazy
    slice), and a warm page never evaluates it."""

    def __init__(self, request, name, ranked, stories):
        # A search that finds nothing caches nothing (a lookup's miss): anyone can make up
        # words, and only real results should take cache space.
        self.keys = (
            fragments.cached_lookup(
                request,
                f"ranking:{name}",
                lambda: list(ranked()) or None,
            )
            or []
        )
        self.stories = stories

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, index):
        if isinstance(index, slice):
            keys = self.keys[index]
            return SimpleLazyObject(lambda: self.read(keys))
        return self.read([self.keys[index]])[0]

    def read(self, keys):
        """The stories of ``keys`` still in ``stories()``, in the keys' order: put in order
        here, where ordering the query by a ``Case`` of twenty ``When``s cost a search page
        1.7 ms of building and compiling (more than the query itself)."""
        if not keys:
            return []
        found = {story.pk: story for story in self.stories().filter(pk__in=keys)}
        return [found[key] for key in keys if key in found]
