"""The story list (the admin's changelist) at any size of archive: a million stories cost
about what ten thousand do.

- Counts: a list of at least ``ESTIMATE_FROM`` stories shows PostgreSQL's planner estimate
  (the table's statistics; ``pg_class.reltuples`` for the whole table) instead of counting
  every row on every view; smaller lists are counted exactly, so a filtered list's "12
  stories" is right. The page links come from the estimate too; a page past the real end
  shows an empty list rather than an error.
- Dates: ``PublishedFilter`` narrows the list to a year or a month by a range of
  ``published_at`` that the index on it answers. Django's ``date_hierarchy`` it replaces
  listed its years and months with a ``DISTINCT`` of every story's truncated date.
- Tag and byline filters offer the tags and bylines some story has (``UsedRelatedFieldListFilter``)
  by one index probe each, not by the ``DISTINCT`` of every story's links, and write their
  thousands of links without a template loop per link.
- Search: through the full-text index (PostgreSQL's ``search_vector``, SQLite's FTS5 table,
  ``stories.search_index``): every word, or the start of a word, in the headline, deck, body,
  bylines or tags. ``LIKE '%word%'`` over the body and the byline names read every story
  and needed a ``DISTINCT`` of every column for the byline join.
"""

import html
import json
import re
import unicodedata
from datetime import datetime

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Paginator
from django.db import connections
from django.db.models import BooleanField, Exists, Max, Min, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from stories.reader.search import search_terms
from stories.search_index import POSTGRES_CONFIG

# Lists estimated at this many stories or more show the estimate rather than a count.
ESTIMATE_FROM = 10_000


def planner_estimate(queryset):
    """PostgreSQL's estimate of the number of rows ``queryset`` gives (``EXPLAIN``)."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # a condition no row can meet (``none()``)
        return 0
    connection = connections[queryset.db]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A paginator whose count is an estimate for big lists on PostgreSQL (see the module)."""

    @cached_property
    def count(self):
        queryset = self.object_list
        if connections[queryset.db].vendor == "postgresql":
            estimate = planner_estimate(queryset)
            if estimate >= ESTIMATE_FROM:
                return estimate
        return super().count

    def validate_number(self, number):
        # An estimated count may end a page or two early or late: a page past it is an
        # empty list, not the admin's "page not found" error.
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.count >= ESTIMATE_FROM:
                return int(number)
            raise


class ListedColumnsChangeList(ChangeList):
    """A changelist whose page reads its rows without the model admin's ``list_deferred``
    columns (``ListedColumnsMixin``)."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = self.result_list.defer(*self.model_admin.list_deferred)


class ListedColumnsMixin:
    """For the story admin: the list's page reads a story's row without its body and plain
    body (``list_deferred``), which no column of the list shows: at a hundred stories a page
    they were most of what it read. Only the page: list actions and the change form read
    whole stories, as before."""

    list_deferred = ("body", "body_plain")

    def get_changelist(self, request, **kwargs):
        return ListedColumnsChangeList

    def action_checkbox(self, obj):
        """Each row's checkbox for the list actions, written as Django's checkbox widget
        writes it (``ModelAdmin.action_checkbox``) without rendering the widget's templates
        for each of the hundred rows: that was a third of the rows' rendering time."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )


class PublishedFilter(admin.SimpleListFilter):
    """Stories published in a year (``2024``) or a month (``2024-03``), by a range of dates.

    The years offered run from the first publication to the last (two index lookups); once
    a year is chosen, the months of it that have stories are offered too (one query of an
    index probe per month)."""

    title = "publication date"
    parameter_name = "published"

    def lookups(self, request, model_admin):
        stories = model_admin.model.objects
        span = stories.aggregate(first=Min("published_at"), last=Max("published_at"))
        if span["first"] is None:
            return []
        first, last = (timezone.localtime(span[end]).year for end in ("first", "last"))
        years = set(range(first, last + 1))
        chosen = self.value() or ""
        if self.period(chosen):
            # A year no story has (a link kept from before, a typed address) is offered
            # too, chosen, so that the list says what it shows: nothing.
            years.add(int(chosen[:4]))
        choices = []
        for year in sorted(years, reverse=True):
            choices.append((f"{year:04}", f"{year:04}"))
            if chosen[:4] == f"{year:04}":
                choices.extend(self.months_with_stories(stories, year, chosen))
        return choices

    def months_with_stories(self, stories, year, chosen):
        """The (value, label) of the months of ``year`` some story was published in, and the
        chosen one whether or not it has any, so that the list says what it shows."""
        months = {f"month_{month}": f"{year:04}-{month:02}" for month in range(1, 13)}
        probes = {}
        for alias, month in months.items():
            start, end = self.period(month)
            probes[alias] = Exists(stories.filter(published_at__gte=start, published_at__lt=end))
        # One row of twelve EXISTS, each an index probe: not a DISTINCT of the year's dates.
        found = stories.order_by().annotate(**probes).values(*probes)[0]
        return [
            (month, datetime(year, int(month[5:]), 1).strftime(f"%B {year:04}"))
            for alias, month in months.items()
            if found[alias] or month == chosen
        ]

    @staticmethod
    def period(value):
        """The [start, end) of ``2024`` or ``2024-03`` in site time, or None."""
        # Digits only, as the links write them: int() also reads "+026", " 202" and other
        # scripts' digits ("٢٠٢٥").
        if not re.fullmatch(r"[0-9]{4}(-[0-9]{2})?", value):
            return None
        try:
            start = datetime(int(value[:4]), int(value[5:] or 1), 1)
            if len(value) == 4:
                end = datetime(start.year + 1, 1, 1)
            else:
                end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        except ValueError:  # year 0, month 13, or past the year 9999
            return None
        zone = timezone.get_current_timezone()
        return timezone.make_aware(start, zone), timezone.make_aware(end, zone)

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        period = self.period(self.value())
        if period is None:
            # Not a year or a month: refused as Django refuses a bad field value ("?e=1").
            raise IncorrectLookupParameters(f"Not a year or a month: {self.value()!r}")
        return queryset.filter(published_at__gte=period[0], published_at__lt=period[1])


class UsedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """Django's ``RelatedOnlyFieldListFilter`` for a many-to-many field with a through model
    (tags, bylines): the choices some story has, each found by an ``EXISTS`` on the link
    table's index rather than from a ``DISTINCT`` of every story's links. The choices are
    read as (key, name) pairs: a model per tag was a fifth of the story list's time with
    2,000 tags. So the related model's rows must show as their ``name`` (tags, bylines).

    Headed by the related model's singular name ("By tag", as Django's "By section"), not
    the field's ("By Tags"); the choices are in reading order (``reading_order``)."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = field.related_model._meta.verbose_name

    def field_choices(self, field, request, model_admin):
        through = field.remote_field.through
        link = next(
            link
            for link in through._meta.get_fields()
            if link.many_to_one and link.related_model is field.related_model
        )
        used = through.objects.filter(**{link.name: OuterRef("pk")})
        choices = field.related_model._default_manager.filter(Exists(used)).order_by()
        return sorted(
            choices.values_list("pk", "name"), key=lambda choice: reading_order(choice[1])
        )

    # Django's filter markup, its list written by ``choice_items`` rather than by a template
    # loop: with 2,000 tags and 500 bylines the loop was 90 of a story list's 270 ms.
    template = "admin/stories/story/long_filter.html"
    # Stands for a choice's key in the one query string every choice's link is made from.
    KEY_MARKER = "0newsroomchoicekey0"

    def choices(self, changelist):
        """Django's choices, every link made from one query string: they differ only in the
        chosen key (one ``ChangeList.get_query_string`` per link was 36 of the story list's
        274 ms)."""
        if changelist.add_facets:
            yield from super().choices(changelist)
            return
        template = changelist.get_query_string(
            {self.lookup_kwarg: self.KEY_MARKER}, [self.lookup_kwarg_isnull]
        )
        if template.count(self.KEY_MARKER) != 1:
            # The marker is also in another parameter's value: make each link in full.
            yield from super().choices(changelist)
            return
        before, after = template.split(self.KEY_MARKER)
        choices = super().choices(changelist)
        yield next(choices)  # "All"
        selected = set(self.lookup_val or ())
        for pk, name in self.lookup_choices:
            key = str(pk)
            yield {
                "selected": key in selected,
                "query_string": f"{before}{key}{after}",
                "display": name,
            }
        if self.include_empty_choice:
            yield {
                "selected": bool(self.lookup_val_isnull),
                "query_string": changelist.get_query_string(
                    {self.lookup_kwarg_isnull: "True"}, [self.lookup_kwarg]
                ),
                "display": self.empty_value_display,
            }


# Latin letters that are not a letter plus an accent (so Unicode does not decompose them),
# spelt as the alphabets that use them file them: Ærø with the A's, Łódź with the L's.
OWN_LETTERS = str.maketrans(
    {
        "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
        "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th", "Ħ": "H", "ħ": "h",
        "ı": "i", "Ŋ": "N", "ŋ": "n", "Ŧ": "T", "ŧ": "t", "Ə": "E", "ə": "e", "ĸ": "k",
    }
)  # fmt: skip


def reading_order(name):
    """A sort key that puts names where a reader looks for them: letters with accents among
    the plain ones and case ignored ("Zürich" after "York", "İstanbul" among the I's,
    "Øresund" among the O's), where the database's collation (SQLite's, or PostgreSQL's
    "C") sorted by code point. Other scripts follow the Latin one."""
    plain = "".join(
        character
        for character in unicodedata.normalize("NFKD", name.translate(OWN_LETTERS))
        if not unicodedata.combining(character)
    )
    return plain.casefold(), name


def choice_items(choices):
    """A list filter's ``<li>`` items, as Django's ``admin/filter.html`` writes them.

    Written by hand rather than by the template's loop or ``format_html`` per item, which
    were most of the cost of thousands of items. The query strings are
    ``ChangeList.get_query_string``'s, already percent-encoded, so the template's
    ``iriencode`` would leave them as they are."""
    selected = ' class="selected"'
    return mark_safe(
        "\n".join(
            f"<li{selected if choice['selected'] else ''}>\n"
            f'    <a href="{escaped(choice["query_string"])}">{escaped(choice["display"])}</a></li>'
            for choice in choices
        )
    )


def escaped(value):
    """``conditional_escape()`` without its lazy-argument wrapper: safe text as it is,
    anything else (a lazy translation too) as text with HTML's special characters escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def search_stories_index(queryset, text):
    """``queryset`` narrowed to stories whose indexed document has every word of ``text``
    (or a word starting with it); none when ``text`` has no words (as the reader's search);
    None on a database without an index."""
    vendor = connections[queryset.db].vendor
    if vendor not in ("postgresql", "sqlite"):
        return None
    terms = search_terms(text)
    if not terms:
        return queryset.none()
    if vendor == "postgresql":
        # Each term is word characters only, so it is never tsquery syntax.
        query = " & ".join(f"{term}:*" for term in terms)
        return queryset.filter(
            RawSQL(
                '"stories_story"."search_vector" @@ to_tsquery(%s::regconfig, %s)',
                [POSTGRES_CONFIG, query],
                output_field=BooleanField(),
            )
        )
    # SQLite's FTS5 table: each term a quoted string of word characters, so never syntax.
    query = " AND ".join(f'"{term}"*' for term in terms)
    return queryset.filter(
        RawSQL(
            '"stories_story"."id" IN (SELECT rowid FROM stories_story_fts '
            "WHERE stories_story_fts MATCH %s)",
            [query],
            output_field=BooleanField(),
        )
    )


class IndexedStorySearchMixin:
    """For the story admin: the list's search box searches the full-text index; on a database
    without one, Django's own search over ``search_fields``."""

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():  # no search: Django asks with an empty term
            return queryset, False
        found = search_stories_index(queryset, search_term)
        if found is None:
            return super().get_search_results(request, queryset, search_term)
        # One row per story: no join, so no DISTINCT.
        return found, False
