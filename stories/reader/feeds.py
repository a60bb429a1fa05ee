"""RSS 2.0 and Atom feeds of live stories: the whole site, and each section, tag and byline.

Entries are full: title, link, a permanent id, published and updated dates, every byline as
an author, the section and tags as categories, the deck as summary and the body as content.
The id is a ``tag:`` URI built from ``SITE_DOMAIN``, the day the story was created and its
primary key, none of which an edit (a new slug or date) changes, so feed readers never see a
story twice.

Rendering twenty full entries was nearly all of a feed's server time, and none of it changes
until content does. So, as story cards are (``stories.delivery.fragments``), each story's entry is
kept as written XML per feed format and content generation, along with each feed's list of
stories and its section, tag or byline: a feed whose entries are all kept runs no query, and
an edit starts a new generation, so the next feed already shows it. With
``FRAGMENT_CACHE_SECONDS = 0`` everything is rendered afresh by Django's ``Feed``.
"""

import copy
import io
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.contrib.syndication.views import Feed, add_domain
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.html import escape, format_html_join
from django.utils.xmlutils import SimplerXMLGenerator

from stories.delivery import fragments
from stories.models import Story
from stories.text import xml_safe

from .meta import story_description


class WrittenEntries:
    """Feed generator mixin: each entry can be written alone (to be kept), and an item that
    carries its entry already written (``xml``) is output as it is."""

    entry_element = "item"

    # Rows may hold characters XML 1.0 cannot carry (written before the forms refused them,
    # or straight to the database); Django's writer raises on them, so they are dropped
    # from everything a feed is made of, channel and entries alike.
    def __init__(self, *args, **kwargs):
        super().__init__(*xml_safe(args), **xml_safe(kwargs))

    def add_item(self, *args, **kwargs):
        super().add_item(*xml_safe(args), **xml_safe(kwargs))

    def entry_xml(self, item):
        out = io.StringIO()
        # As Django's write() makes its handler, so the entry's bytes are the same.
        self.write_entry(SimplerXMLGenerator(out, "utf-8", short_empty_elements=True), item)
        return out.getvalue()

    def write_entry(self, handler, item):
        handler.startElement(self.entry_element, self.item_attributes(item))
        self.add_item_elements(handler, item)
        handler.endElement(self.entry_element)

    def write_items(self, handler):
        for item in self.items:
            if "xml" in item:
                # The one SAX call that writes text unescaped; it was escaped when written.
                handler.ignorableWhitespace(item["xml"])
            else:
                self.write_entry(handler, item)


class StoryRssFeed(WrittenEntries, feedgenerator.Rss201rev2Feed):
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


class StoryAtomFeed(WrittenEntries, feedgenerator.Atom1Feed):
    """Atom with one ``author`` per byline and the body as HTML ``content``."""

    entry_element = "entry"

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

    def items(self, obj):
        # Corrections feed the honest updated date.
        return self.stories(obj).for_feed()[: settings.FEED_ITEMS]

    def get_feed(self, obj, request):
        if not fragments.enabled(request):
            return super().get_feed(obj, request)
        # The feed's stories, as keys; RSS and Atom share them. stories() depends only on
        # the object, named here by its model and key.
        scope = "site" if obj is None else f"{obj._meta.label_lower}:{obj.pk}"
        keys = fragments.kept(
            request,
            f"feed-items:{scope}",
            lambda: list(self.stories(obj).values_list("pk", flat=True)[: settings.FEED_ITEMS]),
        )
        # Entries hold absolute links, so the scheme and host count; every feed of one
        # format writes a story's entry alike, so they share it.
        origin = add_domain(get_current_site(request).domain, "/", request.is_secure())
        entry_key = {
            pk: fragments.fragment_key(request, "feed-entry", self.feed_type.__name__, origin, pk)
            for pk in keys
        }
        found = fragments.peek_many(entry_key.values())
        missing = [pk for pk, key in entry_key.items() if key not in found]
        # Django's get_feed() writes the feed's head and makes items of the stories still to
        # render; this view is shared by concurrent requests, so a copy is told which.
        renderer = copy.copy(self)
        renderer.items = (
            list(Story.objects.live().for_feed().filter(pk__in=missing)) if missing else []
        )
        feed = Feed.get_feed(renderer, obj, request)
        written = {
            entry_key[story.pk]: (feed.entry_xml(item), item["pubdate"], item["updateddate"])
            for story, item in zip(renderer.items, feed.items, strict=True)
        }
        if written:
            fragments.keep_many(written)
            found.update(written)
        # A story in neither has stopped being live since the list was kept.
        feed.items = [
            {"xml": xml, "pubdate": pubdate, "updateddate": updateddate}
            for xml, pubdate, updateddate in (
                found[entry_key[pk]] for pk in keys if entry_key[pk] in found
            )
        ]
        return feed

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
            "content": format_html_join("\n", "<p>{}</p>", ((p,) for p in story.paragraphs)),
        }


class AtomTitles:
    """Atom feeds: titles are plain text (type="text"), unlike RSS's, so they are not
    escaped (StoryRssFeed escapes RSS's)."""

    feed_type = StoryAtomFeed


class LatestStoriesAtomFeed(AtomTitles, LatestStoriesFeed):
    pass


class SectionFeed(LatestStoriesFeed):
    def get_object(self, request, slug):
        return fragments.kept_named(request, "section", slug)

    def title(self, section):
        return f"{section.name} · {settings.SITE_NAME}"

    def link(self, section):
        return section.get_absolute_url()

    def description(self, section):
        return section.description or f"The latest {section.name} stories."

    subtitle = description

    def stories(self, section):
        return Story.objects.live().in_section(section)


class SectionAtomFeed(AtomTitles, SectionFeed):
    pass


class TagFeed(LatestStoriesFeed):
    def get_object(self, request, slug):
        return fragments.kept_named(request, "live-tag", slug)

    def title(self, tag):
        return f"{tag.name} · {settings.SITE_NAME}"

    def link(self, tag):
        return reverse("stories:tag", args=[tag.slug])

    def description(self, tag):
        return f"The latest stories tagged {tag.name}."

    subtitle = description

    def stories(self, tag):
        return Story.objects.live().tagged(tag)


class TagAtomFeed(AtomTitles, TagFeed):
    pass


class BylineFeed(LatestStoriesFeed):
    def get_object(self, request, slug):
        return fragments.kept_named(request, "byline", slug)

    def title(self, byline):
        return f"{byline.name} · {settings.SITE_NAME}"

    def link(self, byline):
        return byline.get_absolute_url()

    def description(self, byline):
        return byline.bio or f"The latest stories by {byline.name}."

    subtitle = description

    def stories(self, byline):
        return Story.objects.live().by_byline(byline)


class BylineAtomFeed(AtomTitles, BylineFeed):
    pass
