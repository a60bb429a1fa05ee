"""Pieces of reader pages rendered once per content generation: the story page's meta tags
(with its JSON-LD), its article and what it offers next (``related``), and the layout of the
home page and of listings' first pages (what leads them). Delivery
(``stories.delivery.fragments``) caches what these functions render; what they say is the
reader's business."""

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from stories.delivery import fragments, surrogates
from stories.models import Story, story_relations_prefetch

from .meta import META_TEMPLATE, story_meta
from .related import render_related

STORY_ARTICLE_TEMPLATE = "stories/_story_article.html"


def render_story_page_parts(request, story):
    """The story page's meta tags (with its JSON-LD), its ``<article>`` and its "More in"
    and "Related" lists, rendered; the story's bylines, tags and corrections are read here,
    for this rendering only (its section and lead image came with its row)."""
    prefetch_related_objects([story], *story_relations_prefetch())
    related, listed = render_related(request, story)
    return {
        "meta": render_to_string(
            META_TEMPLATE, {"meta": story_meta(story, request), "site_name": settings.SITE_NAME}
        ),
        "article": render_to_string(
            STORY_ARTICLE_TEMPLATE,
            # Printed on paper, where a link cannot be followed (the print stylesheet shows
            # it); absolute, which the cache key's site scope allows.
            {"story": story, "address": request.build_absolute_uri(story.get_absolute_url())},
        ),
        "related": related,
        # Not HTML: the stories the lists show, whose keys the page carries too.
        "listed": listed,
    }


def story_page_parts(request, story):
    """``render_story_page_parts()``, cached per story while its key stands, so a story page read
    again renders no relation and runs no query. Meta tags carry absolute addresses: the
    key names the scheme, host and script prefix (``stories.delivery.generation.site_scope``).
    Never for previews: a story that is not live has no cached parts to share."""
    parts = fragments.cached(
        request,
        f"story-page:{story.pk}",
        lambda: render_story_page_parts(request, story),
        # Its section's name, bylines, tags, corrections and image: all the story's key
        # (``stories.delivery.dependencies``); the section's name is under "sections". The
        # stories its "More in" and "Related" lists show: their own keys, so an edit to one,
        # or its unpublishing, reaches this page too (a newer story in the section does not:
        # the lists stay as they were until this story or one they show changes).
        keys=lambda parts: [f"story-{story.pk}", "sections", *story_keys(parts["listed"])],
    )
    surrogates.add_keys(request, *story_keys(parts["listed"]))
    # Rendered (and escaped) by their templates.
    return {name: mark_safe(html) for name, html in parts.items() if name != "listed"}


def story_keys(pks):
    return [f"story-{pk}" for pk in pks]


def lead_and_top(pinned, newest, places):
    """The stories leading a page, ``places`` of them: the editors' pinned stories in their
    order, then the newest not pinned. Both lists hold live stories only (``live()``); a
    story pinned and among the newest appears once."""
    chosen, seen = [], set()
    for story in [*pinned, *newest]:
        if len(chosen) == places:
            break
        if story.pk not in seen:
            seen.add(story.pk)
            chosen.append(story)
    return chosen


def home_places():
    """How many stories lead the home page: the lead and the top stories."""
    return 1 + settings.FRONT_PAGE_TOP_STORIES


def pinned_on_home():
    """The live stories pinned on the home page, in the editors' order, at most as many as
    it has places for. They lead its first page and are left out of its date order
    (``HomeView``), so no page lists them again."""
    return Story.objects.live().for_cards().pinned_on_home()[: home_places()]


def pinned_atop(section):
    """The live story pinned atop ``section``'s page, if any (a queryset): it leads the
    first page and is left out of the date order (``SectionView``), as on the home page."""
    return Story.objects.live().for_cards().pinned_atop(section)[:1]


def home_pinned():
    return list(pinned_on_home())


def front_page(request, stories):
    """The home page's first page: the lead and the top stories (pinned by editors, the
    newest filling the places left), then the page's other stories grouped by section in
    menu order. ``stories`` are the page's own, which leave out those pinned (the view's
    paginator gives the first page as many fewer). One query for the pinned stories;
    filling and grouping the page already fetched costs none. Called by ``{% front_page %}``
    inside the home page's cached content block, so only when that block is rendered."""
    stories = list(stories)
    leading = lead_and_top(home_pinned(), stories, home_places())
    shown = {story.pk for story in leading}
    groups = {}
    for story in stories:
        if story.pk not in shown:
            groups.setdefault(story.section, []).append(story)
    sections = sorted(groups.items(), key=lambda item: (item[0].position, item[0].name, item[0].pk))
    # All the page's cards in one cache lookup and at most one bylines query, however many
    # sections the page shows. The lead and the top stories are above the fold on any
    # screen and load their images at once; the sections' below it load theirs lazily.
    lead_cards, top_cards, *section_cards = fragments.card_groups(
        request,
        [
            (leading[:1], {"lead": True, "eager": True}),
            (leading[1:], {"eager": True}),
            *((grouped, {"level": 3, "hide_section": True}) for _, grouped in sections),
        ],
    )
    return {
        "lead_story": leading[0] if leading else None,
        "lead_cards": mark_safe("\n".join(lead_cards)),
        "top_cards": mark_safe("\n".join(top_cards)),
        "section_groups": [
            {"section": section, "stories": grouped, "cards": mark_safe("\n".join(cards))}
            for (section, grouped), cards in zip(sections, section_cards, strict=True)
        ],
    }


# Cards after the lead whose images load at once on a listing's first page: the first row
# of the grid at its widest (site.css ``.story-grid``: three columns); the rest lazily.
EAGER_CARDS = 3


def listing_front(request, stories, section=None, *, hide_section=False):
    """A section or tag page's first page: its top story leads (for a section, the one its
    editors chose if it is live, else the newest), the rest of the page follows as cards.
    ``stories`` leave out the story pinned, as in ``front_page()``. Inside the page's cached
    content block, as ``front_page()``."""
    stories = list(stories)
    pinned = list(pinned_atop(section)) if section else []
    leading = lead_and_top(pinned, stories, 1)
    rest = [story for story in stories if story not in leading]
    lead_cards, first_row, others = fragments.card_groups(
        request,
        [
            (leading, {"lead": True, "eager": True, "hide_section": hide_section}),
            (rest[:EAGER_CARDS], {"eager": True, "hide_section": hide_section}),
            (rest[EAGER_CARDS:], {"hide_section": hide_section}),
        ],
    )
    return {
        "lead_story": leading[0] if leading else None,
        "lead_cards": mark_safe("\n".join(lead_cards)),
        "cards": mark_safe("\n".join([*first_row, *others])),
    }
