from django import template
from django.utils import timezone

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
