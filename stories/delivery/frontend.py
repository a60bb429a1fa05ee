"""Purging the shared cache in front of the site (Varnish, a CDN) by surrogate key.

Reader pages carry their surrogate keys in ``xkey`` and ``Surrogate-Key`` headers
(``page_cache.add_surrogate_headers``). When a change commits, the keys it affects
(``stories.delivery.dependencies``) are purged through each backend in
``settings.FRONTEND_CACHE``, by the background worker (``stories.delivery.tasks``), so an
editor's save never waits on the cache in front and a failed purge is retried.

    FRONTEND_CACHE = {
        "varnish": {
            "BACKEND": "stories.delivery.frontend.VarnishBackend",
            "LOCATION": "http://127.0.0.1:8000",
        },
    }

(``FRONTEND_CACHE_VARNISH_URL`` in the environment sets this one.) A backend is a class
taking its settings dict whose ``purge(keys)`` purges the scoped keys it is given and raises
``PurgeError`` if it could not; docs/caching.md tells how Fastly (``Surrogate-Key``,
purge by key through its API) and Cloudflare (``Cache-Tag``) fit here.

Keys are scoped to the database (``scoped``): two sites behind one Varnish purge only their
own pages.
"""

import urllib.error
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

from .generation import database_scope

# Keys per purge request: Varnish refuses request headers longer than 8 KB by default.
KEYS_PER_REQUEST = 200


class PurgeError(Exception):
    pass


def scoped(keys):
    """Keys as the headers and purges name them: prefixed with this site's scope."""
    prefix = settings.FRONTEND_CACHE_KEY_PREFIX or database_scope()[:12]
    return [f"{prefix}-{key}" for key in keys]


class VarnishBackend:
    """Varnish with the xkey vmod (Debian's varnish-modules): a ``PURGE`` request with the
    keys in an ``xkey-purge`` header, which ``deploy/varnish.vcl`` accepts from localhost
    only and answers 200 (with the number of objects purged)."""

    def __init__(self, params):
        self.location = params["LOCATION"].rstrip("/") + "/"
        self.timeout = params.get("TIMEOUT", 5)
        # Soft purges keep the object for grace; hard ones (the default) drop it.
        self.header = "xkey-softpurge" if params.get("SOFT") else "xkey-purge"

    def purge(self, keys):
        keys = list(keys)
        for start in range(0, len(keys), KEYS_PER_REQUEST):
            chunk = keys[start : start + KEYS_PER_REQUEST]
            request = urllib.request.Request(
                self.location, method="PURGE", headers={self.header: " ".join(chunk)}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
            except (urllib.error.URLError, OSError) as error:
                raise PurgeError(f"Varnish at {self.location} did not purge: {error}") from error


def backends():
    return [
        import_string(config["BACKEND"])(config)
        for config in getattr(settings, "FRONTEND_CACHE", {}).values()
    ]


def purge(keys):
    """Purge ``keys`` (unscoped) from every configured cache in front, now."""
    keys = scoped(sorted(set(keys)))
    for backend in backends():
        backend.purge(keys)


def purge_after_commit(keys):
    """Called once a change has committed: hand its keys to the background worker."""
    if not getattr(settings, "FRONTEND_CACHE", None) or not keys:
        return
    from .tasks import purge_frontend_cache

    purge_frontend_cache.enqueue(sorted(keys))
