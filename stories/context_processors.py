from django.conf import settings
from django.utils.functional import SimpleLazyObject

from . import fragments
from .fasturls import fast_reverse


def site(request):
    """The site's name and its section menu, on every page (read once per content
    generation, and only when a page shows it)."""
    return {
        "site_name": settings.SITE_NAME,
        # For the masthead on every page; reverse() cost more than the rest of it.
        "home_url": fast_reverse("stories:home"),
        "search_url": fast_reverse("stories:search"),
        "nav_sections": SimpleLazyObject(lambda: fragments.nav_sections(request)),
        # Kept meta tags carry absolute addresses: they vary with the address asked for.
        "site_address": SimpleLazyObject(lambda: request.build_absolute_uri("/")),
    }
