from functools import lru_cache

from django.conf import settings
from django.templatetags.static import static
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from stories.delivery import fragments
from stories.fasturls import fast_reverse


@lru_cache(maxsize=8)
def asset_urls(static_url, storage, static_root):
    """The stylesheet's and icon's addresses, looked up once per static files set-up (the
    arguments): a hashed name from the manifest cost more than the rest of the masthead."""
    return {"stylesheet_url": static("css/site.css"), "icon_url": static("img/icon.svg")}


def site(request):
    """The site's name and its section menu, on every page (read once per content
    generation, and only when a page shows it)."""
    return {
        "site_name": settings.SITE_NAME,
        "language_code": settings.LANGUAGE_CODE,
        # Which reader page this is, for the masthead's current-page marks.
        "page_name": getattr(request.resolver_match, "url_name", None),
        # For the masthead on every page; reverse() cost more than the rest of it.
        "home_url": fast_reverse("stories:home"),
        "search_url": fast_reverse("stories:search"),
        **asset_urls(
            settings.STATIC_URL,
            settings.STORAGES["staticfiles"]["BACKEND"],
            str(settings.STATIC_ROOT),
        ),
        "current_year": timezone.localdate().year,
        "nav_sections": SimpleLazyObject(lambda: fragments.nav_sections(request)),
        # Kept meta tags carry absolute addresses: they vary with the address asked for.
        "site_address": SimpleLazyObject(lambda: request.build_absolute_uri("/")),
    }
