"""HTTP caching for API responses, as for reader pages: ETag from the content generation.

A response depends on the content, the address asked (path and query), the site (scheme,
host, script prefix, database: ``site_scope``) and who asks (anonymous, or which key with
which scopes). The ETag is a digest of exactly those, so it is known before any story is
read: a client revalidating with ``If-None-Match`` gets a 304 for the cost of the key
lookup. Any edit, and any scheduled story going live, starts a new content generation
(``stories.delivery.generation``), which changes every ETag.

Anonymous responses are public, with ``s-maxage=0``: browsers and a CDN revalidate (no
surrogate keys purge them); a keyed client's are ``private``: an embargoed
story must never sit in a shared cache. Every response varies on ``Authorization``.
"""

import hashlib

from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from rest_framework.response import Response

from stories.delivery.generation import request_generation, site_scope
from stories.delivery.page_cache import add_cache_control

from .access import api_key_of


def client_scope(request):
    api_key = api_key_of(request)
    if api_key is None:
        return "anonymous"
    return f"key:{api_key.prefix}:{','.join(sorted(api_key.scopes or []))}"


def api_etag(request):
    parts = (
        site_scope(request),
        request_generation(request),
        request.get_full_path(),
        client_scope(request),
    )
    return '"' + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32] + '"'


def etag_matches(request, etag):
    wanted = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))
    # Weak comparison, as for GET: a proxy may have compressed the body (W/"...").
    return "*" in wanted or etag.removeprefix("W/") in {w.removeprefix("W/") for w in wanted}


class GenerationETagMixin:
    """For read-only API views: ETag, 304, Cache-Control and Vary (see the module doc)."""

    def get(self, request, *args, **kwargs):
        self.etag = api_etag(request)
        if etag_matches(request, self.etag):
            return Response(status=304)
        return super().get(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ["Authorization"])
        etag = getattr(self, "etag", None)
        if etag and response.status_code in (200, 304):
            response["ETag"] = etag
            # No surrogate keys here: a shared cache in front could not be purged of an
            # unpublished story, so it revalidates (the ETag makes that cheap).
            add_cache_control(response, anonymous=api_key_of(request) is None, purgeable=False)
        return response
