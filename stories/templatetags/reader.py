"""Template helpers for reader pages: typographic quotes and dashes, and page links."""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()

# Order matters: longer dashes and quotes with context first, the catch-alls last.
TYPOGRAPHIC_RULES = [
    (re.compile(r"\.\.\."), "…"),
    (re.compile(r"(?<=\S)---?(?=\S)"), "—"),  # word--word or word---word: an em dash
    (re.compile(r"(?<=\s)---?(?=\s)"), "—"),  # a spaced double hyphen: an em dash
    (re.compile(r"(?<=\s)-(?=\s)"), "–"),  # a spaced hyphen: a spaced en dash
    (re.compile(r"'(?=\d\ds\b)"), "’"),  # the ’90s
    (re.compile(r"(?<=\w)'(?=\w)"), "’"),  # apostrophes: don't, Kim's
    (re.compile(r"(?:^|(?<=[\s(\[{“‘—–-]))'"), "‘"),
    (re.compile(r"'"), "’"),
    (re.compile(r"(?:^|(?<=[\s(\[{‘—–-]))\""), "“"),
    (re.compile(r"\""), "”"),
]


@register.filter(is_safe=True)
def typographic(value):
    """Typewriter quotes and dashes as a typesetter would print them, HTML-escaped.

    Only the rendering changes: the stored text stays exactly as the editor (or the
    briefing) wrote it, so search and re-imports see the original characters.
    """
    if value is None:
        return ""
    if hasattr(value, "__html__"):
        return value  # already safe markup: its quotes may be attribute delimiters
    text = str(value)
    for pattern, replacement in TYPOGRAPHIC_RULES:
        text = pattern.sub(replacement, text)
    return mark_safe(conditional_escape(text))


@register.simple_tag(takes_context=True)
def page_url(context, number):
    """The address of page ``number`` of the current listing, keeping the other
    query parameters (a search's ``q``); page 1 drops ``page`` so it has one address."""
    request = getattr(context, "request", None)
    if request is None:
        return f"?page={number}"
    query = request.GET.copy()
    query.pop("page", None)
    if number != 1:
        query["page"] = number
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else request.path


@register.simple_tag
def page_range(page_obj):
    """Page numbers around the current one, with ``…`` for the gaps: 1 … 4 5 6 … 20."""
    return page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=1, on_ends=1)
