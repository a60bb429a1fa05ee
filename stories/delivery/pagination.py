"""Page numbers without the OFFSET cliff.

A plain ``LIMIT 20 OFFSET 1980`` makes the database build (join, fetch) and throw away
1,980 full rows, so deep pages cost far more than the first. Here the offset runs on a
query that reads only primary keys, which the ordering index answers without touching
the table, and only the page's 20 rows are fetched in full ("deferred join"). Page
numbers, counts and links stay as Django's ``Paginator`` makes them.
"""

from django.core.paginator import Paginator
from django.utils.functional import SimpleLazyObject, cached_property

from . import fragments


class KeptCountPaginator(Paginator):
    """``count_name``, with the request, keeps the count for the content generation
    (``stories.delivery.fragments.listing_count``): a COUNT over thousands of rows on every page
    view was a large part of a listing's cost, and it changes only with content."""

    def __init__(self, *args, request=None, count_name=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request, self.count_name = request, count_name

    @cached_property
    def count(self):
        if self.count_name is None:
            return super().count
        return fragments.listing_count(self.request, self.count_name, self.object_list)


class DeferredJoinPaginator(KeptCountPaginator):
    def page(self, number):
        number = self.validate_number(number)
        # The stories are read when first used: a page whose rendered content is kept for
        # the content generation (``{% cache %}`` in the listing templates) never reads them.
        stories = SimpleLazyObject(lambda: self.page_stories(number))
        return self._get_page(stories, number, self)

    def page_stories(self, number):
        listing = self.object_list
        # With a count name, the page's keys are kept for the content generation too, so
        # page 100 read again costs what page 1 does (no OFFSET at all).
        keys_name = None if self.count_name is None else f"keys:{self.count_name}:{number}"
        keys = fragments.peek(self.request, keys_name) if keys_name else None
        if keys is not None:
            return list(listing.filter(pk__in=keys))
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page_keys = listing.prefetch_related(None).values("pk")[bottom:top]
        # One query still: the keys are a subquery of the row query.
        objects = list(listing.filter(pk__in=page_keys))
        if keys_name:
            fragments.keep(self.request, keys_name, [story.pk for story in objects])
        return objects
