from django.conf import settings

from .models import Section


def site(request):
    """The site's name and its section menu, on every page (one query, when used)."""
    return {"site_name": settings.SITE_NAME, "nav_sections": Section.objects.all()}
