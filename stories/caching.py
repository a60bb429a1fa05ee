"""HTTP caching for reader pages: Cache-Control for CDNs, and a server-side page cache.

The page cache keeps whole responses for anonymous readers in the configured cache (a file
cache in ``var/cache`` that every process on the machine shares by default, Redis with
``REDIS_URL``) for ``PAGE_CACHE_SECONDS`` (0 turns it off).
Every key carries a *generation* token. Saving or deleting a story, section, byline, tag,
correction or one of their links drops the token, so the next request starts a new
generation and no page rendered before the edit is ever served again. The generation also
remembers when the next scheduled story goes live; once that moment passes, a new generation
starts, so a scheduled story appears on time with no background job.

Every key, and the generation itself, is scoped to the database (``database_scope()``): an
identity stored in the database, with where it is. Sites sharing one cache (the same
``CACHE_DIR`` or Redis), a switched ``DATABASE_URL``, a copy of a database elsewhere and a
restored backup each keep their own pages. Every key names the scheme, host and script
prefix a page was rendered for, so no request header decides what another reader gets.

Only a page's one canonical address is kept: a view names the query parameters its content
depends on (``canonical_parameters``: ``page`` on listings, ``q`` and ``page`` on search);
any other parameter, or search words not written as the page reads them (stray spaces, not
NFC), means the response is neither looked up nor stored, and a page number written another
way (``?page=0001``, ``?page=1``) is redirected to the canonical address, so made-up query
strings cannot fill the cache and evict real pages.

Never cached, never served from the cache: requests from logged-in users (or anyone with a
session, checked only when the session cookie is present), anything but GET/HEAD, and any
response that is not a 200, says ``private``/``no-store``/``no-cache``, sets a cookie or
used a CSRF token. A cached page answers ``If-None-Match`` and ``If-Modified-Since`` as the
uncached page does.

Processes must share one cache: the default file cache does on one machine, Redis across
machines. A per-process memory cache (``CACHE_DIR=""``, as in the tests) gives every process
its own generation, and an edit made in one would not reach the others' pages.
"""

import hashlib
import unicodedata
import uuid
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import Min
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, get_script_prefix, resolve
from django.utils import timezone
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    set_response_etag,
)
from django.utils.http import parse_http_date_safe

UNCACHEABLE_DIRECTIVES = {"private", "no-store", "no-cache"}
# Reader-facing URL namespaces; the admin and anything else are left alone.
READER_NAMESPACES = {"stories"}


# Database location -> scope, read once per process (and again on a new connection), so a
# page-cache hit runs no query.
_scopes = {}


def database_scope():
    """A short token naming this database: the identity row its migration made (a backup
    leaves it out, so a restored database gets a new one) and where the database is (engine,
    host, port, name), so copies of one database at other locations are told apart too."""
    db = connection.settings_dict
    location = (db["ENGINE"], str(db["HOST"]), str(db["PORT"]), str(db["NAME"]))
    scope = _scopes.get(location)
    if scope is None:
        named = "\x1f".join([database_identity(location), *location])
        scope = _scopes[location] = hashlib.sha256(named.encode()).hexdigest()[:24]
    return scope


def database_identity(location):
    """The identity row's token. It is also left in the cache, for a process that starts
    (or reconnects) while the database is down: it still serves the pages readers saw
    before the outage, as every other process does. The database's word wins whenever it
    answers, so a restore is noticed on the next connection."""
    from .models import DatabaseIdentity

    last_known = "database-identity:" + hashlib.sha256(repr(location).encode()).hexdigest()
    try:
        # get_or_create: a test run's flush empties the table the migration filled.
        identity, _ = DatabaseIdentity.objects.get_or_create(pk=1)
    except DatabaseError:
        token = cache.get(last_known)
        if token is None:
            raise
        return token
    cache.set(last_known, identity.token.hex, None)
    return identity.token.hex


def forget_database_scope(**kwargs):
    """On every new connection: the database may have been replaced (a restore) meanwhile."""
    _scopes.clear()


def state_key():
    return f"reader-pages:state:{database_scope()}"


def content_changed(**kwargs):
    """Start a new page-cache generation, now and again when the transaction commits.

    Now, so this process never serves an older page; on commit too, because a request that
    ran between the edit and its commit may have cached pre-edit content under the new
    generation.
    """
    key = state_key()
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def connect_signals():
    """Called from ``StoriesConfig.ready()``.

    Cache invalidation is not domain logic, so it rides on signals; bulk writes send none,
    which is why the importer calls ``content_changed()`` itself.
    """
    from taggit.models import Tag

    from .models import Byline, Correction, Section, Story, StoryByline, TaggedStory

    # A correction is printed on its story's page and moves the story's "updated" date in
    # feeds; one added outside the story's admin form saves no story.
    for model in (Story, Section, Byline, StoryByline, TaggedStory, Tag, Correction):
        post_save.connect(content_changed, sender=model, dispatch_uid=f"pages-save-{model}")
        post_delete.connect(content_changed, sender=model, dispatch_uid=f"pages-del-{model}")
    m2m_changed.connect(content_changed, sender=TaggedStory, dispatch_uid="pages-m2m-tags")
    connection_created.connect(forget_database_scope, dispatch_uid="pages-database-scope")


def kept_generation(now=None):
    """The current generation token if the cache holds one still valid, else None (no query)."""
    state = cache.get(state_key())
    if state is not None:
        token, next_go_live = state
        if next_go_live is None or (now or timezone.now()) < datetime.fromisoformat(next_go_live):
            return token
    return None


def current_generation(now=None):
    """The generation token, starting a new one if none exists or a story has gone live."""
    now = now or timezone.now()
    token = kept_generation(now)
    if token is not None:
        return token
    from .models import Story

    upcoming = Story.objects.scheduled().aggregate(at=Min("published_at"))["at"]
    token = uuid.uuid4().hex
    cache.set(state_key(), (token, upcoming.isoformat() if upcoming else None), None)
    return token


def request_generation(request):
    """``current_generation()``, looked up once per request however many fragments ask."""
    generation = getattr(request, "_content_generation", None)
    if generation is None:
        generation = request._content_generation = current_generation()
    return generation


def site_scope(request):
    """Everything besides content that a rendering depends on and a request could vary: the
    database, scheme, host and script prefix (links, canonical URLs, JSON-LD and feeds carry
    them). Part of every key, page or piece, so a forged ``Host`` that passes
    ``ALLOWED_HOSTS``, or a ``SCRIPT_NAME``, gets pages of its own that no one else is sent."""
    scope = getattr(request, "_site_scope", None)
    if scope is None:
        site = f"{request.scheme}://{request.get_host()}{get_script_prefix()}"
        digest = hashlib.sha256(site.encode()).hexdigest()[:24]
        scope = request._site_scope = f"{database_scope()}:{digest}"
    return scope


def reader_match(path):
    """The URL match of ``path`` if it is a reader page, else None, without a request (so
    /healthz and the admin are never looked up)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if READER_NAMESPACES.intersection(match.namespaces) else None


def canonical_parameters(request, match):
    """The query parameters of the one address of the page asked for, as ``(name, value)``
    pairs, or None if no kept page may answer it: a parameter the view does not name in
    ``canonical_parameters`` (a preview token, ``utm_source``), or a page that is no number.
    The view's content depends on these values only, so they are the page's key."""
    view = getattr(match.func, "view_class", match.func)
    names = getattr(view, "canonical_parameters", ())
    if not set(request.GET).issubset(names):
        return None
    pairs = []
    if "q" in request.GET:
        from .search import clean_query

        # As the search page reads it: one printable line, spaces collapsed; NFC, so the
        # same words typed two ways are one page.
        words = unicodedata.normalize("NFC", clean_query(request.GET["q"]))
        if words:
            pairs.append(("q", words))
    if "page" in request.GET:
        # As ListView reads it (int()); "last" and words are not kept.
        try:
            number = int(request.GET["page"])
        except ValueError:
            return None
        if number < 1:
            return None
        if number > 1:
            pairs.append(("page", str(number)))
    return pairs


def is_canonical(request, pairs):
    return all(len(values) == 1 for _, values in request.GET.lists()) and dict(
        request.GET.items()
    ) == dict(pairs)


def only_the_page_differs(request, pairs):
    given = {name: values[-1] for name, values in request.GET.lists()}
    return "page" in given and given.get("q") == dict(pairs).get("q")


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
    )


def cache_key(request, generation, pairs):
    # The site (database, scheme, host, script prefix), the path and the canonical query.
    address = f"{request.path}?{urlencode(pairs)}"
    digest = hashlib.sha256(address.encode()).hexdigest()
    return f"reader-pages:{site_scope(request)}:{generation}:{digest}"


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


def add_cache_control(response, *, anonymous):
    if response.has_header("Cache-Control"):
        return  # the view decided (never_cache previews, for example)
    if not anonymous:
        patch_cache_control(response, private=True, max_age=0)
    elif response.status_code in (200, 301):
        # Browsers revalidate every time (cheap: ETag and 304); shared caches such as a CDN
        # may keep the page for CDN_CACHE_SECONDS.
        patch_cache_control(response, public=True, max_age=0, s_maxage=settings.CDN_CACHE_SECONDS)


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
    response.from_reader_page_cache = True
    return response


class ReaderPageCacheHitMiddleware:
    """Answers an anonymous reader from the page cache before the rest of the stack runs.

    Sits right after SecurityMiddleware and WhiteNoise. A kept page already carries the
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
        if (
            settings.PAGE_CACHE_SECONDS > 0
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and request.method in ("GET", "HEAD")
            and (match := reader_match(request.path_info)) is not None
            and (pairs := canonical_parameters(request, match)) is not None
            and is_canonical(request, pairs)
        ):
            # No query here: without a valid generation in the cache, nothing is kept yet,
            # and the view's path below starts one.
            generation = kept_generation()
            if generation is None:
                return self.get_response(request)
            request._content_generation = generation
            key = cache_key(request, generation, pairs)
            stored = cache.get(key)
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
        pairs = canonical_parameters(request, request.resolver_match)
        if pairs is not None and not is_canonical(request, pairs):
            # A page number written another way (0001, +2, or 1) goes to its one address.
            # Search words are shown as typed, so they are not redirected, only not kept.
            if request.method in ("GET", "HEAD") and only_the_page_differs(request, pairs):
                return canonical_redirect(request, pairs)
            return None
        if pairs is None or not is_cacheable_request(request):
            return None
        missed_key = getattr(request, "reader_page_missed_key", None)
        if missed_key is not None:
            request.reader_page_key = missed_key
            return None  # ReaderPageCacheHitMiddleware looked already
        request.reader_page_key = cache_key(request, request_generation(request), pairs)
        stored = cache.get(request.reader_page_key)
        return None if stored is None else stored_response(stored)

    def __call__(self, request):
        response = self.get_response(request)
        if not is_reader_request(request):
            return response
        add_cache_control(response, anonymous=is_anonymous(request))
        key = getattr(request, "reader_page_key", None)
        if (
            key
            and request.method == "GET"
            and not getattr(response, "from_reader_page_cache", False)
            and is_cacheable_response(request, response)
        ):
            set_response_etag(response)
            cache.set(key, (response.content, list(response.items())), settings.PAGE_CACHE_SECONDS)
        return response
