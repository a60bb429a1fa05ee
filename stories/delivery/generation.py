"""Content generations: the token every cached page and piece is stored under.

Saving or deleting a story, section, byline, tag, correction, image, site page (About,
Contact) or one of their links drops the token, so the next request starts a new generation
and nothing rendered before the edit is ever served again. The generation also remembers
when the next scheduled story goes live; once that moment passes, a new generation starts,
so a scheduled story appears on time with no background job. It also ends at the
newsroom's midnight (``settings.TIME_ZONE``): pages print today's stories with their time
and older ones with their date (``stories.templatetags.newsroom.reader_time``), so nothing
rendered yesterday, page or piece, may be served once the local date has changed.

The generation, and every key, is scoped to the database (``database_scope()``): an
identity stored in the database, with where it is. Sites sharing one cache (the same
``CACHE_DIR`` or Redis), a switched ``DATABASE_URL``, a copy of a database elsewhere and a
restored backup each cache their own pages. Every key also names the scheme, host and script
prefix a page was rendered for (``site_scope()``), so no request header decides what
another reader gets.

Processes must share one cache: the default file cache does on one machine, Redis across
machines. A per-process memory cache (``CACHE_DIR=""``, as in the tests) gives every process
its own generation, and an edit made in one would not reach the others' pages.
"""

import hashlib
import uuid
from datetime import datetime, time, timedelta

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import Min
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http.request import split_domain_port
from django.urls import get_script_prefix
from django.utils import timezone

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
    from stories.models import DatabaseIdentity

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

    Cache invalidation is not domain logic, so it rides on signals: Django's for saves and
    deletes, and ``stories.changes.content_changed`` for bulk writes, which send none of
    Django's.
    """
    from taggit.models import Tag

    from stories.changes import content_changed as bulk_written
    from stories.models import (
        Byline,
        Correction,
        Image,
        Section,
        SitePage,
        Story,
        StoryByline,
        TaggedStory,
    )

    # A correction is printed on its story's page and moves the story's "updated" date in
    # feeds; one added outside the story's admin form saves no story.
    # An image's alt text, caption, credit and crops are printed on every page that uses it;
    # the site's pages are listed in every page's footer.
    models = (Story, Section, Byline, StoryByline, TaggedStory, Tag, Correction, Image, SitePage)
    for model in models:
        post_save.connect(content_changed, sender=model, dispatch_uid=f"pages-save-{model}")
        post_delete.connect(content_changed, sender=model, dispatch_uid=f"pages-del-{model}")
    m2m_changed.connect(content_changed, sender=TaggedStory, dispatch_uid="pages-m2m-tags")
    bulk_written.connect(content_changed, dispatch_uid="pages-bulk-writes")
    connection_created.connect(forget_database_scope, dispatch_uid="pages-database-scope")


def cached_generation(now=None):
    """The current generation token if the cache holds one still valid, else None (no query)."""
    state = cache.get(state_key())
    if state is not None:
        token, next_go_live = state
        if next_go_live is None or (now or timezone.now()) < datetime.fromisoformat(next_go_live):
            return token
    return None


def next_local_midnight(now):
    """When the newsroom's date (``settings.TIME_ZONE``) next changes, as an aware datetime."""
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time.min))


def current_generation(now=None):
    """The generation token, starting a new one if none exists, a story has gone live or
    the newsroom's date has changed."""
    now = now or timezone.now()
    token = cached_generation(now)
    if token is not None:
        return token
    from stories.models import Story

    upcoming = Story.objects.scheduled().aggregate(at=Min("published_at"))["at"]
    ends_at = next_local_midnight(now)
    if upcoming is not None:
        ends_at = min(ends_at, upcoming)
    token = uuid.uuid4().hex
    cache.set(state_key(), (token, ends_at.isoformat()), None)
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


def is_canonical_host(request):
    """Whether the ``Host`` header is written the one way: lower case, no trailing dot, and
    no port but the one the server listens on. Every other spelling of an allowed host
    (``LOCALHOST``, ``localhost.``, ``127.0.0.1:301``) passes ``ALLOWED_HOSTS`` as well, and
    its pages carry it in their links, so it would need pages and pieces of its own: such
    requests are rendered afresh and never cached, or a flood of spellings would evict
    every real page."""
    canonical = getattr(request, "_canonical_host", None)
    if canonical is None:
        # Asked by every cached piece of a page: worked out once per request.
        host = request.get_host()
        domain, port = split_domain_port(host)
        canonical = request._canonical_host = host == (f"{domain}:{port}" if port else domain) and (
            not port or port == str(request.META.get("SERVER_PORT", ""))
        )
    return canonical


class CacheScope:
    """What a ``{% cache %}`` block's key must name besides its own values: the site
    (``site_scope()``: database, scheme, host and script prefix) and the content generation.
    Templates pass it as the first vary-on argument; the tag calls ``str()`` on it, which
    works both out once per request. A page with no such block (the admin) never does, so
    it never looks up the generation."""

    def __init__(self, request):
        self.request = request

    def __str__(self):
        scope = getattr(self.request, "_cache_scope", None)
        if scope is None:
            scope = self.request._cache_scope = (
                f"{site_scope(self.request)}:{request_generation(self.request)}"
            )
        return scope
