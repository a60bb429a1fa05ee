"""HTTP caching for reader pages: Cache-Control for CDNs, and a server-side page cache.

The page cache keeps whole responses for anonymous readers in the configured cache (a file
cache in ``var/cache`` that every process on the machine shares by default, Redis with
``REDIS_URL``) for ``PAGE_CACHE_SECONDS`` (0 turns it off).
Every key names the database, scheme, host and script prefix (``stories.delivery.generation``),
and each page is stored with its surrogate keys (``stories.delivery.surrogates``) and used
only while none of them has been invalidated since it was rendered: no page rendered before
an edit to what it shows, or for another site, is ever served, and pages the edit does not
touch stay cached. Public pages carry those keys in ``xkey`` and ``Surrogate-Key`` headers
for a shared cache in front, which is purged on edit (``stories.delivery.frontend``).

Only a page's one canonical address is cached: a view names the query parameters its content
depends on, each with the function that writes its value the one way
(``canonical_parameters``: ``page`` on listings, ``q`` and ``page`` on search, ``p`` on
sitemaps); any other parameter, or search words not written as the page reads them (stray
spaces, not NFC), means the response is neither looked up nor stored, and a page number
written another way (``?page=0001``, ``?page=1``, ``?p=+1``, a full-width digit) is
redirected to the canonical address, so made-up query strings cannot fill the cache and
evict real pages, nor a crawler find copies of a page.

Never cached, never served from the cache: requests from logged-in users (or anyone with a
session, checked only when the session cookie is present), anything but GET/HEAD, and any
response that is not a 200, says ``private``/``no-store``/``no-cache``, sets a cookie or
used a CSRF token. A cached page answers ``If-None-Match`` and ``If-Modified-Since`` as the
uncached page does. A view that says ``page_cached = False`` (a streamed sitemap child: a
stored page is one value, read whole on every hit) is neither looked up nor stored, so it
counts as neither hit nor miss; a shared cache in front still keeps it.
"""

import hashlib
import math
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    set_response_etag,
)
from django.utils.http import http_date, parse_http_date_safe

from . import surrogates
from .generation import is_canonical_host, site_scope

UNCACHEABLE_DIRECTIVES = {"private", "no-store", "no-cache"}
# Reader-facing URL namespaces; the admin and anything else are left alone.
READER_NAMESPACES = {"stories"}


def reader_match(path):
    """The URL match of ``path`` if it is a reader page, else None, without a request (so
    /healthz and the admin are never looked up)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if READER_NAMESPACES.intersection(match.namespaces) else None


def page_number(value):
    """``?page=`` written the one way, for a view's ``canonical_parameters``: as ListView
    reads it (int()), and "" for page 1, the listing's own address. ValueError for "last",
    words and numbers below 1: no cached page answers those."""
    number = int(value)
    if number < 1:
        raise ValueError(f"{value!r} is no page number")
    return str(number) if number > 1 else ""


def canonical_parameters(request, match):
    """The query parameters of the one address of the page asked for, as ``(name, value)``
    pairs in the order the view names them, or None if no cached page may answer it: a
    parameter the view does not name in ``canonical_parameters`` (a preview token,
    ``utm_source``), or a value its function refuses (ValueError: a page that is no number).
    A parameter whose value is written as "" is left out. The view's content depends on
    these values only, so they are the page's key."""
    view = getattr(match.func, "view_class", match.func)
    canonical = getattr(view, "canonical_parameters", {})
    if not set(request.GET).issubset(canonical):
        return None
    pairs = []
    for name, write in canonical.items():
        if name in request.GET:
            try:
                value = write(request.GET[name])
            except ValueError:
                return None
            if value:
                pairs.append((name, value))
    return pairs


def is_page_cached(match):
    """Whether the page cache looks up and stores the view's pages: not for a view that
    says ``page_cached = False`` (a streamed sitemap child, which a shared cache in front
    still keeps). Such a page is not looked up, so it counts as neither hit nor miss."""
    view = getattr(match.func, "view_class", match.func)
    return getattr(view, "page_cached", True)


def is_canonical(request, pairs):
    return all(len(values) == 1 for _, values in request.GET.lists()) and dict(
        request.GET.items()
    ) == dict(pairs)


def page_parameters(match):
    """The names of the view's page numbers: its canonical parameters written by
    ``page_number`` (``page`` on listings, ``p`` on sitemaps)."""
    view = getattr(match.func, "view_class", match.func)
    canonical = getattr(view, "canonical_parameters", {})
    return {name for name, write in canonical.items() if write is page_number}


def only_the_page_differs(request, pairs):
    """Whether the address differs from its canonical one in how its page number is written
    only: every other parameter (a search's words) is exactly as the canonical address has
    it."""
    paged = page_parameters(request.resolver_match)
    given = {name: values[-1] for name, values in request.GET.lists()}
    canonical = dict(pairs)
    others = (given.keys() | canonical.keys()) - paged
    return bool(paged & given.keys()) and all(
        given.get(name) == canonical.get(name) for name in others
    )


def canonical_redirect(request, pairs):
    query = urlencode(pairs)
    return HttpResponsePermanentRedirect(request.path + (f"?{query}" if query else ""))


def is_reader_request(request):
    match = getattr(request, "resolver_match", None)
    return match is not None and bool(READER_NAMESPACES.intersection(match.namespaces))


def is_anonymous(request):
    # Looking at request.user reads the session, which adds "Vary: Cookie" to the response;
    # without a session cookie there is no session, so don't look.
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    return not request.user.is_authenticated


def is_cacheable_request(request):
    return (
        settings.PAGE_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        and is_anonymous(request)
        and is_canonical_host(request)
    )


def cache_key(request, pairs):
    # The site (database, scheme, host, script prefix), the path and the canonical query.
    # What content the page shows is stored with it: its surrogate keys.
    address = f"{request.path}?{urlencode(pairs)}"
    digest = hashlib.sha256(address.encode()).hexdigest()
    return f"reader-pages:{site_scope(request)}:{digest}"


def response_keys(request, response):
    """The surrogate keys of what a reader response shows: those its view declared and
    those of any cached piece it was made of whole (a feed)."""
    return surrogates.request_keys(request) | set(getattr(response, "surrogate_keys", ()))


def fresh_stored_page(key):
    """The page stored under ``key`` if none of its surrogate keys changed since it was
    rendered; one lookup for the page, one for its keys and the go-live state. If a
    scheduled story's time has come (or a change asked for a new look), the go-lives are
    settled first (one query, once for every process), which invalidates the keys of the
    stories gone live, and the keys are looked at again."""
    stored = cache.get(key)
    if stored is None:
        return None
    content, headers, keys, since = stored
    fresh, settled = surrogates.check(keys, since)
    if fresh and not settled:
        surrogates.settle_go_lives()
        fresh, _ = surrogates.check(keys, since)
    return (content, headers) if fresh else None


def keep_out_of_page_cache(response):
    """For a view whose response any reader may see but that should take no cache space."""
    response.keep_out_of_page_cache = True


def is_cacheable_response(request, response):
    directives = {
        part.split("=")[0].strip().lower()
        for part in response.get("Cache-Control", "").split(",")
        if part.strip()
    }
    return (
        response.status_code == 200
        and not getattr(response, "keep_out_of_page_cache", False)
        and not response.streaming
        and not response.cookies
        and not directives & UNCACHEABLE_DIRECTIVES
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and "Set-Cookie" not in response
    )


def add_cache_control(response, *, anonymous, purgeable=True):
    """``purgeable``: the response carries surrogate keys a purge on edit names. Without
    them (another spelling of the host or the query, the API), a shared cache in front must
    not keep it: it could neither be purged nor told apart from made-up addresses."""
    if response.has_header("Cache-Control"):
        return  # the view decided (never_cache previews, for example)
    if not anonymous:
        patch_cache_control(response, private=True, max_age=0)
    elif response.status_code in (200, 301):
        # Browsers revalidate every time (cheap: ETag and 304); shared caches such as a CDN
        # may keep the page for CDN_CACHE_SECONDS.
        # The lifetime stops short of the next scheduled go-live (``surrogates``), and
        # a purge on edit reaches the cache in front (``stories.delivery.frontend``).
        shared = surrogates.shared_lifetime() if purgeable else 0
        patch_cache_control(response, public=True, max_age=0, s_maxage=shared)


def add_surrogate_headers(response, keys):
    """``xkey`` (Varnish's xkey vmod) and ``Surrogate-Key`` (Fastly): the keys a purge on
    edit names, scoped to this site (``frontend.scoped``)."""
    from .frontend import scoped

    value = " ".join(scoped(sorted(keys)))
    response["xkey"] = value
    response["Surrogate-Key"] = value


def include_invalidations(response, keys):
    """Raise ``Last-Modified`` to when the page's surrogate keys were last invalidated.

    A view dates its page by what it shows (the newest story's save or publication): a
    removal (a story unpublished or deleted, a tag taken off) leaves no date behind, so a
    crawler's If-Modified-Since would get a 304 for a page that lost an entry. Every change
    invalidates the keys of the pages it touches, removals included, so the later of the two
    is when the page last changed (a key whose entry the cache no longer holds is not
    counted). With every cache turned off (both lifetimes 0) nothing is looked up."""
    stated = parse_http_date_safe(response.get("Last-Modified") or "")
    if stated is None or not (settings.PAGE_CACHE_SECONDS or settings.FRAGMENT_CACHE_SECONDS):
        return
    invalidated = max(surrogates.invalidated_at(keys).values(), default=None)
    if invalidated is not None and invalidated > stated:
        response["Last-Modified"] = http_date(math.floor(invalidated))


def renew_shared_lifetime(response):
    """A stored page's ``s-maxage`` said how long until the next go-live when it was stored;
    a page served later says how long now."""
    if "s-maxage=" in response.get("Cache-Control", ""):
        del response["Cache-Control"]
        patch_cache_control(response, public=True, max_age=0, s_maxage=surrogates.shared_lifetime())


def conditional_response(request, response):
    """What ConditionalGetMiddleware does for an uncached page: a 304 for a matching
    If-None-Match or, without one, for an If-Modified-Since no older than Last-Modified."""
    if request.method != "GET":
        return response
    last_modified = response.get("Last-Modified")
    return get_conditional_response(
        request,
        etag=response.get("ETag"),
        last_modified=last_modified and parse_http_date_safe(last_modified),
        response=response,
    )


def stored_response(stored):
    content, headers = stored
    response = HttpResponse(content)
    for name, value in headers:
        response[name] = value
    renew_shared_lifetime(response)
    response.from_reader_page_cache = True
    if settings.PAGE_CACHE_STATUS_HEADER:
        response["X-Page-Cache"] = "HIT"
    return response


class ReaderPageCacheHitMiddleware:
    """Answers an anonymous reader from the page cache before the rest of the stack runs.

    Sits right after SecurityMiddleware and WhiteNoise. A cached page already carries the
    headers the inner middleware gave it (CSP, X-Frame-Options, Cache-Control, ETag), so a
    hit needs no session, CSRF, authentication, messages or URL resolution: it costs about
    what ``/healthz`` costs. Only requests without a session cookie are answered here: a
    logged-in user always has one, and those requests (anonymous or not) go on to
    ``ReaderPageCacheMiddleware``, which asks ``request.user``. Nothing but reader pages is
    ever stored, and never a preview (they are ``private, no-store``), so any key found is
    a reader page that any anonymous reader may see.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Before anything is read: what a page rendered now may be stored as fresh from.
        surrogates.started(request)
        if (
            settings.PAGE_CACHE_SECONDS > 0
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and request.method in ("GET", "HEAD")
            and is_canonical_host(request)
            and (match := reader_match(request.path_info)) is not None
            and (pairs := canonical_parameters(request, match)) is not None
            and is_canonical(request, pairs)
            and is_page_cached(match)
        ):
            # No query here unless a go-live is due (``fresh_stored_page``).
            key = cache_key(request, pairs)
            stored = fresh_stored_page(key)
            if stored is not None:
                response = stored_response(stored)
                response["Content-Length"] = str(len(response.content))
                # ConditionalGetMiddleware, which this answer skips, would do the same.
                return conditional_response(request, response)
            # Looked up and missed: the inner middleware stores under this key, without
            # asking the cache again.
            request.reader_page_missed_key = key
        return self.get_response(request)


class ReaderPageCacheMiddleware:
    """Serve and store anonymous readers' pages; give reader pages their Cache-Control.

    Sits after AuthenticationMiddleware (it needs ``request.user``) and inside
    ConditionalGetMiddleware (so a cached page still answers If-None-Match and
    If-Modified-Since with a 304).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After URL resolution, so only reader pages are looked up.
        request.reader_page_key = None
        if not is_reader_request(request):
            return None
        # Every reader page prints the section menu and the footer (sections and site
        # pages); feeds name sections as categories.
        surrogates.add_keys(request, "sections", "pages")
        pairs = canonical_parameters(request, request.resolver_match)
        # Only a page's one address, under the canonical spelling of the host, goes to a
        # shared cache in front, as to this one: else a flood of made-up ports, hosts or
        # query strings would fill it and evict real pages.
        request.reader_page_shared = (
            pairs is not None and is_canonical(request, pairs) and is_canonical_host(request)
        )
        if pairs is not None and not is_canonical(request, pairs):
            # A page number written another way (0001, +2, a full-width digit, or 1) goes to
            # its one address.
            # Search words are shown as typed, so they are not redirected, only not cached.
            if request.method in ("GET", "HEAD") and only_the_page_differs(request, pairs):
                return canonical_redirect(request, pairs)
            return None
        if (
            pairs is None
            or not is_cacheable_request(request)
            or not is_page_cached(request.resolver_match)
        ):
            return None
        surrogates.settle_once(request)
        missed_key = getattr(request, "reader_page_missed_key", None)
        if missed_key is not None:
            request.reader_page_key = missed_key
            return None  # ReaderPageCacheHitMiddleware looked already
        request.reader_page_key = cache_key(request, pairs)
        stored = fresh_stored_page(request.reader_page_key)
        return None if stored is None else stored_response(stored)

    def __call__(self, request):
        response = self.get_response(request)
        if not is_reader_request(request):
            return response
        anonymous = is_anonymous(request)
        shared = getattr(request, "reader_page_shared", False)
        add_cache_control(response, anonymous=anonymous, purgeable=shared)
        if getattr(response, "from_reader_page_cache", False):
            return response
        keys = response_keys(request, response)
        include_invalidations(response, keys)
        if anonymous and shared and "public" in response.get("Cache-Control", ""):
            add_surrogate_headers(response, keys)
        key = getattr(request, "reader_page_key", None)
        if (
            key
            and request.method == "GET"
            and is_cacheable_response(request, response)
            and surrogates.storable(keys, surrogates.started(request))
        ):
            set_response_etag(response)
            stored = (response.content, list(response.items()), frozenset(keys))
            cache.set(key, (*stored, surrogates.started(request)), settings.PAGE_CACHE_SECONDS)
        if key and settings.PAGE_CACHE_STATUS_HEADER:
            response["X-Page-Cache"] = "MISS"  # looked up, rendered (and stored if it could)
        return response
