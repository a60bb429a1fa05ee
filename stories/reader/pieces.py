"""Pieces of reader pages rendered once per content generation: the story page's meta tags
(with its JSON-LD) and its article. Delivery (``stories.delivery.fragments``) keeps what
these functions render; what they say is the reader's business."""

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
    """``render_story_page_parts()``, kept per story and generation, so a story page read
    again renders no relation and runs no query. Meta tags carry absolute addresses,
    so the site address asked for is part of the key. Never for previews: a story that is
    not live has no kept parts to share."""
    site = request.build_absolute_uri("/")
    parts = fragments.kept(
        request, f"story-page:{story.pk}:{site}", lambda: render_story_page_parts(request, story)
    )
    # Rendered (and escaped) by their templates.
    return {name: mark_safe(html) for name, html in parts.items()}
