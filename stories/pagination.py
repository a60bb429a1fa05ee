"""Page numbers without the OFFSET cliff.

A plain ``LIMIT 20 OFFSET 1980`` makes the database build (join, fetch) and throw away
1,980 full rows, so deep pages cost far more than the first. Here the offset runs on a
query that reads only primary keys, which the ordering index answers without touching
the table, and only the page's 20 rows are fetched in full ("deferred join"). Page
numbers, counts and links stay as Django's ``Paginator`` makes them.
"""

from django.core.paginator import Paginator


class DeferredJoinPaginator(Paginator):
    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        listing = self.object_list
        page_keys = listing.prefetch_related(None).values("pk")[bottom:top]
        # One query still: the keys are a subquery of the row query.
        return self._get_page(listing.filter(pk__in=page_keys), number, self)
