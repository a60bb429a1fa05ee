"""Pieces of reader pages rendered once per content generation: the story page's meta tags
(with its JSON-LD) and its article, and the front page's layout. Delivery
(``stories.delivery.fragments``) caches what these functions render; what they say is the
reader's business."""

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from stories.delivery import fragments
from stories.models import bylines_prefetch

from .meta import META_TEMPLATE, story_meta

STORY_ARTICLE_TEMPLATE = "stories/_story_article.html"


def render_story_page_parts(request, story):
    """The story page's meta tags (with its JSON-LD) and its ``<article>``, rendered; the
    story's bylines, tags and corrections are read here, for this rendering only."""
    prefetch_related_objects([story], "section", bylines_prefetch(), "tags", "corrections")
    return {
        "meta": render_to_string(
            META_TEMPLATE, {"meta": story_meta(story, request), "site_name": settings.SITE_NAME}
        ),
        "article": render_to_string(STORY_ARTICLE_TEMPLATE, {"story": story}),
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
        # (``stories.delivery.dependencies``); the section's name is under "sections".
        keys=[f"story-{story.pk}", "sections"],
    )
    # Rendered (and escaped) by their templates.
    return {name: mark_safe(html) for name, html in parts.items()}


def front_page(request, stories):
    """The newest story leads, the rest of the page is grouped by section in menu order.
    Grouping the page already fetched costs no queries. Called by ``{% front_page %}``
    inside the home page's cached content block, so only when that block is rendered."""
    stories = list(stories)
    groups = {}
    for story in stories[1:]:
        groups.setdefault(story.section, []).append(story)
    sections = sorted(groups.items(), key=lambda item: (item[0].position, item[0].name, item[0].pk))
    # All the page's cards in one cache lookup and at most one bylines query, however many
    # sections the page shows.
    lead_cards, *section_cards = fragments.card_groups(
        request,
        [
            (stories[:1], {"lead": True}),
            *((grouped, {"level": 3, "hide_section": True}) for _, grouped in sections),
        ],
    )
    return {
        "lead_story": stories[0] if stories else None,
        "lead_cards": mark_safe("\n".join(lead_cards)),
        "section_groups": [
            {"section": section, "stories": grouped, "cards": mark_safe("\n".join(cards))}
            for (section, grouped), cards in zip(sections, section_cards, strict=True)
        ],
    }
