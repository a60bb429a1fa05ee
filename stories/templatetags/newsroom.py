from django import template
from django.utils import timezone
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
