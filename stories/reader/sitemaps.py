"""Sitemaps of live stories and the section, tag and byline pages that list them.

``/sitemap.xml`` is the index: it names every sitemap, and the story sitemap once per child
of at most ``SITEMAP_MAX_URLS`` addresses (50,000, the protocol's limit): ``?p=2`` and on,
as Django's sitemap framework names them. Story children list stories oldest first, so a
child's addresses stay put as new stories are published (only the last child grows, and a
new child follows it when it is full). ``news`` is the Google News sitemap: live stories
published in the last two days, at most 1,000, with the ``news:`` fields.

What the index asks of each sitemap is cheap whatever the size of the archive: its latest
change is two index lookups (``latest_change``), its number of children one count (the
story sitemap's from the count of live stories the database keeps, ``live_count``). A story
child is read in keyset batches of plain values (``STORY_BATCH`` rows each, never a list of
models) and streamed as compact XML without a template, a piece at a time, so its memory
is a batch and a piece whatever its number of addresses, at a million stories as at ten
thousand; its ETag and Last-Modified come from its surrogate keys before its body
(``child_validators``). Per row it does only what differs between rows (its times are read
as text, the day in its address worked out once per day): 0.2 s of CPU for 50,000
addresses, where it was 0.65 s.

The section, tag and byline sitemaps read each listing's latest change from a row kept for
it on write (``stories.listings``), not from its stories: at a million stories, grouping
3,000,000 tag links took seconds, and one row per tag takes milliseconds.
"""

import hashlib
import math
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.contrib.sites.shortcuts import get_current_site
from django.core.paginator import Paginator
from django.db.models import CharField, Func, Max, Q
from django.db.models.functions import Greatest
from django.http import Http404, StreamingHttpResponse
from django.urls import get_script_prefix, set_script_prefix
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import http_date, quote_etag
from taggit.models import Tag

from stories.delivery import surrogates
from stories.delivery.page_cache import page_number
from stories.fasturls import fast_reverse, last_argument_formatter
from stories.listings import last_changes, live_count
from stories.models import Byline, ListingChange, Section, SitePage, Story

NEWS_WINDOW = timedelta(days=2)
NEWS_LIMIT = 1000
# Rows read per query while writing a story child: the memory a child needs is this many
# rows' values, plus its XML text.
STORY_BATCH = 5000
MAX_CHILD_PAGE = 100_000


def latest_change(stories):
    """When any of ``stories`` (live ones) last changed for readers: saved, or went live.
    Two queries that each read one row from an index (the newest save, the newest
    publication), where one aggregate of both read every live story."""
    # Plain descending order, as the indexes hold the dates: ``live()`` stories all have both.
    times = [
        stories.order_by(f"-{field}").values_list(field, flat=True).first()
        for field in ("updated_at", "published_at")
    ]
    times = [time for time in times if time is not None]
    return max(times) if times else None


def keyset_after(published_at, pk, inclusive=False):
    """Stories after (or from) the one published at ``published_at`` with key ``pk``, oldest
    first. The redundant ``published_at >= ...`` is what the index can seek to: the ``OR``
    alone was a filter, and each batch read the index from its start (455,000 entries for
    the tenth child at 1M)."""
    same_time = (
        Q(published_at=published_at, pk__gte=pk)
        if inclusive
        else Q(published_at=published_at, pk__gt=pk)
    )
    return Q(published_at__gte=published_at) & (same_time | Q(published_at__gt=published_at))


class UTCText(Func):
    """A time as ISO 8601 text in UTC. Python reads it back (``read_utc``) thirty times
    faster than psycopg's loader, with Django's time zone on top, makes a datetime of a
    ``timestamptz`` (10 µs a value: 100,000 values were half a story child's CPU). SQLite
    stores times as this text already."""

    output_field = CharField()
    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra_context):
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
        )
        return self.as_sql(compiler, connection, template=template, **extra_context)


def read_utc(value):
    """A time ``UTCText`` gave, as an aware datetime (a datetime as it is, where the
    database gave one)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class KeptCountPaginator(Paginator):
    """A paginator whose count is ``count()`` (``stories.listings.live_count``), not a
    COUNT of its list."""

    def __init__(self, object_list, per_page, count):
        super().__init__(object_list, per_page)
        self.counter = count

    @cached_property
    def count(self):
        return self.counter()


class StorySitemap(Sitemap):
    def __init__(self):
        self.limit = settings.SITEMAP_MAX_URLS

    def items(self):
        # Oldest first: a child's addresses stay the same as stories are published.
        return Story.objects.live().order_by("published_at", "pk")

    @property
    def paginator(self):
        # The index's number of children, from the count the database keeps of the live
        # stories (one query: it was a COUNT of every live story).
        return KeptCountPaginator(self.items(), self.limit, live_count)

    def lastmod(self, story):
        return max(story.published_at, story.updated_at)

    def get_latest_lastmod(self):
        return latest_change(Story.objects.live())

    def child_start(self, page):
        """Where child ``page`` (1 = the oldest) starts: the (published_at, pk) of its first
        story, or None for page 1 of no stories; ``Http404`` for a page past the last. One
        query, made before the response, so a missing child is a 404, not a broken stream."""
        ordered = self.items().values_list("published_at", "pk")
        start = ordered[(page - 1) * self.limit : (page - 1) * self.limit + 1].first()
        if start is None and page > 1:
            raise Http404(f"No sitemap page {page}")
        return start

    def child_rows(self, start):
        """The values of the stories of the child starting at ``start`` (``child_start``),
        read in keyset batches: a generator, so nothing is read until the body is."""
        if start is None:
            return
        after = keyset_after(*start, inclusive=True)
        # Times as text (``UTCText``), the lastmod worked out by the database.
        stories = self.items().annotate(
            published=UTCText("published_at"),
            changed=UTCText(Greatest("published_at", "updated_at")),
        )
        fields = ("published", "pk", "slug", "changed")
        left = self.limit
        while left > 0:
            batch = stories.filter(after).values_list(*fields)[: min(left, STORY_BATCH)]
            read = 0
            # Each row made as it is written (one list of the batch's rows, not two).
            for published, pk, slug, changed in batch:
                last = (read_utc(published), pk, slug, read_utc(changed))
                read += 1
                yield last
            if read < min(left, STORY_BATCH):
                return
            left -= read
            after = keyset_after(last[0], last[1])


class NewsSitemap(Sitemap):
    limit = NEWS_LIMIT

    def items(self):
        since = timezone.now() - NEWS_WINDOW
        stories = Story.objects.live().filter(published_at__gte=since)
        fields = ("slug", "headline", "published_at", "updated_at", "created_at")
        return stories.only(*fields)[:NEWS_LIMIT]

    def lastmod(self, story):
        return max(story.published_at, story.updated_at)

    def get_latest_lastmod(self):
        since = timezone.now() - NEWS_WINDOW
        return latest_change(Story.objects.live().filter(published_at__gte=since))


class ListingPaginator(Paginator):
    """Pages of sections, tags or bylines in their order, each page keeping those with a live
    story (``keep``): pages are counted over the model's rows, so the index never names a
    page past the end, and a page's latest changes are read for its rows only."""

    def __init__(self, object_list, per_page, keep):
        super().__init__(object_list, per_page)
        self.keep = keep

    def page(self, number):
        page = super().page(number)
        page.object_list = self.keep(list(page.object_list))
        return page


class ListingSitemap(Sitemap):
    """Sections, tags or bylines with a live story, each with its stories' latest change."""

    model = None
    kind = None  # its rows of ``ListingChange``
    related_field = ""  # from a story to the listing's model
    ordering = ()

    def __init__(self):
        self.limit = settings.SITEMAP_MAX_URLS

    def items(self):
        return self.model.objects.order_by(*self.ordering)

    @property
    def paginator(self):
        return ListingPaginator(self.items(), self.limit, self.with_last_change)

    def with_last_change(self, listings):
        changes = last_changes(self.kind, [listing.pk for listing in listings])
        kept = [listing for listing in listings if listing.pk in changes]
        for listing in kept:
            listing.last_change = changes[listing.pk]
        return kept

    def lastmod(self, listing):
        return listing.last_change

    def get_latest_lastmod(self):
        linked = {f"{self.related_field}__isnull": False}
        return latest_change(Story.objects.live().filter(**linked))


class SectionSitemap(ListingSitemap):
    """Only sections with a live story, as their pages (``live_sections()``)."""

    model = Section
    kind = ListingChange.Kind.SECTION
    related_field = "section"
    ordering = ("position", "name")


class TagSitemap(ListingSitemap):
    """Only tags with a live story: a tag used only by drafts would give a draft away."""

    model = Tag
    kind = ListingChange.Kind.TAG
    related_field = "tagged_items__tag"
    ordering = ("name",)

    def items(self):
        # A tag stored without a slug has no address (see Story.sorted_tags).
        return super().items().exclude(slug="")

    def location(self, tag):
        return fast_reverse("stories:tag", tag.slug)


class BylineSitemap(ListingSitemap):
    """Only bylines with a live story."""

    model = Byline
    kind = ListingChange.Kind.BYLINE
    related_field = "story_bylines__byline"
    ordering = ("name",)


class SitePageSitemap(Sitemap):
    """The site's own pages (About, Contact, the corrections policy)."""

    def items(self):
        return SitePage.objects.order_by("position", "title")

    def lastmod(self, page):
        return page.updated_at

    def get_latest_lastmod(self):
        return SitePage.objects.aggregate(at=Max("updated_at"))["at"]


SITEMAPS = {
    "stories": StorySitemap,
    "news": NewsSitemap,
    "sections": SectionSitemap,
    "tags": TagSitemap,
    "bylines": BylineSitemap,
    "pages": SitePageSitemap,
}


def sitemap_index(request):
    surrogates.add_keys(request, "sitemaps")
    return sitemap_views.index(request, SITEMAPS, sitemap_url_name="stories:sitemap_section")


def sitemap_section(request, section):
    surrogates.add_keys(request, "sitemaps")
    # Django's own template gives lastmod as a date; news changes by the minute.
    template = "stories/sitemap_news.xml" if section == "news" else "stories/sitemap.xml"
    return sitemap_views.sitemap(request, SITEMAPS, section=section, template_name=template)


# Its page (``?p=``, read by Django's view) is part of its address as a story child's is.
sitemap_section.canonical_parameters = {"p": page_number}


def sitemap_time(value, zone):
    """A lastmod as ``machine_datetime`` writes it: ISO 8601 in site time, to the second."""
    return value.astimezone(zone).isoformat(timespec="seconds")


def local_day(moment, zone):
    """The start and end of ``moment``'s day in ``zone``, as aware datetimes."""
    day = timezone.localdate(moment, zone)
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()), zone)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()), zone)
    return start, end


def child_page(request):
    """The story child asked for (``?p=``, 1 by default), or ``Http404``."""
    try:
        page = int(request.GET.get("p", 1))
    except ValueError:
        raise Http404("No such sitemap page") from None
    # Past the number of children a billion stories make: no such child (and an offset
    # beyond 64 bits is a database error, not a 404).
    if not 1 <= page <= MAX_CHILD_PAGE:
        raise Http404("No such sitemap page")
    return page


def child_validators(request, page, root, zone):
    """``(ETag, Last-Modified)`` of story child ``page``, known before a row is read, or
    None with every cache off (then nothing is looked up, as ``include_invalidations``).

    What the child shows changes only with a change that invalidates the response's
    surrogate keys (``sitemaps``: every story going live, edited, moved or taken away;
    ``all``: bulk writes), so when those keys were last invalidated dates it: the
    ``Last-Modified`` the page cache's ``include_invalidations`` gives it anyway, and an
    ETag naming those times and what else the text depends on (its address, the time zone
    of its lastmods, the child's number and size). An ETag made of the body, as
    ConditionalGetMiddleware makes, needs the whole body first."""
    if not (settings.PAGE_CACHE_SECONDS or settings.FRAGMENT_CACHE_SECONDS):
        return None
    # As the page cache does before a lookup: a scheduled story whose time has come has its
    # keys invalidated first (one cache read when none is due).
    surrogates.settle_once(request)
    keys = sorted(surrogates.request_keys(request))
    times = surrogates.dating(keys, surrogates.started(request))
    # The text depends on these too (the script prefix is in every address).
    text = (page, settings.SITEMAP_MAX_URLS, root, get_script_prefix(), str(zone))
    state = repr((*text, [times[key] for key in keys]))
    etag = quote_etag(hashlib.sha256(state.encode()).hexdigest()[:32])
    return etag, http_date(math.floor(max(times.values())))


XML_START = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
)
# Addresses per piece of a streamed child (about 100 bytes each).
CHUNK_URLS = 1000


@contextmanager
def script_prefix(prefix):
    """The request's script prefix while a streamed body is written: it is written as it
    is sent, after the view returned (a test client has unset the prefix by then)."""
    before = get_script_prefix()
    set_script_prefix(prefix)
    try:
        yield
    finally:
        set_script_prefix(before)


def child_xml(rows, root, zone, prefix):
    """The text of a story child, in pieces of ``CHUNK_URLS`` addresses: the same text
    ``stories/sitemap.xml`` makes of Django's list of URL dictionaries, without the list or
    the whole text (50,000 dictionaries and models were +116 MB, the whole text 25 MB)."""
    with script_prefix(prefix):
        yield from child_pieces(rows, root, zone)


def child_pieces(rows, root, zone):
    lines = [XML_START]
    day_start = day_end = link = None
    lastmod = last_changed = None
    # Per row only what differs (50,000 rows make a child's time): stories come in order of
    # publication, so the day in their address is worked out once per day, and a lastmod
    # once per distinct time (an import saves its stories at one time).
    for published_at, _pk, slug, changed in rows:
        if day_start is None or not day_start <= published_at < day_end:
            day_start, day_end = local_day(published_at, zone)
            day = timezone.localdate(published_at, zone)
            link = last_argument_formatter(
                "stories:detail", day.year, f"{day.month:02}", f"{day.day:02}"
            )
        if changed != last_changed:
            last_changed, lastmod = changed, sitemap_time(changed, zone)
        lines.append(
            f"<url><loc>{root}{escape(link(slug))}</loc><lastmod>{lastmod}</lastmod></url>\n"
        )
        if len(lines) >= CHUNK_URLS:
            yield "".join(lines).encode()
            lines = []
    lines.append("</urlset>\n")
    yield "".join(lines).encode()


def story_sitemap(request):
    """A child of the story sitemap (``?p=``, 1 by default), streamed: its memory is a
    batch of rows and a piece of text whatever its number of addresses.

    Its validators come before its body (``child_validators``), so a crawler's conditional
    request gets its 304 from ConditionalGetMiddleware after one query (where the child
    starts, which says whether it exists) and without a row of the body read. A shared
    cache in front keeps every child, ``?p=`` included (``canonical_parameters``), with
    its surrogate keys, and is purged on edit like any page. The page cache does not keep
    it (``page_cached``): it stores a page as one value, read whole on every hit, so a
    child would be 5 MB of memory again per hit and per request that stores it, and
    would evict many small pages from the cache; a child is not even looked up there, so
    it counts neither as a hit nor as a miss."""
    page = child_page(request)
    surrogates.add_keys(request, "sitemaps")
    root = escape(f"{request.scheme}://{get_current_site(request).domain}")
    zone = timezone.get_current_timezone()
    validators = child_validators(request, page, root, zone)
    sitemap = StorySitemap()
    rows = sitemap.child_rows(sitemap.child_start(page))
    response = StreamingHttpResponse(
        child_xml(rows, root, zone, get_script_prefix()), content_type="application/xml"
    )
    if validators is not None:
        response["ETag"], response["Last-Modified"] = validators
    response["X-Robots-Tag"] = "noindex, noodp, noarchive"
    return response


# The page cache's view attributes (``stories.delivery.page_cache``): ``?p=2`` and on are
# children's one address (``?p=1`` is the sitemap's own, without it); another spelling of
# the number (``?p=+1``, ``?p=02``, a full-width digit) is redirected to it.
story_sitemap.canonical_parameters = {"p": page_number}
story_sitemap.page_cached = False
