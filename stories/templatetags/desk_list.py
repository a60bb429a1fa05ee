"""The story list's long filters (``story_list.UsedRelatedFieldListFilter``)."""

from django import template
from django.utils.encoding import iri_to_uri
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

SELECTED = mark_safe(' class="selected"')


@register.filter
def filter_choice_items(choices):
    """A filter's choices as Django's ``admin/filter.html`` writes each, in one call rather
    than a template loop: 2,000 tags took 30 ms of the story list's time to render."""
    return format_html_join(
        "\n",
        '<li{}>\n    <a href="{}">{}</a></li>',
        (
            (
                SELECTED if choice["selected"] else "",
                iri_to_uri(choice["query_string"]),
                choice["display"],
            )
            for choice in choices
        ),
    )
