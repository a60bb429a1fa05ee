"""Pieces of reader pages kept per content generation: story cards, counts and page keys,
search rankings, the section menu, the objects addresses name, each page's meta tags and
content (the ``{% kept %}`` template tag), and the story page's meta tags and article
(rendered by ``stories.reader.pieces``): whatever a caller computes, kept opaquely.

With the page cache off (or for a page it may not keep), a page's server time went into
reading rows, building querysets and rendering cards, menus and meta tags through the
template engine. None of that changes until content does, and every content change starts a
new generation (``stories.delivery.generation``): these pieces are kept under the
generation's token, so the first page rendered after an edit already shows it, exactly as
with the page cache, and a page read again between edits runs no query. Each response is
still rendered per request around them. They are also kept at most
``FRAGMENT_CACHE_SECONDS`` (0 turns them off): with a per-process cache (local memory) an
edit made in one process does not reach the others' generation, and this bounds how long
they may lag, as ``PAGE_CACHE_SECONDS`` does for whole pages. Without Redis, processes share
the file cache by default.

Only data that every reader sees alike is kept: no user, session or preview state; previews
render everything afresh. Keys name the database, scheme, host and script prefix
(``generation.site_scope``) besides the generation.
"""

import hashlib
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.template.loader import get_template
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe

from . import generation

CARD_TEMPLATE = "stories/_story_card.html"


def enabled(request):
    return request is not None and settings.FRAGMENT_CACHE_SECONDS > 0


def fragment_key(request, *parts):
    # Scoped to the database, scheme, host and script prefix (``generation.site_scope``):
    # cards, menus and meta tags carry links, and no request may change another reader's.
    scope, token = generation.site_scope(request), generation.request_generation(request)
    return ":".join(["fragments", scope, token, *map(str, parts)])


def prefetch_card_bylines(stories):
    """Read the bylines of the stories that lack them, in one query (none if none do)."""
    from stories.models import bylines_prefetch

    unread = [story for story in stories if not hasattr(story, "ordered_story_bylines")]
    if unread:
        prefetch_related_objects(unread, bylines_prefetch())


def render_cards(stories, *, level=2, lead=False, hide_section=False):
    """Render cards; bylines are read for the stories that still lack them (one query)."""
    stories = list(stories)
    prefetch_card_bylines(stories)
    template = get_template(CARD_TEMPLATE)
    options = {"level": level, "lead": lead, "hide_section": hide_section}
    return [template.render({"story": story, **options}) for story in stories]


def story_cards(request, stories, *, level=2, lead=False, hide_section=False):
    """The HTML of each story's card, in order: from the cache, rendering only those it
    lacks. Stories come from ``StoryQuerySet.for_cards()``; their bylines are read only if
    some card has to be rendered, so a page whose cards are all kept costs one query less."""
    options = {"level": level, "lead": lead, "hide_section": hide_section}
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
                    f"{options['level']}{int(options['lead'])}{int(options['hide_section'])}",
                ),
                story,
            )
            for story in stories
        ]
        for stories, options in groups
    ]
    found = cache.get_many([key for pairs in keyed for key, _ in pairs])
    prefetch_card_bylines([story for pairs in keyed for key, story in pairs if key not in found])
    rendered = {}
    for pairs, (_, options) in zip(keyed, groups, strict=True):
        missing = [(key, story) for key, story in pairs if key not in found]
        if missing:
            html = render_cards([story for _, story in missing], **options)
            rendered.update(zip([key for key, _ in missing], html, strict=True))
    if rendered:
        cache.set_many(rendered, settings.FRAGMENT_CACHE_SECONDS)
        found.update(rendered)
    # Rendered (and escaped) by the card template.
    return [[mark_safe(found[key]) for key, _ in pairs] for pairs in keyed]


def kept(request, name, compute):
    """``compute()``, kept under ``name`` for this generation (or computed, if off)."""
    value = peek(request, name)
    if value is None:
        value = compute()
        keep(request, name, value)
    return value


def peek(request, name):
    """What is kept under ``name`` for this generation, or None."""
    return cache.get(fragment_key(request, name)) if enabled(request) else None


def keep(request, name, value):
    if enabled(request):
        cache.set(fragment_key(request, name), value, settings.FRAGMENT_CACHE_SECONDS)


def peek_many(keys):
    """What is kept under each of ``keys`` (made by ``fragment_key()``), as a dict of those
    found: one cache round trip for many pieces (feed entries)."""
    return cache.get_many(keys)


def keep_many(values):
    """Keep each value of ``{key: value}`` (keys made by ``fragment_key()``)."""
    cache.set_many(values, settings.FRAGMENT_CACHE_SECONDS)


def kept_html(request, name, values, render):
    """The HTML ``render()`` makes, kept under ``name`` and ``values`` for this generation
    (the ``{% kept %}`` template tag)."""
    digest = hashlib.sha256("\x1f".join(map(str, values)).encode()).hexdigest()[:32]
    return mark_safe(kept(request, f"html:{name}:{digest}", render))  # escaped by its template


def kept_lookup(request, name, find):
    """``find()``, an object or None, kept for this generation when it finds one. Misses are
    not kept: any address may be asked for, and only real objects should take cache space."""
    if not enabled(request):
        return find()
    # Hashed: slugs may be long and unicode, and cache keys should not be.
    name = f"lookup:{hashlib.sha256(name.encode()).hexdigest()[:32]}"
    found = peek(request, name)
    if found is None:
        found = find()
        if found is not None:
            keep(request, name, found)
    return found


def kept_named(request, kind, slug):
    """The section, byline or tag (``kind``: "section", "byline", "live-tag") whose slug is
    ``slug`` and that has a live story, kept for the generation like any ``kept_lookup``;
    Http404 if there is none. Pages and feeds share it."""
    from stories.models import live_bylines, live_sections, live_tags

    tables = {"section": live_sections, "byline": live_bylines, "live-tag": live_tags}
    found = kept_lookup(request, f"{kind}:{slug}", lambda: tables[kind]().filter(slug=slug).first())
    if found is None:
        raise Http404(f"No {kind.replace('-', ' ')} has this address.")
    return found


def nav_sections(request):
    """The section menu's sections (those with a live story), read once per generation."""
    from stories.models import live_sections

    return kept(request, "nav-sections", lambda: list(live_sections()))


class KeptResults(Sequence):
    """Search results as the ranked list of their stories' keys, kept for the content
    generation: ranking every match is most of a search's cost, and a reader paging through
    results, or the next reader asking the same words, needs only a page's stories read.
    The list holds keys only, so it stays small. ``ranked`` and ``stories`` are functions
    giving querysets, built only if needed; stories are read a page at a time, when the
    page is first used (``live()`` still applies), so a page whose rendered results are
    kept reads none."""

    def __init__(self, request, name, ranked, stories):
        name = f"results:{hashlib.sha256(name.encode()).hexdigest()[:32]}"
        self.keys = peek(request, name)
        if self.keys is None:
            self.keys = list(ranked().values_list("pk", flat=True))
            # A search that finds nothing keeps nothing: anyone can make up words, and
            # only real results should take cache space.
            if self.keys:
                keep(request, name, self.keys)
        self.stories = stories

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return SimpleLazyObject(lambda: self.read(self.keys[index]))
        return self.read([self.keys[index]])[0]

    def read(self, keys):
        found = self.stories().in_bulk(keys) if keys else {}
        return [found[key] for key in keys if key in found]


def listing_count(request, name, queryset):
    """``queryset.count()`` for a listing, counted once per generation. ``name`` must say
    everything the queryset depends on (the section, tag, byline or search words)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return kept(request, f"count:{digest}", lambda: queryset.count())
