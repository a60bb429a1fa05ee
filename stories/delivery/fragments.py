"""Pieces of reader pages cached per surrogate key: story cards, the objects addresses name,
whole feed responses and whatever else a caller computes (``cached()``), cached opaquely.
Counts and search rankings are cached by ``stories.delivery.pagination``; each page's meta
tags, content and the section menu by Django's ``{% cache %}`` tag in the templates, keyed by
``cache_scope`` and ``menu_scope`` (``stories.delivery.context_processors``).

With the page cache off (or for a page it may not store), a page's server time went into
reading rows, building querysets and rendering cards, menus and meta tags through the
template engine. None of that changes until content does. Each piece is stored with the
surrogate keys of what it shows (``stories.delivery.surrogates``: a card its story's, a
count its listing's) and the time its request started, and is used only while none of
those keys has been invalidated since: the first page rendered after an edit already shows
it, exactly as with the page cache, and pieces the edit does not touch stay cached. Each
response is still rendered per request around them. They are also cached at most
``FRAGMENT_CACHE_SECONDS`` (0 turns them off): with a per-process cache (local memory) an
edit made in one process does not reach the others' key entries, and this bounds how long
they may lag, as ``PAGE_CACHE_SECONDS`` does for whole pages. Without Redis, processes share
the file cache by default.

Only data that every reader sees alike is cached: no user, session or preview state;
previews render everything afresh. Keys name the database, scheme, host and script prefix
(``generation.site_scope``).
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.template import Context
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from . import generation, surrogates

CARD_TEMPLATE = "stories/_story_card.html"


# Set on a request by ``keep_out_of_fragment_cache()``.
UNCACHED_ATTRIBUTE = "_newsroom_fragments_off"


def keep_out_of_fragment_cache(request):
    """For a page rendered from what only its viewer has (a preview of unsaved edits): while
    it renders, no cached piece is read or stored, ``{% cache %}`` blocks included (the
    context processor asks ``enabled()`` too), so it neither shows a stale piece nor leaves
    one behind for readers."""
    setattr(request, UNCACHED_ATTRIBUTE, True)


def enabled(request):
    return (
        request is not None
        and settings.FRAGMENT_CACHE_SECONDS > 0
        and not getattr(request, UNCACHED_ATTRIBUTE, False)
        and generation.is_canonical_host(request)
    )


def fragment_key(request, *parts):
    # Scoped to the database, scheme, host and script prefix (``generation.site_scope``):
    # cards, menus and meta tags carry links, and no request may change another reader's.
    return ":".join(["fragments", generation.site_scope(request), *map(str, parts)])


def fresh_entries(request, names):
    """The cached pieces among ``names`` (cache keys) still good: stored as ``(value, keys,
    started)``, each of their surrogate keys invalidated before ``started``. One lookup for
    the pieces and one for the keys of all of them."""
    surrogates.settle_once(request)
    found = cache.get_many(names)
    if not found:
        return {}
    times = surrogates.invalidated_at(set().union(*(keys for _, keys, _ in found.values())))
    return {
        name: value
        for name, (value, keys, since) in found.items()
        if surrogates.is_fresh(keys, since, times)
    }


def store_entries(request, entries):
    """Store ``{name: (value, keys)}`` unless a key changed while they were rendered."""
    since = surrogates.started(request)
    keys = set().union(*(keys for _, keys in entries.values())) if entries else set()
    if entries and surrogates.storable(keys, since):
        cache.set_many(
            {name: (value, frozenset(keys), since) for name, (value, keys) in entries.items()},
            settings.FRAGMENT_CACHE_SECONDS,
        )


def piece_keys(request, keys):
    keys = surrogates.request_keys(request) if keys is None else keys
    return frozenset({surrogates.ALL, *keys})


def prefetch_card_bylines(stories):
    """Read the bylines of the stories that lack them, in one query (none if none do);
    cards show no byline photos, so those are not read."""
    from stories.models import bylines_prefetch

    unread = [story for story in stories if not hasattr(story, "ordered_story_bylines")]
    if unread:
        prefetch_related_objects(unread, bylines_prefetch(photos=False))


def render_cards(stories, *, level=2, lead=False, hide_section=False, eager=False):
    """Render cards; bylines are read for the stories that still lack them (one query).
    ``eager`` cards load their image at once (those above the fold), the others lazily.
    One template context serves every card, each story pushed onto it in turn: what an
    ``{% include %}`` in a loop does, where a new context per card cost a page more."""
    stories = list(stories)
    prefetch_card_bylines(stories)
    template = get_template(CARD_TEMPLATE).template
    context = Context(
        {"level": level, "lead": lead, "hide_section": hide_section, "eager": eager},
        autoescape=template.engine.autoescape,
    )
    cards = []
    for story in stories:
        with context.push(story=story):
            cards.append(template.render(context))
    return cards


def story_cards(request, stories, *, level=2, lead=False, hide_section=False, eager=False):
    """The HTML of each story's card, in order: from the cache, rendering only those it
    lacks. Stories come from ``StoryQuerySet.for_cards()``; their bylines are read only if
    some card has to be rendered, so a page whose cards are all cached costs one query less."""
    options = {"level": level, "lead": lead, "hide_section": hide_section, "eager": eager}
    return card_groups(request, [(stories, options)])[0]


def card_groups(request, groups):
    """``story_cards()`` for several ``(stories, options)`` groups of one page (the front
    page's lead and sections) with one cache lookup and at most one bylines query."""
    groups = [
        (
            list(stories),
            {
                "level": options.get("level", 2),
                "lead": bool(options.get("lead")),
                "hide_section": bool(options.get("hide_section")),
                "eager": bool(options.get("eager")),
            },
        )
        for stories, options in groups
    ]
    if not enabled(request):
        prefetch_card_bylines([story for stories, _ in groups for story in stories])
        return [render_cards(stories, **options) for stories, options in groups]
    keyed = [
        [
            (
                fragment_key(
                    request,
                    "card",
                    story.pk,
                    card_variant(options),
                ),
                story,
            )
            for story in stories
        ]
        for stories, options in groups
    ]
    found = fresh_entries(request, [key for pairs in keyed for key, _ in pairs])
    prefetch_card_bylines([story for pairs in keyed for key, story in pairs if key not in found])
    rendered = {}
    for pairs, (_, options) in zip(keyed, groups, strict=True):
        missing = [(key, story) for key, story in pairs if key not in found]
        if missing:
            html = render_cards([story for _, story in missing], **options)
            # A card shows its story and its section's name.
            rendered.update(
                (key, (card, {surrogates.ALL, "sections", f"story-{story.pk}"}))
                for (key, story), card in zip(missing, html, strict=True)
            )
    if rendered:
        store_entries(request, rendered)
        found.update((key, card) for key, (card, _) in rendered.items())
    # Rendered (and escaped) by the card template.
    return [[mark_safe(found[key]) for key, _ in pairs] for pairs in keyed]


def card_variant(options):
    """The part of a card's key naming how it is rendered: its heading level, whether it
    leads, hides its section, loads its image at once."""
    flags = (options["lead"], options["hide_section"], options["eager"])
    return f"{options['level']}" + "".join(str(int(flag)) for flag in flags)


def cached(request, name, compute, keys=None):
    """``compute()``, cached under ``name`` while its surrogate ``keys`` (by default the
    page's, ``surrogates.request_keys``) are unchanged (or computed, if off). ``keys`` may
    be a function of the value computed, for pieces that learn what they show as they are
    made (the story page's lists of other stories)."""
    if not enabled(request):
        return compute()
    key = fragment_key(request, name)
    found = fresh_entries(request, [key])
    if key in found:
        return found[key]
    value = compute()
    if callable(keys):
        keys = keys(value)
    store_entries(request, {key: (value, piece_keys(request, keys))})
    return value


def cached_lookup(request, name, find, keys=None):
    """``find()``, an object or None, cached while the keys of what it found are unchanged
    (``keys(found)``, by default the page's keys) when it finds one. Misses are not cached:
    any address may be asked for, and only real objects should take cache space."""
    if not enabled(request):
        return find()
    # Hashed: slugs may be long and unicode, and cache keys should not be.
    key = fragment_key(request, f"lookup:{hashlib.sha256(name.encode()).hexdigest()[:32]}")
    found = fresh_entries(request, [key])
    if key in found:
        return found[key]
    value = find()
    if value is not None:
        store_entries(request, {key: (value, piece_keys(request, keys and keys(value)))})
    return value


def cached_response(request, name, view):
    """``view()``'s response, cached whole while the page's keys (declared while it was
    made: ``surrogates.add_keys``) are unchanged, when it is a 200 (its body and headers):
    feeds, whose XML depends on nothing but content and the site's address. Anything else (a
    404 for an address naming nothing) is made afresh every time. The response carries its
    keys (``surrogate_keys``) for the page cache's headers."""
    if not enabled(request):
        return view()
    key = fragment_key(
        request, f"response:{name}:{hashlib.sha256(request.path.encode()).hexdigest()[:32]}"
    )
    found = fresh_entries(request, [key])
    if key in found:
        content, headers, keys = found[key]
        response = HttpResponse(content, headers=headers)
        response.surrogate_keys = keys
        return response
    response = view()
    if response.status_code == 200 and not response.streaming:
        keys = piece_keys(request, None)
        response.surrogate_keys = keys
        stored = (response.content, dict(response.items()), keys)
        store_entries(request, {key: (stored, keys)})
    return response
