"""What every cache key names besides content: the database and the site's address; and the
whole-site content generation.

Pages and pieces are kept per surrogate key (``stories.delivery.surrogates``): an edit
invalidates only what shows it. ``current_generation()`` is a token that changes with every
change to content and every go-live, for validators that cover everything at once (the
API's ETags).

Every key is scoped to the database (``database_scope()``): an
identity stored in the database, with where it is. Sites sharing one cache (the same
``CACHE_DIR`` or Redis), a switched ``DATABASE_URL``, a copy of a database elsewhere and a
restored backup each cache their own pages. Every key also names the scheme, host and script
prefix a page was rendered for (``site_scope()``), so no request header decides what
another reader gets.

Processes must share one cache: the default file cache does on one machine, Redis across
machines. A per-process memory cache (``CACHE_DIR=""``, as in the tests) gives every process
its own key entries, and an edit made in one would not reach the others' pages.
"""

import hashlib
import time
import uuid

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.backends.signals import connection_created
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


def connect_signals():
    """Called from ``StoriesConfig.ready()``.

    Cache invalidation is not domain logic, so it rides on signals: Django's for saves and
    deletes, and ``stories.changes.content_changed`` for bulk writes, which send none of
    Django's. Each change invalidates the surrogate keys it affects
    (``stories.delivery.dependencies``).
    """
    from . import dependencies

    dependencies.connect_signals()
    connection_created.connect(forget_database_scope, dispatch_uid="pages-database-scope")


def cached_generation(now=None):
    """A token that changes with every change to content and every go-live, if the cache
    holds what it is made of (no query), else None. For whole-site validators (the API's
    ETags); pages and pieces are kept per surrogate key (``stories.delivery.surrogates``)."""
    from . import surrogates

    if not surrogates.go_lives_settled(now):
        return None
    changed = surrogates.invalidated_at([surrogates.ANY])
    if not changed:
        return None
    return hashlib.sha256(repr(changed[surrogates.ANY]).encode()).hexdigest()[:32]


def current_generation(now=None):
    """``cached_generation()``, settling go-lives and noting a first change if needed."""
    from . import surrogates

    token = cached_generation(now)
    if token is not None:
        return token
    surrogates.settle_go_lives(now)
    cache.add(surrogates.entry(surrogates.ANY), time.time(), None)
    return cached_generation(now) or uuid.uuid4().hex


def request_generation(request):
    """``current_generation()``, looked up once per request however many parts ask."""
    generation = getattr(request, "_content_generation", None)
    if generation is None:
        generation = request._content_generation = current_generation()
    return generation


def site_scope(request):
    """Everything besides content that a rendering depends on and a request could vary: the
    database, scheme, host and script prefix (links, canonical URLs, JSON-LD and feeds carry
    them). Part of every key, page or piece, so a forged ``Host`` that passes
    ``ALLOWED_HOSTS``, or a ``SCRIPT_NAME``, gets pages of its own that no one else is sent.
    It also names the newsroom's date (``settings.TIME_ZONE``): pages print today's stories
    with their time and older ones with their date (``newsroom.reader_time``), so nothing
    rendered yesterday, page or piece, is served once the local date has changed."""
    scope = getattr(request, "_site_scope", None)
    if scope is None:
        site = f"{request.scheme}://{request.get_host()}{get_script_prefix()}"
        digest = hashlib.sha256(site.encode()).hexdigest()[:24]
        today = timezone.localdate().isoformat()
        scope = request._site_scope = f"{database_scope()}:{digest}:{today}"
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
            # get_port(): behind a proxy (``BEHIND_PROXY``), the port it was asked on.
            not port or port == str(request.get_port())
        )
    return canonical


class CacheScope:
    """What a ``{% cache %}`` block's key must name besides its own values: the site
    (``site_scope()``: database, scheme, host and script prefix) and the state of the
    surrogate keys the block shows (``keys``, or the page's own keys, which its view
    declared before rendering: ``surrogates.add_keys``). Templates pass it as the first
    vary-on argument; the tag calls ``str()`` on it, which works both out once per request.
    A page with no such block (the admin) never does, so it never looks the keys up.

    If a key changed while the page was being rendered (or has no entry yet), the scope is
    one no later request will name: the block is rendered afresh and nothing it stores is
    ever served."""

    def __init__(self, request, keys=None):
        self.request, self.keys = request, keys

    def __str__(self):
        scope = self.request.__dict__.setdefault("_cache_scopes", {})
        name = None if self.keys is None else tuple(sorted(self.keys))
        if name not in scope:
            from . import surrogates

            surrogates.settle_once(self.request)
            keys = surrogates.request_keys(self.request) if self.keys is None else self.keys
            keys = sorted({surrogates.ALL, *keys})
            token = surrogates.keys_stamp(keys, surrogates.started(self.request))
            state = f"{','.join(keys)}@{token}" if token is not None else uuid.uuid4().hex
            digest = hashlib.sha256(state.encode()).hexdigest()[:24]
            scope[name] = f"{site_scope(self.request)}:{digest}"
        return scope[name]
