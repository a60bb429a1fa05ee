"""Surrogate keys: what every cached page and piece depends on, and what every change touches.

Each reader response names the content it shows as keys: ``story-<id>`` for a story's page,
``section-<id>``, ``tag-<id>``, ``byline-<id>`` and ``home`` for listings (and their
feeds), ``sections`` for the section menu every page prints, ``search``, ``feeds`` and
``sitemaps``; ``all`` is on everything (bulk writes, which do not say which rows they
wrote, invalidate it). Every change to content works out the keys it affects
(``KEYS_OF``: one function per model, mapping changed rows to keys) and invalidates
exactly those, in this cache and, after commit, in a shared cache in front
(``stories.delivery.frontend``: Varnish, a CDN).

In this cache a key's entry holds the time it was last invalidated. A page or piece is
stored with its keys and the time its request started (before it read anything), and is
good while every one of its keys was last invalidated before that: an edit to one story
leaves every page that does not show it cached. A key whose entry is missing (never seen,
or culled) makes what was stored with it stale, so a lost entry costs a rendering, not a
stale page. Entries are scoped to the database (``generation.database_scope``).

A scheduled story going live is a change no write announces: ``settle_go_lives()``, run
by the first request after the moment (and by the worker's tick), invalidates the keys of
the stories whose time has come, and pages tell a shared cache to keep them no later than
the next go-live (``shared_lifetime``).

Timestamps come from each process's clock: on one machine they agree; across machines keep
clocks in step (NTP), or pages rendered within the skew of an edit may be kept.
"""

import math
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .generation import database_scope

ALL = "all"
# Invalidated with every other key: "has any content changed" (the API's ETags).
ANY = "content"

# Model -> function(pks) giving the keys those rows' pages depend on, read from the database
# as it is now (called before and after a change, so old and new relations both count).
KEYS_OF = {}


def register(model):
    """Decorator: ``@register(Story) def story_keys(pks): ...``. Adding a model readers see
    means one such function (and, if its saves are not already watched, a line in
    ``generation.connect_signals``)."""

    def decorator(function):
        KEYS_OF[model] = function
        return function

    return decorator


def keys_of(model, pks):
    function = KEYS_OF.get(model)
    pks = [pk for pk in pks if pk is not None]
    return set(function(pks)) if function and pks else set()


def entry(key):
    return f"surrogate:{database_scope()}:{key}"


# --- invalidating ---------------------------------------------------------------------


def stamp(keys):
    """Mark ``keys`` invalidated now (local cache only)."""
    now = time.time()
    cache.set_many({entry(key): now for key in {*keys, ANY}}, None)
    recheck_go_lives()


def invalidate(keys):
    """Invalidate ``keys`` now (this process never serves an older page) and again when the
    transaction commits (a request that read the old rows before the commit may have stored
    its page meanwhile), and purge them from the shared cache in front after commit."""
    keys = set(keys)
    if not keys:
        return
    stamp(keys)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, callback, _ in connection.run_on_commit:
            if isinstance(callback, FlushAfterCommit):
                callback.keys |= keys  # one flush per transaction, however many writes
                return
    transaction.on_commit(FlushAfterCommit(keys), robust=True)


class FlushAfterCommit:
    """Once the transaction commits: mark its keys invalidated again and hand them to the
    worker to purge from the cache in front. (Registered with ``on_commit``; a rollback
    drops it with the transaction.)"""

    def __init__(self, keys):
        self.keys = set(keys)

    def __call__(self):
        from . import frontend

        stamp(self.keys)
        frontend.purge_after_commit(self.keys)


# --- reading --------------------------------------------------------------------------


def started(request):
    """When this request started, before it read anything (set by the page-cache middleware
    at the top of the stack; for a bare request, on first use)."""
    at = getattr(request, "_surrogate_started", None)
    if at is None:
        at = request._surrogate_started = time.time()
    return at


def settle_once(request):
    """``settle_go_lives()`` at most once per request (one cache read when nothing is due)."""
    if request is None or not getattr(request, "_surrogate_settled", False):
        if request is not None:
            request._surrogate_settled = True
        settle_go_lives()


def add_keys(request, *keys):
    """The page being rendered shows what ``keys`` name."""
    if request is None:
        return
    collected = getattr(request, "surrogate_keys", None)
    if collected is None:
        collected = request.surrogate_keys = {ALL}
    collected.update(keys)


def request_keys(request):
    return getattr(request, "surrogate_keys", None) or {ALL}


def invalidated_at(keys):
    """Key -> when it was last invalidated, for those of ``keys`` the cache holds."""
    keys = list(keys)
    found = cache.get_many([entry(key) for key in keys])
    return {key: found[entry(key)] for key in keys if entry(key) in found}


def is_fresh(keys, since, times=None):
    """Whether something rendered from rows read after ``since`` and showing ``keys`` is
    still good: no key invalidated after ``since`` (a missing key counts as invalidated)."""
    times = invalidated_at(keys) if times is None else times
    return all(key in times and times[key] <= since for key in keys)


def check(keys, since):
    """``(is_fresh(keys, since), go_lives_settled())`` in one cache lookup."""
    keys = list(keys)
    names = [entry(key) for key in keys]
    found = cache.get_many([*names, golive_entry()])
    times = {key: found[name] for key, name in zip(keys, names, strict=True) if name in found}
    state = found.get(golive_entry())
    settled = state is not None and (
        state[0] is None or timezone.now() < datetime.fromisoformat(state[0])
    )
    return is_fresh(keys, since, times), settled


def storable(keys, since):
    """Whether something rendered since ``since`` may be stored: no key invalidated while it
    rendered. A key with no entry yet (never invalidated since the cache was emptied, or
    culled) gets one dated ``since``: what was read after it is as fresh as anything. (An
    entry culled in the milliseconds between an edit and the end of a rendering that began
    before it would let that rendering be kept; Redis evicts the least recently used, never
    an entry just written.)"""
    times = invalidated_at(keys)
    missing = [key for key in keys if key not in times]
    if missing:
        for key in missing:
            cache.add(entry(key), since, None)
        times.update(invalidated_at(missing))
    return is_fresh(keys, since, times)


def dating(keys, since):
    """Key -> when it was last invalidated, for a response made of rows read after
    ``since`` that dates itself by its keys before it reads them (a streamed sitemap
    child). A key with no entry gets one dated ``since``, as ``storable`` does. While a
    scheduled story's time has come and its keys are not yet invalidated (the go-lives
    not settled, or not known), every key counts as invalidated at ``since``: what is read
    now may show that story, and settling costs a query this needs not make."""
    keys = sorted(keys)
    if not go_lives_settled():
        return dict.fromkeys(keys, since)
    storable(keys, since)
    times = invalidated_at(keys)
    return {key: times.get(key, since) for key in keys}


def keys_stamp(keys, since):
    """A token naming the state of ``keys`` for a versioned cache key (``{% cache %}``
    blocks), or None if they changed since ``since`` or some are missing (then nothing
    should be stored)."""
    keys = sorted(keys)
    if not storable(keys, since):
        return None
    times = invalidated_at(keys)
    if not is_fresh(keys, since, times):
        return None  # invalidated this very moment
    return ",".join(repr(times[key]) for key in keys)


# --- scheduled stories ----------------------------------------------------------------


GO_LIVE_BATCH = 200


def golive_entry():
    return f"surrogate:{database_scope()}:go-live"


def next_go_live():
    """When the next scheduled story goes live, as the cache knows it (no query), or None."""
    state = cache.get(golive_entry())
    if state is None or state[0] is None:
        return None
    return datetime.fromisoformat(state[0])


def go_lives_settled(now=None):
    """Whether no scheduled story went live since the cache last looked (no query)."""
    state = cache.get(golive_entry())
    if state is None:
        return False
    upcoming = state[0]
    return upcoming is None or (now or timezone.now()) < datetime.fromisoformat(upcoming)


def settle_go_lives(now=None):
    """Invalidate the keys of every story that went live since the last look, and remember
    the next go-live. Returns the keys invalidated. Cheap when nothing is due (one cache
    read); one query when something is (more past a long batch)."""
    from stories.models import Story

    now = now or timezone.now()
    state = cache.get(golive_entry())
    if state is not None and (state[0] is None or now < datetime.fromisoformat(state[0])):
        return set()
    if state is not None:
        since = datetime.fromisoformat(state[1])
    else:
        # Not known when the cache last looked: anything cached before a story went live has
        # expired if it went live longer ago than pages and pieces are kept.
        kept = max(settings.PAGE_CACHE_SECONDS, settings.FRAGMENT_CACHE_SECONDS)
        since = now - timedelta(seconds=kept + 1)
    # One query in the usual case: the stories that went live since, then the next one.
    # Only stories whose time came after their last write: a story saved live had its keys
    # invalidated by that save.
    scheduled = Story.objects.filter(
        status=Story.Status.PUBLISHED, published_at__gt=F("updated_at")
    ).order_by()
    rows = list(
        scheduled.filter(published_at__gt=since)
        .order_by("published_at")
        .values_list("pk", "published_at")[:GO_LIVE_BATCH]
    )
    went_live = [pk for pk, at in rows if at <= now]
    upcoming = next((at for _, at in rows if at > now), None)
    if upcoming is None and len(rows) == GO_LIVE_BATCH:
        went_live = scheduled.filter(published_at__gt=since, published_at__lte=now).values_list(
            "pk", flat=True
        )
        upcoming = (
            Story.objects.filter(status=Story.Status.PUBLISHED, published_at__gt=now)
            .order_by("published_at")
            .values_list("published_at", flat=True)
            .first()
        )
    keys = keys_of(Story, list(went_live))
    if keys:
        invalidate(keys)
    cache.set(golive_entry(), (upcoming.isoformat() if upcoming else None, now.isoformat()), None)
    return keys


def recheck_go_lives():
    """After a change (a story scheduled, moved or published): the next request looks for
    go-lives again, from where the last look ended (one query), so a new schedule is known
    at once and no go-live in between is missed."""
    state = cache.get(golive_entry())
    if state is not None:
        cache.set(golive_entry(), (timezone.now().isoformat(), state[1]), None)


def next_local_midnight(now):
    """When the newsroom's date (``settings.TIME_ZONE``) next changes, as an aware datetime."""
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, datetime.min.time()))


def shared_lifetime(now=None):
    """How long a shared cache may keep a reader page: ``CDN_CACHE_SECONDS``, but never past
    the next go-live (whole seconds, rounded down), so a scheduled story appears on time
    even if no purge reaches the cache in front, nor past the newsroom's midnight."""
    now = now or timezone.now()
    # Nor past the newsroom's midnight, when today's times turn into dates.
    seconds = min(
        settings.CDN_CACHE_SECONDS, math.floor((next_local_midnight(now) - now).total_seconds())
    )
    if settings.PAGE_CACHE_SECONDS <= 0 and settings.FRAGMENT_CACHE_SECONDS <= 0:
        # Both caches off: nothing is looked up, so the next go-live is not known here;
        # the worker's tick purges the cache in front when a story goes live.
        return seconds
    upcoming = next_go_live()
    if upcoming is not None:
        left = (upcoming - now).total_seconds()
        seconds = max(0, min(seconds, math.floor(left)))
    return seconds
