"""What search engines and social sites read: meta tags and schema.org JSON-LD.

Everything here is built as plain data (dicts and lists) from objects the views already
loaded, so it adds no queries; ``templates/stories/_meta.html`` renders it, and JSON-LD goes
through ``json_ld_script``, which escapes it for a ``<script>`` element. The rendered tags are
cached per content generation with the rest of the page's pieces
(``stories/delivery/fragments.py``), so this runs on the first view after an edit, not on
every request.
"""

import json
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from stories.fasturls import fast_reverse

DESCRIPTION_WORDS = 40

# Inside <script>, "</script>" or "<!--" in a string would end or confuse the element; JSON
# allows escaping any character, so these never appear literally (as Django's json_script).
SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}


META_TEMPLATE = "stories/_meta.html"


def json_ld_script(data):
    """A ``<script type="application/ld+json">`` element holding ``data``, safely."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=None)
    return format_html(
        '<script type="application/ld+json">{}</script>', mark_safe(text.translate(SCRIPT_ESCAPES))
    )


def iso(moment):
    """ISO 8601 with the time zone offset, to the second, in site time."""
    return timezone.localtime(moment).replace(microsecond=0).isoformat() if moment else None


def publication_language():
    """The site's language as news platforms want it: ISO 639 ("en"), or zh-cn / zh-tw."""
    code = settings.LANGUAGE_CODE.lower()
    return code if code in ("zh-cn", "zh-tw") else code.split("-")[0]


def logo_url(request):
    logo = settings.SITE_LOGO
    if logo.startswith(("http://", "https://")):
        return logo
    return request.build_absolute_uri(
        static_path(logo, settings.STATIC_URL, settings.STORAGES["staticfiles"]["BACKEND"])
    )


@lru_cache(maxsize=8)
def static_path(name, static_url, storage):
    """``static(name)``, looked up once per static files set-up (the other arguments): a
    hashed name from the manifest, on every story and listing page's publisher data."""
    return static(name)


def organization(request):
    return {
        "@type": "NewsMediaOrganization",
        "name": settings.SITE_NAME,
        "url": request.build_absolute_uri(fast_reverse("stories:home")),
        "logo": {"@type": "ImageObject", "url": logo_url(request)},
    }


def breadcrumbs(request, trail):
    """A BreadcrumbList from ``(name, path)`` pairs, home first."""
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


def story_description(story):
    """The deck, or else the first paragraph, shortened for a snippet."""
    text = story.deck or next(iter(story.paragraphs), "")
    return Truncator(text).words(DESCRIPTION_WORDS)


def story_image(story, request):
    """The absolute URL of the lead image's social rendition (1.91:1, cropped around its
    focal point, as link previews show it), else its largest; None without an image.

    Never the original: it is for the staff only (see ``stories.reader.media``).
    """
    if not story.lead_image_id:
        return None
    rendition = story.lead_image.rendition("og") or story.lead_image.rendition("lead")
    return request.build_absolute_uri(rendition["url"]) if rendition else None


def story_corrections(story):
    """Corrections as schema.org CorrectionComments; none unless the story has some (the
    list the page read, ``Story.correction_list``)."""
    comments = []
    for correction in story.correction_list:
        comment = {"@type": "CorrectionComment", "text": correction.text or str(correction)}
        if correction.published_at:
            comment["datePublished"] = iso(correction.published_at)
        comments.append(comment)
    return comments


def news_article(story, request):
    url = request.build_absolute_uri(story.get_absolute_url())
    # The honest "Updated" time: substantive changes and corrections, not typo fixes.
    modified = story.public_updated_at or story.published_at
    article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.headline,
        "description": story_description(story),
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "datePublished": iso(story.published_at),
        "dateModified": iso(modified),
        "author": [
            {
                "@type": "Person",
                "name": byline.name,
                "url": request.build_absolute_uri(byline.get_absolute_url()),
            }
            for byline in story.ordered_bylines
        ],
        "publisher": organization(request),
        "articleSection": story.section.name,
        "keywords": [tag.name for tag in story.sorted_tags],
        # The words, not the markup (stories.richtext.body_text).
        "articleBody": story.plain_text,
        "wordCount": story.word_count,
        "inLanguage": settings.LANGUAGE_CODE,
        "isAccessibleForFree": True,
    }
    image = story_image(story, request)
    if image:
        article["image"] = [image]
    corrections = story_corrections(story)
    if corrections:
        article["correction"] = corrections
    return article


@dataclass
class PageMeta:
    """Everything ``_meta.html`` renders for one page."""

    title: str
    description: str
    canonical: str
    og_type: str = "website"
    image: str | None = None
    article: dict = field(default_factory=dict)  # article:* Open Graph properties
    feeds: list = field(default_factory=list)  # (title, RSS path, Atom path)
    structured_data: list = field(default_factory=list)
    noindex: bool = False

    @property
    def twitter_card(self):
        return "summary_large_image" if self.image else "summary"

    @property
    def json_ld(self):
        return [json_ld_script(data) for data in self.structured_data]


def site_feed():
    return (settings.SITE_NAME, fast_reverse("stories:feed"), fast_reverse("stories:atom_feed"))


def story_meta(story, request):
    image = story_image(story, request)
    section_path = story.section.get_absolute_url()
    article = news_article(story, request)
    return PageMeta(
        title=story.headline,
        description=story_description(story),
        canonical=article["url"],
        og_type="article",
        image=image,
        article={
            "published_time": article["datePublished"],
            "modified_time": article["dateModified"],
            "section": story.section.name,
            "tags": article["keywords"],
        },
        feeds=[site_feed()],
        structured_data=[
            article,
            breadcrumbs(
                request,
                [
                    (settings.SITE_NAME, fast_reverse("stories:home")),
                    (story.section.name, section_path),
                    (story.headline, story.get_absolute_url()),
                ],
            ),
        ],
    )


def page_path(request, page_obj):
    """The canonical path of a listing page: the page number is kept, other parameters not."""
    path = request.path
    if page_obj is not None and page_obj.number > 1:
        path = f"{path}?page={page_obj.number}"
    return path


def home_meta(request, page_obj=None):
    home = request.build_absolute_uri(fast_reverse("stories:home"))
    return PageMeta(
        title=settings.SITE_NAME,
        description=f"The latest stories from {settings.SITE_NAME}.",
        canonical=request.build_absolute_uri(page_path(request, page_obj)),
        feeds=[site_feed()],
        structured_data=[
            {
                "@context": "https://schema.org",
                "@type": "WebSite",
                "name": settings.SITE_NAME,
                "url": home,
                "inLanguage": settings.LANGUAGE_CODE,
                "publisher": organization(request),
            },
            {"@context": "https://schema.org", **organization(request)},
        ],
    )


def listing_meta(request, *, name, description, kind, feed_names, slug, page_obj=None):
    """Meta for a section, tag or byline page; ``kind`` is "section", "tag" or "byline"."""
    path = request.path
    canonical = request.build_absolute_uri(page_path(request, page_obj))
    page = {
        "@context": "https://schema.org",
        "@type": "ProfilePage" if kind == "byline" else "CollectionPage",
        "name": name,
        "url": canonical,
        "isPartOf": {
            "@type": "WebSite",
            "name": settings.SITE_NAME,
            "url": request.build_absolute_uri(fast_reverse("stories:home")),
        },
    }
    if description:
        page["description"] = description
    if kind == "byline":
        page["mainEntity"] = {
            "@type": "Person",
            "name": name,
            "url": request.build_absolute_uri(path),
        }
        if description:
            page["mainEntity"]["description"] = description
    rss, atom = feed_names
    return PageMeta(
        title=name,
        description=description or f"Stories: {name}, from {settings.SITE_NAME}.",
        canonical=canonical,
        og_type="profile" if kind == "byline" else "website",
        feeds=[
            (
                f"{name} · {settings.SITE_NAME}",
                fast_reverse(rss, slug),
                fast_reverse(atom, slug),
            ),
            site_feed(),
        ],
        structured_data=[
            page,
            breadcrumbs(
                request, [(settings.SITE_NAME, fast_reverse("stories:home")), (name, request.path)]
            ),
        ],
    )


# schema.org's own types for the pages a footer links to; any other page is a WebPage.
SITE_PAGE_TYPES = {"about": "AboutPage", "contact": "ContactPage"}


def site_page_meta(request, page):
    """Meta for a site page (About, Contact, the corrections policy)."""
    canonical = request.build_absolute_uri(page.get_absolute_url())
    description = page.summary or Truncator(page.body_text).words(DESCRIPTION_WORDS)
    description = description or f"{page.title}, from {settings.SITE_NAME}."
    return PageMeta(
        title=page.title,
        description=description,
        canonical=canonical,
        feeds=[site_feed()],
        structured_data=[
            {
                "@context": "https://schema.org",
                "@type": SITE_PAGE_TYPES.get(page.slug, "WebPage"),
                "name": page.title,
                "url": canonical,
                "description": description,
                "dateModified": iso(page.updated_at),
                "isPartOf": {
                    "@type": "WebSite",
                    "name": settings.SITE_NAME,
                    "url": request.build_absolute_uri(fast_reverse("stories:home")),
                },
            },
            breadcrumbs(
                request,
                [
                    (settings.SITE_NAME, fast_reverse("stories:home")),
                    (page.title, page.get_absolute_url()),
                ],
            ),
        ],
    )
