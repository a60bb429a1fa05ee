"""Cursor (keyset) pagination: each page starts after the last item of the one before.

A cursor names that last item's position in the ordering (its sort values, down to a
unique one), not an offset, so stories published while a client pages through never shift
or repeat what it is sent, and a deep page costs what the first one does. Cursors are
opaque to clients and signed (``django.core.signing``, salted with the list and its
ordering), so only a cursor this site issued for that list is taken; they go one way,
forward: ``next`` is null on the last page. An empty ``cursor`` is the first page. The page
size is ``page_size`` (``API_PAGE_SIZE`` by default, at most
``API_MAX_PAGE_SIZE``).
"""

from datetime import datetime
from functools import reduce
from operator import or_

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Q
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class BadCursor(serializers.ValidationError):
    def __init__(self):
        super().__init__(
            {"cursor": ["This cursor is not valid here: follow the 'next' link as given."]}
        )


def cursor_salt(keys):
    return "stories.api.cursor:" + ",".join(keys)


def encode_cursor(values, keys):
    plain = [["d", v.isoformat()] if isinstance(v, datetime) else ["v", v] for v in values]
    return signing.dumps(plain, salt=cursor_salt(keys))


def decode_cursor(cursor, keys):
    try:
        plain = signing.loads(cursor, salt=cursor_salt(keys))
        values = [datetime.fromisoformat(value) if kind == "d" else value for kind, value in plain]
    except (signing.BadSignature, ValueError, TypeError):
        raise BadCursor() from None
    if len(values) != len(keys) or any(not isinstance(v, (str, int, datetime)) for v in values):
        raise BadCursor()
    return values


def after(keys, values):
    """Rows after ``values`` in the ordering ``keys`` ("field" ascending, "-field"
    descending): a lexicographic comparison, as (a, b) > (x, y) means a > x or a = x and
    b > y."""
    branches = []
    for index, key in enumerate(keys):
        field = key.lstrip("-")
        lookup = "lt" if key.startswith("-") else "gt"
        equal = {k.lstrip("-"): v for k, v in zip(keys[:index], values[:index], strict=True)}
        branches.append(Q(**equal, **{f"{field}__{lookup}": values[index]}))
    return reduce(or_, branches)


class KeysetPagination(BasePagination):
    """Pages of a queryset ordered by ``view.ordering`` (whose last key is unique)."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        keys = list(view.get_ordering())
        self.request = request
        self.keys = keys
        # Checked by the view's parameter serializer (the size 1 to API_MAX_PAGE_SIZE); an
        # empty value counts as none given.
        parameters = view.parameters()
        size = parameters.get(self.page_size_query_param) or settings.API_PAGE_SIZE
        cursor = parameters.get(self.cursor_query_param)
        queryset = queryset.order_by(*keys)
        if cursor:
            try:
                queryset = queryset.filter(after(keys, decode_cursor(cursor, keys)))
            except (ValueError, TypeError, ValidationError):
                raise BadCursor() from None  # well formed, but not values these keys take
        rows = list(queryset[: size + 1])
        self.has_next = len(rows) > size
        self.page = rows[:size]
        return self.page

    def next_link(self):
        if not self.has_next:
            return None
        last = self.page[-1]
        values = [getattr(last, key.lstrip("-")) for key in self.keys]
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, encode_cursor(values, self.keys))

    def get_paginated_response(self, data):
        return Response({"next": self.next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page, or null on the last one.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Where the page starts: copy it from the previous page's 'next'.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Items per page (default {settings.API_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE},
            },
        ]
