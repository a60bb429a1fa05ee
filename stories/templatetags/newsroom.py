from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..richtext import with_lead_in
from ..text import xml_safe

register = template.Library()


@register.filter
def machine_datetime(value):
    """An ISO 8601 time for `datetime` attributes, in site time, to the second.

    Django's "c" format prints microseconds, which HTML's datetime syntax does not allow.
    """
    if not value:
        return ""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


# How a reader page prints a time: today's in the newsroom's zone, older ones by their date.
# The story page says more (the date and the time; the zone's name for today's).
TODAY_FORMAT = "H:i T"
OLDER_FORMAT = "j F Y"
FULL_TODAY_FORMAT = r"\t\o\d\a\y, H:i T"
FULL_OLDER_FORMAT = "j F Y, H:i T"


@register.simple_tag
def reader_time(value, full=False):
    """``<time datetime="…">`` for a published or updated time: "14:05 CET" when it falls on
    the newsroom's today (``settings.TIME_ZONE``), else "4 December 2026"; ``full`` adds the
    time to older dates and "today" to today's (the story page).

    "Today" depends on the local date only, never on the reader or the minute: every page
    and piece that prints it is cached under a content generation, and the generation ends
    at the newsroom's midnight (``stories.delivery.generation.current_generation``), so
    yesterday's "14:05" is never served as today's.
    """
    if not value:
        return ""
    local = timezone.localtime(value)
    is_today = local.date() == timezone.localdate()
    if full:
        shape = FULL_TODAY_FORMAT if is_today else FULL_OLDER_FORMAT
    else:
        shape = TODAY_FORMAT if is_today else OLDER_FORMAT
    return format_html(
        '<time datetime="{}">{}</time>', machine_datetime(value), format_date(local, shape)
    )


@register.filter
def xml_text(value):
    """Text without the characters XML 1.0 cannot carry (``stories.text.xml_safe``), for
    XML templates: a row written straight to the database may hold them."""
    return xml_safe(str(value))


@register.simple_tag
def story_body(story):
    """The story's body as readers see it: sanitized HTML (``Story.body_html``), the dateline
    leading its first paragraph."""
    dateline = (
        format_html('<span class="dateline">{} — </span>', story.dateline) if story.dateline else ""
    )
    # Both parts are safe: the body sanitized, the dateline escaped by format_html.
    return mark_safe(with_lead_in(story.body_html, dateline))
