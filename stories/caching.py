"""HTTP caching for reader pages: Cache-Control for CDNs, and a server-side page cache.

The page cache keeps whole responses for anonymous readers in the configured cache (local
memory by default, Redis with ``REDIS_URL``) for ``PAGE_CACHE_SECONDS`` (0 turns it off).
Every key carries a *generation* token. Saving or deleting a story, section, byline, tag,
correction or one of their links drops the token, so the next request starts a new
generation and no page rendered before the edit is ever served again. The generation also
remembers when the next scheduled story goes live; once that moment passes, a new generation
starts, so a scheduled story appears on time with no background job.

Never cached, never served from the cache: requests from logged-in users (or anyone with a
session, checked only when the session cookie is present), requests with a query parameter
other than ``page`` and ``q`` (preview tokens and the like), anything but GET/HEAD, and any
response that is not a 200, says ``private``/``no-store``/``no-cache``, sets a cookie or
used a CSRF token.

Multi-process deployments need a shared cache (Redis): with local memory every process has
its own generation, and an edit made in one process would not reach the others' pages.
"""

import hashlib
import uuid
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    set_response_etag,
)

STATE_KEY = "reader-pages:state"
CACHEABLE_PARAMETERS = {"page", "q"}
UNCACHEABLE_DIRECTIVES = {"private", "no-store", "no-cache"}
# Reader-facing URL namespaces; the admin and anything else are left alone.
READER_NAMESPACES = {"stories"}


def content_changed(**kwargs):
    """Start a new page-cache generation, now and again when the transaction commits.

    Now, so this process never serves an older page; on commit too, because a request that
    ran between the edit and its commit may have cached pre-edit content under the new
    generation.
    """
    cache.delete(STATE_KEY)
    transaction.on_commit(lambda: cache.delete(STATE_KEY))


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


def kept_generation(now=None):
    """The current generation token if the cache holds one still valid, else None (no query)."""
    state = cache.get(STATE_KEY)
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
    cache.set(STATE_KEY, (token, upcoming.isoformat() if upcoming else None), None)
    return token


def request_generation(request):
    """``current_generation()``, looked up once per request however many fragments ask."""
    generation = getattr(request, "_content_generation", None)
    if generation is None:
        generation = request._content_generation = current_generation()
    return generation


def is_reader_path(path):
    """Whether ``path`` is a reader page, without a request (so /healthz and the admin are
    never looked up)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return bool(READER_NAMESPACES.intersection(match.namespaces))


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
        and set(request.GET).issubset(CACHEABLE_PARAMETERS)
        and is_anonymous(request)
    )


def cache_key(request, generation):
    # Pages carry absolute URLs (canonical links, JSON-LD, feeds), so scheme and host count.
    parameters = sorted((name, request.GET.getlist(name)) for name in request.GET)
    address = f"{request.scheme}://{request.get_host()}{request.path}?{parameters!r}"
    return f"reader-pages:{generation}:{hashlib.sha256(address.encode()).hexdigest()}"


def is_cacheable_response(request, response):
    directives = {
        part.split("=")[0].strip().lower()
        for part in response.get("Cache-Control", "").split(",")
        if part.strip()
    }
    return (
        response.status_code == 200
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
            and set(request.GET).issubset(CACHEABLE_PARAMETERS)
            and is_reader_path(request.path_info)
        ):
            # No query here: without a valid generation in the cache, nothing is kept yet,
            # and the view's path below starts one.
            generation = kept_generation()
            if generation is None:
                return self.get_response(request)
            request._content_generation = generation
            key = cache_key(request, generation)
            stored = cache.get(key)
            if stored is not None:
                response = stored_response(stored)
                response["Content-Length"] = str(len(response.content))
                if request.method != "GET":
                    return response
                # What ConditionalGetMiddleware would do: a matching If-None-Match gets a 304.
                return get_conditional_response(
                    request, etag=response.get("ETag"), response=response
                )
            # Looked up and missed: the inner middleware stores under this key, without
            # asking the cache again.
            request.reader_page_key = key
            request.reader_page_missed = True
        return self.get_response(request)


class ReaderPageCacheMiddleware:
    """Serve and store anonymous readers' pages; give reader pages their Cache-Control.

    Sits after AuthenticationMiddleware (it needs ``request.user``) and inside
    ConditionalGetMiddleware (so a cached page still answers If-None-Match with a 304).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After URL resolution, so only reader pages are looked up.
        if not is_reader_request(request) or not is_cacheable_request(request):
            request.reader_page_key = None
            return None
        if getattr(request, "reader_page_missed", False):
            return None  # ReaderPageCacheHitMiddleware looked already
        request.reader_page_key = cache_key(request, request_generation(request))
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
