"""The floor's two pages: a story and a section listing, plain Django (see ``__init__``)."""

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from stories.models import (
    Correction,
    SitePage,
    Story,
    StoryByline,
    TaggedStory,
    live_sections,
)
from stories.richtext import sanitize_body, word_count

WORDS_PER_MINUTE = 230
# What the story page offers next: as many stories as ours, from as many of its tags, each
# tag's newest taggings only (a tag with thousands of stories is not grouped whole).
MORE_IN_SECTION = 4
RELATED = 4
MAX_TAGS = 12
CANDIDATES_PER_TAG = 50
# Cards whose images load at once: the first row of a listing's grid.
EAGER_CARDS = 3
# JSON inside <script> must not end the element or open a comment.
SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}


def json_ld(data):
    text = json.dumps(data, ensure_ascii=False).translate(SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')


def iso(moment):
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def site_context(request):
    """What every floor page's masthead, menu, footer and publisher data need."""
    home = reverse("stories:home")
    publisher = {
        "@type": "NewsMediaOrganization",
        "name": settings.SITE_NAME,
        "url": request.build_absolute_uri(home),
        "logo": {
            "@type": "ImageObject",
            "url": request.build_absolute_uri(static(settings.SITE_LOGO)),
        },
    }
    return {
        "home": home,
        "publisher": publisher,
        # Read once, for the menu and the footer.
        "nav_sections": list(live_sections()),
        "footer_pages": SitePage.objects.filter(in_footer=True).only("title", "slug"),
    }


def breadcrumbs(request, trail):
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "name": name,
                "item": request.build_absolute_uri(path),
            }
            for position, (name, path) in enumerate(trail, start=1)
        ],
    }


def card_stories():
    """Live stories with what a card shows: section, lead image, bylines (no photos)."""
    return (
        Story.objects.live()
        .select_related("section", "lead_image")
        .defer("body", "body_plain")
        .prefetch_related(
            Prefetch("story_bylines", queryset=StoryByline.objects.select_related("byline"))
        )
    )


def related_stories(story, tags, exclude):
    """Live stories sharing the most of ``tags`` with ``story``, newest first among equals,
    chosen among each tag's ``CANDIDATES_PER_TAG`` most recent taggings (by story id)."""
    tag_ids = sorted(tag.pk for tag in tags)[:MAX_TAGS]
    candidates = set()
    for tag_id in tag_ids:
        candidates.update(
            TaggedStory.objects.filter(tag_id=tag_id)
            .exclude(content_object_id=story.pk)
            .order_by("-content_object_id")
            .values_list("content_object_id", flat=True)[:CANDIDATES_PER_TAG]
        )
    candidates -= {story.pk, *exclude}
    if not candidates:
        return []
    return list(
        card_stories()
        .filter(pk__in=candidates)
        .annotate(shared=Count("tagged_items", filter=Q(tagged_items__tag_id__in=tag_ids)))
        .order_by("-shared", "-published_at", "-pk")[:RELATED]
    )


def story(request, slug):
    story = get_object_or_404(
        Story.objects.live()
        .select_related("section", "lead_image")
        .prefetch_related(
            Prefetch("story_bylines", queryset=StoryByline.objects.select_related("byline__photo")),
            "tags",
            "corrections",
        ),
        slug=slug,
    )
    site = site_context(request)
    bylines = [story_byline.byline for story_byline in story.story_bylines.all()]
    tags = sorted((tag for tag in story.tags.all() if tag.slug), key=lambda t: t.name.casefold())
    corrections = list(story.corrections.all())
    changes = [t for t in (story.revised_at, *(c.published_at for c in corrections)) if t]
    updated = max(changes) if changes and max(changes) > story.published_at else None
    kinds = {correction.kind for correction in corrections}
    marker = "Corrected" if Correction.Kind.CORRECTION in kinds else "Updated" if kinds else None
    more = list(
        card_stories().filter(section=story.section_id).exclude(pk=story.pk)[:MORE_IN_SECTION]
    )
    related = related_stories(story, tags, exclude=[other.pk for other in more])
    words = word_count(story.body_plain)
    first_paragraph = story.body_plain.split("\n\n", 1)[0]
    description = Truncator(story.deck or first_paragraph).words(40)
    path = story.get_absolute_url()
    url = request.build_absolute_uri(path)
    section_path = story.section.get_absolute_url()
    image = og_image = None
    if story.lead_image_id:
        image = story.lead_image.responsive("lead")
        rendition = story.lead_image.rendition("og") or story.lead_image.rendition("lead")
        og_image = request.build_absolute_uri(rendition["url"]) if rendition else None
    body = sanitize_body(story.body)
    if story.dateline:
        lead_in = f'<span class="dateline">{escape(story.dateline)} — </span>'
        body = f"<p>{lead_in}{body[3:]}" if body.startswith("<p>") else f"<p>{lead_in}</p>{body}"
    article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.headline,
        "description": description,
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "datePublished": iso(story.published_at),
        "dateModified": iso(updated or story.published_at),
        "author": [
            {
                "@type": "Person",
                "name": byline.name,
                "url": request.build_absolute_uri(byline.get_absolute_url()),
            }
            for byline in bylines
        ],
        "publisher": site["publisher"],
        "articleSection": story.section.name,
        "keywords": [tag.name for tag in tags],
        "articleBody": story.body_plain,
        "wordCount": words,
        "inLanguage": settings.LANGUAGE_CODE,
        "isAccessibleForFree": True,
    }
    if og_image:
        article["image"] = [og_image]
    if corrections:
        article["correction"] = [
            {
                "@type": "CorrectionComment",
                "text": correction.text,
                "datePublished": iso(correction.published_at),
            }
            for correction in corrections
        ]
    trail = [
        (settings.SITE_NAME, site["home"]),
        (story.section.name, section_path),
        (story.headline, path),
    ]
    return render(
        request,
        "floor/story.html",
        {
            **site,
            "story": story,
            "bylines": bylines,
            "tags": tags,
            "corrections": corrections,
            "updated": updated,
            "marker": marker,
            "more": more,
            "related": related,
            "published_iso": iso(story.published_at),
            "modified_iso": iso(updated or story.published_at),
            "reading_minutes": max(1, -(-words // WORDS_PER_MINUTE)),
            "description": description,
            "canonical": url,
            "image": image,
            "og_image": og_image,
            "body": mark_safe(body),  # sanitized above; the dateline escaped
            "json_ld": [json_ld(article), json_ld(breadcrumbs(request, trail))],
        },
    )


def section(request, slug):
    section = get_object_or_404(live_sections(), slug=slug)
    stories = card_stories().filter(section=section)
    # The story the editors chose to lead the section, if it is live and still in it, leads
    # page 1 and leaves the date order, so no page repeats it: every page after the first
    # starts one story earlier among the others.
    pinned = stories.filter(section_top_pins__section=section).first()
    others = stories.exclude(pk=pinned.pk) if pinned else stories
    page = Paginator(stories, settings.STORIES_PER_PAGE).get_page(request.GET.get("page"))
    shift = 1 if pinned else 0
    cards = list(others[max(0, page.start_index() - 1 - shift) : page.end_index() - shift])
    top_story = excerpt = None
    if page.number == 1 and (pinned or cards):
        # Else the newest leads. The rest of the page follows it.
        top_story = pinned or cards.pop(0)
        body_plain = Story.objects.filter(pk=top_story.pk).values_list("body_plain", flat=True)[0]
        excerpt = next((part for part in body_plain.split("\n\n") if part), "")
    site = site_context(request)
    path = section.get_absolute_url()
    canonical = request.build_absolute_uri(
        f"{path}?page={page.number}" if page.number > 1 else path
    )
    collection = {
        "@context": "https://schema.org",
        "@type": "CollectionPage",
        "name": section.name,
        "url": canonical,
        "isPartOf": {
            "@type": "WebSite",
            "name": settings.SITE_NAME,
            "url": request.build_absolute_uri(site["home"]),
        },
    }
    if section.description:
        collection["description"] = section.description
    trail = [(settings.SITE_NAME, site["home"]), (section.name, path)]
    return render(
        request,
        "floor/section.html",
        {
            **site,
            "section": section,
            "page_obj": page,
            "top_story": top_story,
            "excerpt": excerpt,
            "first_row": cards[:EAGER_CARDS],
            "later_cards": cards[EAGER_CARDS:],
            "page_numbers": page.paginator.get_elided_page_range(
                page.number, on_each_side=1, on_ends=1
            ),
            "description": section.description
            or f"Stories: {section.name}, from {settings.SITE_NAME}.",
            "canonical": canonical,
            "json_ld": [json_ld(collection), json_ld(breadcrumbs(request, trail))],
            "current_section_slug": section.slug,
            "section_path": path,
        },
    )
