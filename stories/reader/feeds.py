"""RSS 2.0 and Atom feeds of live stories: the whole site, and each section, tag and byline.

Entries are full: title, link, a permanent id, published and updated dates, every byline as
an author, the section and tags as categories, the deck as summary and the body as content.
The id is a ``tag:`` URI built from ``SITE_DOMAIN``, the day the story was created and its
primary key, none of which an edit (a new slug or date) changes, so feed readers never see a
story twice.

Rendering twenty full entries was nearly all of a feed's server time, and none of it changes
until content does. So each feed's whole response is cached per site address while its
surrogate keys stand (``stories.delivery.fragments.cached_response``): a feed read again
between edits runs no query, and an edit to a story it lists invalidates it, so the next
feed already shows it. With
``FRAGMENT_CACHE_SECONDS = 0`` every feed is rendered afresh by Django's ``Feed``.
"""

from functools import partial
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.html import escape

from stories.delivery import fragments, surrogates
from stories.models import Story
from stories.text import xml_safe

from .lookups import byline_or_404, live_tag_or_404, section_or_404
from .meta import story_description


class XmlSafe:
    """Feed generator mixin: rows may hold characters XML 1.0 cannot carry (written before
    the forms refused them, or straight to the database); Django's writer raises on them,
    so they are dropped from everything a feed is made of, channel and entries alike."""

    def __init__(self, *args, **kwargs):
        super().__init__(*xml_safe(args), **xml_safe(kwargs))

    def add_item(self, *args, **kwargs):
        super().add_item(*xml_safe(args), **xml_safe(kwargs))


class StoryRssFeed(XmlSafe, feedgenerator.Rss201rev2Feed):
    """RSS 2.0 with every byline as ``dc:creator`` and the body as ``content:encoded``.

    Feed readers take RSS titles and the channel's description as HTML, so the plain text
    of every title, the channel's and each item's alike, is escaped here, once. Categories
    and ``dc:creator`` are read as text (feedparser does), so they are not. (Atom says
    ``type="text"`` for its titles, and descriptions are HTML in both formats: escaped by
    the ``Feed`` views.)
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.feed["title"] = escape(self.feed["title"])
        self.feed["description"] = escape(self.feed["description"])

    def add_item(self, title, *args, **kwargs):
        super().add_item(escape(title), *args, **kwargs)

    def rss_attributes(self):
        return {
            **super().rss_attributes(),
            "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
            "xmlns:dc": "http://purl.org/dc/elements/1.1/",
        }

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        for name, _path in item["bylines"]:
            handler.addQuickElement("dc:creator", name)
        # RSS has no "updated"; the Atom namespace (declared by Django for atom:link) does.
        handler.addQuickElement("atom:updated", feedgenerator.rfc3339_date(item["updateddate"]))
        handler.addQuickElement("content:encoded", item["content"])


class StoryAtomFeed(XmlSafe, feedgenerator.Atom1Feed):
    """Atom with one ``author`` per byline and the body as HTML ``content``."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        for name, path in item["bylines"]:
            handler.startElement("author", {})
            handler.addQuickElement("name", name)
            handler.addQuickElement("uri", urljoin(self.feed["link"], path))
            handler.endElement("author")
        handler.addQuickElement("content", item["content"], {"type": "html"})


def story_guid(story):
    created = timezone.localdate(story.created_at)
    return f"tag:{settings.SITE_DOMAIN},{created.isoformat()}:story:{story.pk}"


class LatestStoriesFeed(Feed):
    feed_type = StoryRssFeed
    item_guid_is_permalink = False
    # Atom needs an author on entries with no byline; the site stands in for it.
    author_name = settings.SITE_NAME

    def title(self, obj):
        return settings.SITE_NAME

    def link(self, obj):
        return "/"

    def description(self, obj):
        return f"The latest stories from {settings.SITE_NAME}."

    subtitle = description

    def stories(self, obj):
        return Story.objects.live()

    def surrogate_keys(self, obj):
        return ["home"]

    def get_feed(self, obj, request):
        # Made on a miss only; the keys are stored with the cached response.
        surrogates.add_keys(request, "feeds", *self.surrogate_keys(obj))
        return super().get_feed(obj, request)

    def items(self, obj):
        # Corrections feed the honest updated date.
        return self.stories(obj).for_feed()[: settings.FEED_ITEMS]

    def __call__(self, request, *args, **kwargs):
        # The whole response (XML and Last-Modified), per feed address, site address and
        # content generation; the object is looked up, and the feed rendered, on a miss only.
        render = partial(super().__call__, request, *args, **kwargs)
        return fragments.cached_response(request, "feed", render)

    # Titles are plain text here: StoryRssFeed escapes them for RSS. Both formats'
    # summaries are HTML, so plain text is escaped once here.
    def item_title(self, story):
        return story.headline

    def item_description(self, story):
        # The deck; a story without one is summed up by its first paragraph.
        return escape(story_description(story))

    def item_link(self, story):
        return story.get_absolute_url()

    def item_guid(self, story):
        return story_guid(story)

    def item_pubdate(self, story):
        return story.published_at

    def item_updateddate(self, story):
        # Only substantive changes and corrections count as updates, as on the page.
        return story.public_updated_at or story.published_at

    def item_categories(self, story):
        names = [story.section.name]
        names += [tag.name for tag in story.sorted_tags if tag.name != story.section.name]
        return names

    def item_extra_kwargs(self, story):
        return {
            "bylines": [(b.name, b.get_absolute_url()) for b in story.ordered_bylines],
            # The body's HTML, sanitized again on the way out (``Story.body_html``).
            "content": story.body_html,
        }


class AtomTitles:
    """Atom feeds: titles are plain text (type="text"), unlike RSS's, so they are not
    escaped (StoryRssFeed escapes RSS's)."""

    feed_type = StoryAtomFeed


class LatestStoriesAtomFeed(AtomTitles, LatestStoriesFeed):
    pass


class SectionFeed(LatestStoriesFeed):
    def get_object(self, request, slug):
        return section_or_404(request, slug)

    def title(self, section):
        return f"{section.name} · {settings.SITE_NAME}"

    def link(self, section):
        return section.get_absolute_url()

    def description(self, section):
        return section.description or f"The latest {section.name} stories."

    subtitle = description

    def stories(self, section):
        return Story.objects.live().in_section(section)

    def surrogate_keys(self, section):
        return [f"section-{section.pk}"]


class SectionAtomFeed(AtomTitles, SectionFeed):
    pass


class TagFeed(LatestStoriesFeed):
    def get_object(self, request, slug):
        return live_tag_or_404(request, slug)

    def title(self, tag):
        return f"{tag.name} · {settings.SITE_NAME}"

    def link(self, tag):
        return reverse("stories:tag", args=[tag.slug])

    def description(self, tag):
        return f"The latest stories tagged {tag.name}."

    subtitle = description

    def stories(self, tag):
        return Story.objects.live().tagged(tag)

    def surrogate_keys(self, tag):
        return [f"tag-{tag.pk}"]


class TagAtomFeed(AtomTitles, TagFeed):
    pass


class BylineFeed(LatestStoriesFeed):
    def get_object(self, request, slug):
        return byline_or_404(request, slug)

    def title(self, byline):
        return f"{byline.name} · {settings.SITE_NAME}"

    def link(self, byline):
        return byline.get_absolute_url()

    def description(self, byline):
        return byline.bio or f"The latest stories by {byline.name}."

    subtitle = description

    def stories(self, byline):
        return Story.objects.live().by_byline(byline)

    def surrogate_keys(self, byline):
        return [f"byline-{byline.pk}"]


class BylineAtomFeed(AtomTitles, BylineFeed):
    pass
