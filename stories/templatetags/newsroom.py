from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def machine_datetime(value):
    """An ISO 8601 time for `datetime` attributes, in site time, to the second.

    Django's "c" format prints microseconds, which HTML's datetime syntax does not allow.
    """
    if not value:
        return ""
    return timezone.localtime(value).replace(microsecond=0).isoformat()
