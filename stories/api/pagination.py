"""Cursor (keyset) pagination: each page starts after the last item of the one before.

A cursor names that last item's position in the ordering (its sort values, down to a
unique one), not an offset, so stories published while a client pages through never shift
or repeat what it is sent, and a deep page costs what the first one does. Cursors are
opaque to clients (URL-safe base64 of JSON) and go one way, forward: ``next`` is null on
the last page. The page size is ``page_size`` (``API_PAGE_SIZE`` by default, at most
``API_MAX_PAGE_SIZE``).
"""

import base64
import binascii
import json
from datetime import datetime
from functools import reduce
from operator import or_

from django.conf import settings
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


def encode_cursor(values):
    plain = [["d", v.isoformat()] if isinstance(v, datetime) else ["v", v] for v in values]
    text = json.dumps(plain, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor, length):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        plain = json.loads(text)
        values = [datetime.fromisoformat(value) if kind == "d" else value for kind, value in plain]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor() from None
    if len(values) != length or any(not isinstance(v, (str, int, datetime)) for v in values):
        raise BadCursor()
    if any(isinstance(v, str) and "\x00" in v for v in values):
        raise BadCursor()  # PostgreSQL takes no NUL in a string
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

    def page_size(self, request):
        # Checked (1 to API_MAX_PAGE_SIZE) by the view's parameter serializer.
        return int(request.query_params.get(self.page_size_query_param, settings.API_PAGE_SIZE))

    def paginate_queryset(self, queryset, request, view=None):
        keys = list(view.get_ordering())
        self.request = request
        self.keys = keys
        size = self.page_size(request)
        cursor = request.query_params.get(self.cursor_query_param)
        queryset = queryset.order_by(*keys)
        if cursor:
            try:
                queryset = queryset.filter(after(keys, decode_cursor(cursor, len(keys))))
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
        return replace_query_param(url, self.cursor_query_param, encode_cursor(values))

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
