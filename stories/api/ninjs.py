"""A story as IPTC ninjs 2.x (News in JSON): what the API, and webhooks, send partners.

``story_ninjs(story, request=None)`` is the one representation. It reads only what
``StoryQuerySet.for_api()`` prefetches (section, bylines in printed order, tags,
corrections), so a page of stories costs the same few queries however long it is. Without a
request (a webhook sent by a worker) links are built on the site's published address
(``SITE_DOMAIN``, https when ``HTTPS`` is on).

The mapping, field by field, is documented in docs/api.md. Fields ninjs has no name for
(``url``, ``canonical_url``, ``corrections``) are our own extensions, named plainly.
"""

import mimetypes
from urllib.parse import urljoin

from django.conf import settings
from django.urls import reverse

from stories.importer.places import COUNTRY_CODES
from stories.models import Story
from stories.reader.feeds import story_guid
from stories.reader.meta import iso, publication_language

NINJS_STANDARD = {
    "name": "ninjs",
    "version": "2.1",
    "schema": "https://www.iptc.org/std/ninjs/ninjs-schema_2.1.json",
}

PUBSTATUS = {
    # What readers see, or will at the embargo time.
    Story.Status.PUBLISHED: "usable",
    # Taken down after publication: partners should remove their copy.
    Story.Status.UNPUBLISHED: "canceled",
    # Drafts and stories in review are never sent by the API; a webhook may still name one.
    Story.Status.DRAFT: "withheld",
    Story.Status.REVIEW: "withheld",
}


def site_root():
    """The published site's address, for links made without a request."""
    scheme = "https" if settings.HTTPS else "http"
    return f"{scheme}://{settings.SITE_DOMAIN}/"


def absolute(path, request=None):
    """``path`` (or a URL already absolute, such as an S3 one) as an absolute URL."""
    if request is not None:
        return request.build_absolute_uri(path)
    return urljoin(site_root(), path)


def canonical(path):
    """On the site's one published address, whichever host the client asked."""
    return urljoin(site_root(), path)


def body_html(story):
    """The body as the story page prints it: the allowlisted HTML, sanitized again on the way
    out (``Story.body_html``)."""
    return str(story.body_html)


def body_text(story):
    """The body's words, paragraphs (subheads, quotes, list items) separated by a blank line."""
    return story.plain_text


def image_renditions(image, request=None):
    """The library image's stored crops, shape by shape and narrowest first, as ninjs
    renditions named ``<shape>-w<width>`` ("card-w640")."""
    return [
        {
            "name": f"{rendition['shape']}-w{rendition['width']}",
            "href": absolute(rendition["url"], request),
            "contenttype": mimetypes.guess_type(rendition["url"])[0] or "application/octet-stream",
            "width": rendition["width"],
            "height": rendition["height"],
        }
        for rendition in image.rendition_list()
    ]


def lead_image_association(story, request=None):
    image = story.lead_image if story.lead_image_id else None
    renditions = image_renditions(image, request) if image else []
    if not renditions:
        return None
    association = {
        "name": "leadimage",
        "uri": f"{story_guid(story)}:leadimage",
        "type": "picture",
        "renditions": renditions,
    }
    if image.caption:
        association["headlines"] = [{"role": "caption", "value": image.caption}]
    association["descriptions"] = [{"role": "alt", "value": image.alt}]
    if image.credit:
        association["by"] = image.credit
    return association


def tagged_items(story):
    items = getattr(story, "listed_tagged_items", None)
    tags = story.tags.all() if items is None else [item.tag for item in items]
    # A tag without a slug has no address (see Story.sorted_tags).
    return sorted((tag for tag in tags if tag.slug), key=lambda tag: tag.name.casefold())


def story_corrections(story):
    corrections = getattr(story, "listed_corrections", None)
    return list(story.corrections.all()) if corrections is None else corrections


def byline_text(bylines):
    names = [byline.name for byline in bylines]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def story_ninjs(story, request=None):
    """``story`` as a ninjs 2.x dict, ready for JSON. Stable: the webhooks send it too.

    Expects the relations ``Story.objects.for_api()`` prefetches; without them it still
    works, one query per relation.
    """
    path = story.get_absolute_url()
    bylines = story.ordered_bylines
    tags = tagged_items(story)
    first = story.published_at or story.created_at
    version_time = max(t for t in (story.updated_at, first) if t is not None)
    text = body_text(story)
    data = {
        "uri": story_guid(story),
        "standard": NINJS_STANDARD,
        "type": "text",
        "representationtype": "full",
        "version": str(story.version),
        "firstcreated": iso(first),
        "versioncreated": iso(version_time),
        "pubstatus": PUBSTATUS.get(story.status, "withheld"),
        "language": publication_language(),
        "slugline": story.slug,
        "headlines": [{"role": "main", "value": story.headline}],
        "descriptions": (
            [{"role": "summary", "contenttype": "text/plain", "value": story.deck}]
            if story.deck
            else []
        ),
        "bodies": [
            {
                "role": "main",
                "contenttype": "text/html",
                "charcount": len(text),
                "wordcount": story.word_count,
                "value": body_html(story),
            },
            {
                "role": "main",
                "contenttype": "text/plain",
                "charcount": len(text),
                "wordcount": story.word_count,
                "value": text,
            },
        ],
        "by": byline_text(bylines),
        "people": [
            {
                "name": byline.name,
                "rel": "author",
                "literal": byline.slug,
                "uri": absolute(byline.get_absolute_url(), request),
            }
            for byline in bylines
        ],
        "subjects": [
            {
                "name": story.section.name,
                "rel": "section",
                "literal": story.section.slug,
                "uri": absolute(story.section.get_absolute_url(), request),
            },
            *(
                {
                    "name": tag.name,
                    "rel": "tag",
                    "literal": tag.slug,
                    "uri": absolute(reverse("stories:tag", args=[tag.slug]), request),
                }
                for tag in tags
            ),
        ],
        "places": [
            {
                "name": tag.name,
                "rel": "about",
                "literal": COUNTRY_CODES[tag.name],
                "uri": absolute(reverse("stories:tag", args=[tag.slug]), request),
            }
            for tag in tags
            if tag.name in COUNTRY_CODES
        ],
        "associations": [],
        "url": absolute(path, request),
        "canonical_url": canonical(path),
        "corrections": [
            {
                "kind": correction.kind,
                "text": correction.text,
                "published": iso(correction.published_at),
            }
            for correction in story_corrections(story)
        ],
    }
    if story.dateline:
        data["located"] = story.dateline
    image = lead_image_association(story, request)
    if image is not None:
        data["associations"].append(image)
    if story.is_scheduled():
        # Only keys with the embargo scope are sent these (and webhooks, at go-live time).
        data["embargoed"] = iso(story.published_at)
    return data
