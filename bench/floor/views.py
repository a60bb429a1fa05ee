"""The floor's two pages: a story and a section listing, plain Django (see ``__init__``)."""

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from stories.models import Story, StoryByline, live_sections
from stories.richtext import sanitize_body, word_count

WORDS_PER_MINUTE = 230
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
    """What every floor page's masthead, menu and publisher data need."""
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
    return {"home": home, "publisher": publisher, "nav_sections": live_sections()}


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
            "published_iso": iso(story.published_at),
            "updated_iso": iso(updated) if updated else "",
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
    stories = (
        Story.objects.live()
        .filter(section=section)
        .select_related("section")
        .defer("body", "body_plain")
        .prefetch_related(
            Prefetch("story_bylines", queryset=StoryByline.objects.select_related("byline"))
        )
    )
    page = Paginator(stories, settings.STORIES_PER_PAGE).get_page(request.GET.get("page"))
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
