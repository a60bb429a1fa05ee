"""What the templates' ``{% cache %}`` blocks are keyed by (``stories.delivery.fragments``).

Every block reads ``{% cache fragment_seconds <name> cache_scope <values…> using=fragment_cache %}``
(the section menu ``menu_scope``, the footer ``footer_scope``)
(``tests/test_fragments.py`` checks each template says so). Django's tag resolves a missing
vary-on variable to "" without a word, so the scope (database, site address and the state
of the surrogate keys the block shows) comes from here, on every request, and never from a view.
"""

from django.conf import settings

from .fragments import enabled
from .generation import CacheScope

# FRAGMENT_CACHE_SECONDS = 0 turns fragments off. ``{% cache %}`` with a timeout of 0 still
# looks the key up and stores the rendering (an expired entry, a file, a Redis delete), so
# the blocks then use this alias, a DummyCache that settings always define.
FRAGMENTS_OFF = "fragments_off"


def fragment_cache(request):
    # Not for odd spellings of the host either (``generation.is_canonical_host``), nor for
    # a page kept out of the cache (``fragments.keep_out_of_fragment_cache``).
    on = enabled(request)
    return {
        "fragment_seconds": settings.FRAGMENT_CACHE_SECONDS,
        "fragment_cache": "default" if on else FRAGMENTS_OFF,
        # Off, the key is never looked up: no need to look up the surrogate keys for it.
        # The page's blocks show what its keys name; the menu shows the sections only, so
        # one rendering serves every page.
        "cache_scope": CacheScope(request) if on else FRAGMENTS_OFF,
        "menu_scope": CacheScope(request, keys=["sections"]) if on else FRAGMENTS_OFF,
        # The footer shows the sections and the site pages (About, Contact).
        "footer_scope": CacheScope(request, keys=["sections", "pages"]) if on else FRAGMENTS_OFF,
    }
