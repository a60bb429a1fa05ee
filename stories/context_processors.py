from django.conf import settings
from django.utils.functional import SimpleLazyObject

from . import caching, fragments


def site(request):
    """The site's name and its section menu, on every page (read once per content
    generation, and only when a page shows it)."""
    return {
        "site_name": settings.SITE_NAME,
        "nav_sections": SimpleLazyObject(lambda: fragments.nav_sections(request)),
        # For {% cache %} fragments that must follow edits (see stories.fragments).
        "fragment_cache_seconds": settings.FRAGMENT_CACHE_SECONDS,
        "content_generation": SimpleLazyObject(lambda: caching.request_generation(request)),
    }
