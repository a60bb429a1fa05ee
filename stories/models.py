"""The newsroom's content: sections, bylines, stories, and what the importer remembers."""

import hashlib
import hmac
import secrets
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager
from taggit.models import Tag, TaggedItemBase

from . import richtext
from .changes import announce
from .fasturls import fast_reverse, last_argument_formatter
from .images import (
    CENTRE,
    SHAPE_RATIOS,
    CheckedImageField,
    library_image_name,
    loaded_library_image,
    responsive_image,
)
from .slugs import unique_slug
from .text import multiline_text, single_line_text


class ContentQuerySet(models.QuerySet):
    """The queryset of every model readers see: its bulk writes, which send no model signals,
    announce themselves (``stories.changes``), so no write path can forget to start a new
    content generation. Saves and deletes of single rows send Django's signals as usual.

    ``bulk_update()`` writes through ``update()``, so it announces too. A write to a few rows
    (at most ``ANNOUNCED_ROWS``: a story's tags set in the admin, a list action) names them,
    before the write and after, so only the pages showing them are invalidated; a write to
    more, or to rows without keys, invalidates every cached page.
    """

    ANNOUNCED_ROWS = 1000

    def written_rows(self):
        """The keys of the rows this queryset would write, or None if there are too many."""
        pks = list(self.order_by().values_list("pk", flat=True)[: self.ANNOUNCED_ROWS + 1])
        return None if len(pks) > self.ANNOUNCED_ROWS else pks

    # A write and its announcements commit together: what listeners note (the listings'
    # notes, ``stories.listings``) is there as soon as the rows are, so a reader never finds
    # the rows written and a listing's kept count not yet noted stale. Without a savepoint,
    # as Django's own bulk writes: an error inside fails the enclosing transaction anyway.

    def bulk_create(self, objs, *args, **kwargs):
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            if created:
                pks = [obj.pk for obj in created]
                few = len(pks) <= self.ANNOUNCED_ROWS and None not in pks
                announce(self.model, pks=pks if few else None)
        return created

    def update(self, **kwargs):
        with transaction.atomic(using=self.db, savepoint=False):
            pks = self.written_rows()
            if pks:
                announce(self.model, pks=pks)  # what the rows showed before
            rows = super().update(**kwargs)
            if rows:
                announce(self.model, pks=pks)
        return rows

    def delete(self):
        with transaction.atomic(using=self.db, savepoint=False):
            # Afterwards the rows are gone, and with them what they were shown on.
            pks = self.written_rows()
            if pks:
                announce(self.model, pks=pks)
            deleted, by_model = super().delete()
            if deleted and pks is None:
                announce(self.model)
        return deleted, by_model


class SlugNaturalKeyManager(models.Manager.from_queryset(ContentQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Section(models.Model):
    name = models.CharField(max_length=100, validators=[single_line_text])
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    description = models.TextField(blank=True, validators=[multiline_text])
    position = models.PositiveIntegerField(
        default=0, help_text="Order in the site's section menu: lower numbers come first."
    )

    objects = SlugNaturalKeyManager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return fast_reverse("stories:section", self.slug)

    def natural_key(self):
        return (self.slug,)


class Byline(models.Model):
    name = models.CharField(max_length=100, validators=[single_line_text])
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    role = models.CharField(
        max_length=100,
        blank=True,
        validators=[single_line_text],
        help_text='For example "Staff writer".',
    )
    bio = models.TextField(
        blank=True,
        validators=[multiline_text],
        help_text="A sentence or two shown on the byline page.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="byline",
        limit_choices_to={"is_staff": True, "is_active": True},
        help_text="The staff account that writes under this byline, if any.",
    )
    photo = models.ForeignKey(
        "Image",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="photo_of_bylines",
        help_text="A head shot from the image library.",
    )

    objects = SlugNaturalKeyManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Byline, self.name, max_length=100, exclude_pk=self.pk)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return fast_reverse("stories:byline", self.slug)

    def natural_key(self):
        return (self.slug,)

    @property
    def responsive_photo(self):
        return self.photo.responsive("lead") if self.photo_id else None


def is_live_condition(through=""):
    """``Story.objects.live()`` as a condition, for stories reached ``through`` a relation
    (``"content_object__"`` from a tagged item): a join the database can stop early on,
    where ``__in=Story.objects.live()`` made SQLite list every live story first."""
    return Q(
        **{
            f"{through}status": Story.Status.PUBLISHED,
            f"{through}published_at__lte": timezone.now(),
        }
    )


def bylines_prefetch(photos=True):
    """The one prefetch of a story's bylines: its byline rows in printed order
    (``StoryByline.Meta.ordering``) with their bylines, in a plain list that
    ``Story.ordered_bylines`` reads. For a queryset, ``StoryQuerySet.with_bylines()``; for
    stories already read, ``prefetch_related_objects(stories, bylines_prefetch())``.
    ``photos=False`` leaves the bylines' photos out, for what shows none (story cards): a
    join and an image model per byline less."""
    return Prefetch(
        "story_bylines",
        queryset=StoryByline.objects.select_related("byline__photo" if photos else "byline"),
        to_attr="ordered_story_bylines",
    )


def story_relations_prefetch():
    """What a story page or feed entry shows beside the row: its bylines
    (``bylines_prefetch()``), tags and corrections, each read in one query into a plain
    list (``ordered_bylines``, ``sorted_tags`` and ``correction_list`` read them). Plain
    lists, not the related managers' caches: Django builds a manager and a filtered
    queryset per story for each of those, and taggit's own prefetch more besides."""
    return [
        bylines_prefetch(),
        Prefetch(
            "tagged_items",
            queryset=TaggedStory.objects.select_related("tag"),
            to_attr="listed_tagged_items",
        ),
        Prefetch("corrections", to_attr="listed_corrections"),
    ]


def address_date(published_at, created_at, zone=None):
    """The local date in a story's address: of its publication, else of its creation."""
    return timezone.localdate(published_at or created_at or timezone.now(), zone)


class StoryQuerySet(ContentQuerySet):
    def live(self):
        """What readers may see: published, and its time has come."""
        return self.filter(is_live_condition())

    def scheduled(self):
        """Published but not yet live: each goes live on its own, with no job to run."""
        return self.filter(status=Story.Status.PUBLISHED, published_at__gt=timezone.now())

    def with_bylines(self):
        """Each story's bylines in printed order, read in one query (``bylines_prefetch()``)."""
        return self.prefetch_related(bylines_prefetch())

    def for_listing(self):
        """Everything a story card renders, in a fixed number of queries."""
        return self.select_related("section", "lead_image").with_bylines().prefetch_related("tags")

    def for_cards(self):
        """What a story card on a listing page renders (section, date, lead image), cheaply:
        no body, no tags. Bylines are read by ``stories.delivery.fragments.story_cards`` into
        a plain list, and only for cards it has to render, not cached ones. The image's
        renditions are described on its row, so its ``srcset`` costs no query either."""
        return self.select_related("section", "lead_image").defer("body", "body_plain")

    def for_feed(self):
        """Everything a feed entry renders (bylines, tags, corrections), in the same number
        of queries as ``for_listing()`` but held in plain lists: Django builds a related
        manager and a filtered queryset per story for each prefetch held in a manager,
        which was half a feed's server time."""
        return self.select_related("section").prefetch_related(*story_relations_prefetch())

    def for_api(self):
        """``for_feed()`` and the lead image the API describes, joined in the same query:
        read on its own, each story's image cost a query (20 more per page)."""
        return self.for_feed().select_related("lead_image")

    def in_section(self, section):
        return self.filter(section=section)

    def by_byline(self, byline):
        return self.filter(story_bylines__byline=byline)

    def tagged(self, tag):
        return self.filter(tagged_items__tag=tag)

    def pinned_on_home(self):
        """Stories editors pinned on the home page (``FrontPagePin``), in their order. Chain
        it after ``live()``: a pinned story that is not live (yet, or any more) drops out.

        The keys come from the pins' own table first (``pk__in``): with statistics for the
        story table and none for the pins' (an empty table has none), SQLite otherwise walks
        every live story by date and looks for its pin, 1.3 ms at 10,000 stories, where
        looking up the few pinned stories by key takes 0.01."""
        return self.filter(
            pk__in=FrontPagePin.objects.values("story_id"), front_page_pins__isnull=False
        ).order_by("front_page_pins__position", "front_page_pins__pk")

    def pinned_atop(self, section):
        """The story editors chose to lead ``section``'s page (``SectionTopStory``), if it
        is still in that section; chained after ``live()``, as ``pinned_on_home()`` (and
        read from the pins' own table first, for the same reason)."""
        return self.filter(
            pk__in=SectionTopStory.objects.filter(section=section).values("story_id"),
            section_top_pins__section=section,
            section=section,
        )


class RevisionRelations(models.Model):
    """Bylines and tags as they stood at a revision, so restoring it brings them back.

    simple-history records a story's own columns only. None means "not recorded" (revisions
    made before this existed), and a restore then leaves the relations alone.
    """

    # Slugs, not ids: a backup restored with natural keys gives bylines new ids.
    byline_slugs = models.JSONField(null=True, blank=True, editable=False)
    tag_names = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class Story(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"
        UNPUBLISHED = "unpublished", "Unpublished"

    headline = models.CharField(max_length=200, validators=[single_line_text])
    slug = models.SlugField(
        max_length=200,
        unique=True,
        allow_unicode=True,
        blank=True,
        help_text="The last part of the story's address. Made from the headline when left empty.",
    )
    deck = models.CharField(
        max_length=300,
        blank=True,
        validators=[single_line_text],
        help_text="The one-line summary under the headline.",
    )
    body = models.TextField(
        validators=[multiline_text],
        help_text="Paragraphs, subheads, bold, italic, links, quotes and lists. Anything else "
        "(other formatting, pasted styles, scripts) is removed when the story is saved.",
    )
    body_plain = models.TextField(
        "body as plain text",
        blank=True,
        default="",
        editable=False,
        help_text="The body's words without markup, made from the body on every save: what "
        "search indexes and summaries, word counts and revision diffs read.",
    )
    # No index of its own: every lookup by section is a prefix of story_section_order_idx.
    section = models.ForeignKey(Section, models.PROTECT, related_name="stories", db_index=False)
    bylines = models.ManyToManyField(
        Byline, through="StoryByline", related_name="stories", blank=True
    )
    status = models.CharField(max_length=12, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When readers may see a published story. A future time schedules it.",
    )
    dateline = models.CharField(
        max_length=100,
        blank=True,
        validators=[single_line_text],
        help_text='Where the story was reported, shown before the first paragraph ("KYIV").',
    )
    lead_image = models.ForeignKey(
        "Image",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_of_stories",
        help_text="From the image library: its alt text, caption and credit come with it.",
    )
    revised_at = models.DateTimeField(
        "public update time",
        null=True,
        blank=True,
        editable=False,
        help_text="The 'Updated' time readers see; moves only for substantive changes.",
    )
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Counts saves, so an edit made on an older copy of the story is refused.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_stories",
        editable=False,
    )
    tags = TaggableManager(through="TaggedStory", blank=True)

    objects = StoryQuerySet.as_manager()
    # The version is left out so a restored revision carries the current version and so
    # passes the edit check. The lead image is a reference to the library: a revision
    # restores which image the story had, not the image's own text or crops. The plain body
    # is made from the body on every save, so a revision needs only the body.
    history = HistoricalRecords(
        excluded_fields=["version", "body_plain"],
        bases=[RevisionRelations],
        # Revisions are read by story and by history id only. simple-history would index
        # these columns as the story table does, a B-tree entry each (two for the slug) to
        # write for every revision that nothing reads (migration 0032).
        no_db_index=["slug", "section", "created_by", "lead_image"],
    )

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name_plural = "stories"
        permissions = [("publish_story", "Can publish, schedule and unpublish stories")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="published_story_has_date",
                violation_error_message="A published story needs a publication date.",
            ),
        ]
        # Each ordering index ends with the primary key, the tie-break of every list, so a
        # page's keys (``DeferredJoinPaginator``), a sitemap child's keyset and a count come
        # from the index alone, at any depth (migration 0022).
        indexes = [
            # Live stories newest first: the home page, feeds, sitemaps, counts. With what
            # a sitemap lists of each (its address and last save), so the story sitemap's
            # children and the latest change of each section, tag and byline read this
            # index rather than the table.
            models.Index(
                fields=["status", "-published_at", "-id"],
                name="story_live_order_idx",
                include=["updated_at", "created_at", "slug"],
            ),
            # A section's live stories newest first.
            models.Index(
                fields=["section", "status", "-published_at", "-id"],
                name="story_section_order_idx",
            ),
            # Published stories by key, with their date: a tag's or a byline's stories are
            # read through their links one key at a time, and each asks whether the story is
            # live and when it was published (``keys_sorted_apart``). From this index alone
            # on PostgreSQL (index-only), where the table's pages (bodies and all) were a
            # read from disk per story once the archive outgrew the buffers: the most used
            # tag at a million stories is 13,000 of them (migration 0031).
            models.Index(
                fields=["id"],
                name="story_published_key_idx",
                include=["published_at"],
                condition=Q(status="published"),
            ),
            # Every story newest first: the desk's story list and its date filter.
            models.Index(fields=["-published_at", "-id"], name="story_published_idx"),
            # The latest save: sitemaps' lastmod, in one index lookup.
            models.Index(fields=["updated_at"], name="story_updated_idx"),
            # The desk's piles of drafts and stories in review (a few in a hundred of the
            # archive, scattered through it): counted and listed by their last save from
            # this small index alone, not from a table page per story (migration 0027).
            models.Index(
                fields=["status", "updated_at", "id"],
                name="story_desk_idx",
                include=["created_by"],
                condition=Q(status__in=["draft", "review"]),
            ),
        ]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        # Only this row: the image's renditions and the old address's redirect are made by
        # the editorial save (stories.editorial.saving).
        if not self.slug:
            self.slug = unique_slug(Story, self.headline, max_length=200, exclude_pk=self.pk)
        if not self._state.adding:
            self.version += 1
        # Every write of one story passes here (the admin's form, a restored revision, the
        # list actions, code and the shell), so the body is sanitized here rather than in a
        # form, whatever the browser sent; the importer's bulk writes skip save() and write
        # only escaped text in paragraphs (richtext.paragraphs_html, as the sanitizer would).
        self.body = richtext.sanitize_body(self.body)
        self.body_plain = richtext.body_text(self.body)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_plain"}
        super().save(*args, **kwargs)
        self._loaded_address = (self.slug, self.status)

    def get_absolute_url(self):
        day = self.url_date()
        return fast_reverse(
            "stories:detail", day.year, f"{day.month:02}", f"{day.day:02}", self.slug
        )

    @staticmethod
    def absolute_urls(stories, *, now=None):
        """``get_absolute_url()`` of many stories (an import reports 10,000), with the URL
        template and the time zone looked up once rather than per story.

        Anything with a story's ``slug``, ``published_at`` and ``created_at`` will do: the
        importer reports stories it read as plain values, not models. One with no slug has
        no address (a story the import leaves out because it was deleted): ``""``. ``now``:
        the time that dates a story with neither time (a new draft in a preview), if not
        the present (``stories.importer.report.Addresses`` formats its addresses later).
        """
        zone = timezone.get_current_timezone()
        # An import's stories share a few days: each day's part of the address is checked
        # and formatted once, and each story adds only its slug.
        by_day = {}
        urls = []
        for story in stories:
            if not story.slug:
                urls.append("")
                continue
            day = address_date(story.published_at, story.created_at or now, zone)
            url = by_day.get(day)
            if url is None:
                url = by_day[day] = last_argument_formatter(
                    "stories:detail", day.year, f"{day.month:02}", f"{day.day:02}"
                )
            urls.append(url(story.slug))
        return urls

    @classmethod
    def from_db(cls, db, field_names, values):
        story = super().from_db(db, field_names, values)
        # What the row held when loaded, so save() can tell whether the address moved.
        story._loaded_address = (story.__dict__.get("slug"), story.__dict__.get("status"))
        loaded = story.__dict__
        if (
            "body" in loaded
            and "body_plain" in loaded
            and (loaded["body_plain"] or not loaded["body"])
        ):
            # The row's words, made from its body when it was written (save(), the
            # importer): ``plain_text`` need not parse the HTML again while the body is
            # the one loaded (a story page's JSON-LD, description and word count read it).
            story._plain_text = (loaded["body"], loaded["body_plain"])
        return story

    def moved_from(self):
        """The slug a published story had before this save, if the slug is changing (asked
        by ``stories.editorial.saving`` before it saves)."""
        if self._state.adding:
            return None
        loaded = getattr(self, "_loaded_address", (None, None))
        if None in loaded:
            # Not loaded from the database as a whole (a restored revision, say): ask it.
            stored = Story.objects.filter(pk=self.pk).values_list("slug", "status").first()
            loaded = stored or (None, None)
        old_slug, old_status = loaded
        if old_slug and old_slug != self.slug and old_status == Story.Status.PUBLISHED:
            return old_slug
        return None

    def url_date(self, zone=None):
        """The local date in the story's address."""
        return address_date(self.published_at, self.created_at, zone)

    def is_live(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    is_live.boolean = True

    def is_scheduled(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at > timezone.now()
        )

    def editable_by(self, user):
        """Editors may change any story; reporters only their own drafts and stories in review.

        A story is a reporter's own when they created it or it carries their byline.
        """
        if not user.is_active or not user.has_perm("stories.change_story"):
            return False
        if user.has_perm("stories.publish_story"):
            return True
        if self.pk is None:
            return True
        if self.status not in (self.Status.DRAFT, self.Status.REVIEW):
            return False
        if self.created_by_id == user.pk:
            return True
        return self.story_bylines.filter(byline__user=user).exists()

    @property
    def responsive_lead_image(self):
        return self.lead_image.responsive("lead") if self.lead_image_id else None

    @property
    def responsive_card_image(self):
        """The lead image as a listing's card shows it: cropped 3:2 around its focal point."""
        return self._responsive_crop("card")

    @property
    def responsive_wide_image(self):
        """The lead image as a lead card shows it: cropped 16:9 around its focal point."""
        return self._responsive_crop("wide")

    def _responsive_crop(self, shape):
        if not self.lead_image_id:
            return None
        # An image whose crops are still being made shows whole rather than not at all.
        return self.lead_image.responsive(shape) or self.lead_image.responsive("lead")

    @property
    def public_updated_at(self):
        """The "Updated" time readers see: the last substantive change or correction.

        Uses prefetched corrections; None when nothing substantive happened after publication.
        """
        times = [self.revised_at, *(c.published_at for c in self.correction_list)]
        times = [t for t in times if t is not None]
        if not times or self.published_at is None:
            return None
        latest = max(times)
        return latest if latest > self.published_at else None

    @property
    def correction_marker(self):
        """What the date line calls the notes at the page's foot, linking to them:
        "Corrected" when one of them corrects the story, "Updated" when they only clarify,
        None when there are none."""
        kinds = {correction.kind for correction in self.correction_list}
        if Correction.Kind.CORRECTION in kinds:
            return "Corrected"
        return "Updated" if kinds else None

    @property
    def correction_list(self):
        """The story's corrections, oldest first: the plain list ``for_feed()`` or the story
        page read (``listed_corrections``), else from the database."""
        listed = getattr(self, "listed_corrections", None)
        return self.corrections.all() if listed is None else listed

    @property
    def plain_text(self):
        """The body's words (``richtext.body_text``), worked out from the body as it is now,
        saved or not (a preview of unsaved changes has no ``body_plain`` yet), once per body:
        the stored ``body_plain`` while the body is the one loaded with it."""
        loaded = self.__dict__
        if "body" not in loaded and self.pk is not None:
            # A row loaded without its body (``for_cards()``: a listing's lead card shows
            # its first paragraph) reads it now, with its stored words, in the one query the
            # body alone took: parsing the body's HTML again cost a listing's first page
            # 0.3 ms.
            self.refresh_from_db(fields=["body", "body_plain"])
            if loaded["body_plain"] or not loaded["body"]:
                self._plain_text = (loaded["body"], loaded["body_plain"])
        known = loaded.get("_plain_text")
        body = self.body
        if known is None or known[0] != body:
            known = self._plain_text = (body, richtext.body_text(body))
        return known[1]

    @property
    def paragraphs(self):
        """The body's paragraphs (subheads, quotes and list items too) as plain text."""
        return [part for part in self.plain_text.split("\n\n") if part]

    @property
    def body_html(self):
        """The body as the page shows it: sanitized again on the way out, so a row written
        around ``save()`` (straight to the database, an old backup) cannot carry a script."""
        return mark_safe(richtext.sanitize_body(self.body))  # sanitized just now

    @property
    def word_count(self):
        """Words of the body, counted once per body (the page's "min read" and its JSON-LD
        both ask)."""
        text = self.plain_text
        known = self.__dict__.get("_word_count")
        if known is None or known[0] is not text:
            known = self._word_count = (text, richtext.word_count(text))
        return known[1]

    @property
    def reading_minutes(self):
        return richtext.reading_minutes_for(self.word_count)

    @property
    def ordered_bylines(self):
        """Bylines in their printed order; uses the rows ``bylines_prefetch()`` read, when it
        did (``for_listing()``, ``for_feed()``, the admin's list, the cards rendered)."""
        story_bylines = getattr(self, "ordered_story_bylines", None)
        if story_bylines is None:
            story_bylines = self.story_bylines.all()
        return [story_byline.byline for story_byline in story_bylines]

    @property
    def sorted_tags(self):
        """Tags by name; sorted here because taggit's prefetch takes no custom ordering.
        Uses the rows ``for_listing()`` or ``for_feed()`` prefetched."""
        tagged_items = getattr(self, "listed_tagged_items", None)
        tags = self.tags.all() if tagged_items is None else [item.tag for item in tagged_items]
        # A tag stored without a slug (taggit makes "" from "!!!") has no address to link.
        return sorted((tag for tag in tags if tag.slug), key=lambda tag: tag.name.casefold())


class StoryByline(models.Model):
    # Found by story through unique_story_byline, whose first column it is: an index of
    # its own would only be one more to write for every byline of every story imported.
    story = models.ForeignKey(Story, models.CASCADE, related_name="story_bylines", db_index=False)
    byline = models.ForeignKey(Byline, models.CASCADE, related_name="story_bylines")
    position = models.PositiveSmallIntegerField(default=0)

    objects = ContentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "byline"
        constraints = [
            models.UniqueConstraint(fields=["story", "byline"], name="unique_story_byline"),
        ]

    def __str__(self):
        return f"{self.byline} on {self.story}"


class TaggedStory(TaggedItemBase):
    # Neither key has an index of its own: a story's tags are found through
    # unique_story_tag and a tag's stories through tagged_story_recent_idx, each led by
    # that key (migration 0032).
    content_object = models.ForeignKey(
        Story, models.CASCADE, related_name="tagged_items", db_index=False
    )
    tag = models.ForeignKey(
        Tag, models.CASCADE, related_name="%(app_label)s_%(class)s_items", db_index=False
    )

    # taggit gives every tagging a natural key but leaves its fields to each model; a backup
    # (dumpdata --natural-primary) names a tagging by its story and tag. The tag id is the
    # restored database's own by then: loaddata resolves the tag's name first.
    natural_key_fields = ["content_object_id", "tag_id"]

    objects = ContentQuerySet.as_manager()

    class Meta:
        verbose_name = "tagged story"
        verbose_name_plural = "tagged stories"
        constraints = [
            models.UniqueConstraint(fields=["content_object", "tag"], name="unique_story_tag"),
        ]
        # A tag's most recently tagged stories, read a few at a time without sorting the
        # tag's whole list: the story page's "Related" (stories.reader.related).
        indexes = [models.Index(fields=["tag", "-content_object"], name="tagged_story_recent_idx")]


def keep_as_tombstone(collector, field, sub_objs, using):
    """``on_delete`` of an import record's story: the record outlives the story, with no
    story and the time it was deleted, so a re-import of its briefing does not bring back
    a story the newsroom deleted (``stories.importer.plan``). Runs on every ORM delete:
    the admin's delete page and bulk action, ``Story.delete()``, ``QuerySet.delete()``."""
    # ``sub_objs`` has been read (no ``lazy_sub_objs``): both updates go by primary key,
    # so the second still finds the records after the first has cleared their story.
    collector.add_field_update(field.model._meta.get_field("deleted_at"), timezone.now(), sub_objs)
    collector.add_field_update(field, None, sub_objs)


@contextmanager
def deleting_stories(stories, user):
    """Deletes of ``stories`` (a queryset) in this block leave tombstones naming ``user``
    (``ImportRecord.deleted_by``), for the import's report; the admin's delete paths use it.
    ``keep_as_tombstone`` cannot: a delete does not know who asked for it."""
    with transaction.atomic():
        records = list(ImportRecord.objects.filter(story__in=stories).values_list("pk", flat=True))
        yield
        if records:
            ImportRecord.objects.filter(pk__in=records, story=None).update(deleted_by=user)


class ImportRecord(models.Model):
    """What the briefing importer last wrote to a story, so a re-import can tell
    "unchanged" from "corrected" from "edited by someone since" (a conflict).

    Once its story is deleted, a tombstone: ``story`` is empty and ``deleted_at`` says
    when, and re-importing the briefing leaves that story out (``import_briefing
    --restore-deleted`` brings it back)."""

    story = models.OneToOneField(
        Story, keep_as_tombstone, null=True, blank=True, related_name="import_record"
    )
    source = models.CharField(max_length=255, help_text="The briefing's file name.")
    headline = models.CharField(max_length=200, help_text="The headline as the briefing has it.")
    input_checksum = models.CharField(max_length=64)
    state_checksum = models.CharField(max_length=64)
    written_at = models.DateTimeField()
    deleted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the story was deleted in the newsroom: re-imports leave it out.",
    )
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="Who deleted the story in the admin (empty when code deleted it).",
    )
    # PostgreSQL only: its triggers (migration 0029) set it false on any write to what the
    # state checksum covers; the importer sets it true with the record. A re-import hashes
    # the stored state only of records not untouched. Always false on SQLite. Not in
    # backups: a restored record is not taken as untouched (the backup may come from SQLite,
    # or from stories edited with no trigger to say so), so its story is hashed in full.
    untouched = models.BooleanField(
        default=False,
        db_default=False,
        serialize=False,
        help_text="PostgreSQL: nothing the state checksum covers was written since "
        "the importer wrote this record (kept by triggers, migration 0029).",
    )

    class Meta:
        constraints = [
            # Two imports of one briefing racing each other must not both create a story.
            models.UniqueConstraint(fields=["source", "headline"], name="unique_import_story"),
        ]

    def __str__(self):
        return f"{self.source}: {self.headline}"


class Correction(models.Model):
    """A note printed at the foot of a story. Append-only: once saved it is never changed."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        CLARIFICATION = "clarification", "Clarification"

    story = models.ForeignKey(Story, models.CASCADE, related_name="corrections")
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.CORRECTION)
    text = models.TextField(
        validators=[multiline_text],
        help_text="What was wrong, and what is right. Shown to readers.",
    )
    published_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, editable=False
    )

    objects = ContentQuerySet.as_manager()

    class Meta:
        ordering = ["published_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.story_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Corrections are append-only; add a new one instead.")
        super().save(*args, **kwargs)


class StorySlugRedirect(models.Model):
    """A slug a published story used to have; its old addresses redirect to the story."""

    slug = models.SlugField(max_length=200, unique=True, allow_unicode=True)
    story = models.ForeignKey(Story, models.CASCADE, related_name="slug_redirects")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.slug} → {self.story_id}"


def default_preview_expiry():
    return timezone.now() + timedelta(hours=settings.PREVIEW_LINK_HOURS)


def new_preview_key():
    return secrets.token_urlsafe(24)


class PreviewLink(models.Model):
    """An address that shows one unpublished story, read-only, to anyone who has it.

    The address carries a random key signed with the site's secret: it names no story or
    link id, and the key stored here is no address without the secret.
    """

    SALT = "stories.preview-link"

    story = models.ForeignKey(Story, models.CASCADE, related_name="preview_links")
    key = models.CharField(max_length=32, unique=True, default=new_preview_key, editable=False)
    expires_at = models.DateTimeField(
        default=default_preview_expiry, help_text="The link stops working at this time."
    )
    is_revoked = models.BooleanField(
        "revoked",
        default=False,
        help_text="Tick to stop the link working now. Revoking is final.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Preview link for {self.story_id}"

    def save(self, *args, **kwargs):
        if not self.is_revoked and not self._state.adding:
            if PreviewLink.objects.filter(pk=self.pk, is_revoked=True).exists():
                raise ValueError("A revoked preview link stays revoked; make a new one.")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("stories:shared_preview", args=[self.signer().sign(self.key)])

    def is_usable(self):
        return not self.is_revoked and self.expires_at > timezone.now()

    @classmethod
    def signer(cls):
        return signing.Signer(salt=cls.SALT, sep=".")

    @classmethod
    def from_token(cls, token):
        """The link a token names, usable or not; None for a forged or unknown token."""
        try:
            key = cls.signer().unsign(token)
        except signing.BadSignature:
            return None
        return cls.objects.filter(key=key).first()


def live_tags():
    """Tags that label at least one live story: the only ones readers may see.

    A tag that only drafts or scheduled stories carry is often the news itself ("Merger
    talks"); its page, feed or mere existence would give an embargoed story away.
    """
    return Tag.objects.exclude(slug="").filter(
        Exists(
            TaggedStory.objects.filter(is_live_condition("content_object__"), tag=OuterRef("pk"))
        )
    )


def live_sections():
    """Sections with at least one live story: the only ones readers may see (in the menu,
    at their address, in feeds and sitemaps). A section made for stories still in the
    works (a new desk, an event) would otherwise give them away."""
    return Section.objects.filter(Exists(Story.objects.live().filter(section=OuterRef("pk"))))


def live_bylines():
    """Bylines with at least one live story: the only ones readers may see. A byline only
    unpublished stories carry (a new hire, a guest writer, a name an importer made) is
    nobody's business yet."""
    return Byline.objects.select_related("photo").filter(
        Exists(StoryByline.objects.filter(is_live_condition("story__"), byline=OuterRef("pk")))
    )


class ListingChange(models.Model):
    """When a section's, tag's or byline's live stories last changed, kept up to date on
    write (``stories.listings``), so a sitemap lists a million stories' listings without
    reading their stories. ``changed_at`` is empty while the listing has no live story.
    ``live_count`` is its pages' count, kept until the listing next changes, so a page does
    not count a million stories for its "Page N of M"."""

    class Kind(models.TextChoices):
        SECTION = "section", "Section"
        TAG = "tag", "Tag"
        BYLINE = "byline", "Byline"

    kind = models.CharField(max_length=7, choices=Kind)
    listing_id = models.BigIntegerField()
    changed_at = models.DateTimeField(
        null=True, help_text="The latest save or publication among its live stories."
    )
    next_live_at = models.DateTimeField(
        null=True, help_text="When its next scheduled story goes live: the row is due then."
    )
    live_count = models.PositiveIntegerField(
        null=True,
        help_text='How many live stories it lists, as its pages print it ("Page N of M"); '
        "empty on rows from before counts were kept.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "listing_id"], name="unique_listing_change")
        ]

    def __str__(self):
        return f"{self.kind} {self.listing_id}"


class ListingChangeNote(models.Model):
    """What a write did to a listing, left for the next reader of the sitemaps to apply to
    its ``ListingChange`` (``stories.listings``): writers only add notes, so a long import
    and an editor's save never wait on each other for a listing's row."""

    kind = models.CharField(max_length=7)  # a ListingChange kind, or "all"
    listing_id = models.BigIntegerField()
    changed_at = models.DateTimeField(null=True)
    next_live_at = models.DateTimeField(null=True)
    stale = models.BooleanField(
        default=False, help_text="The listing lost a story: work its row out again."
    )
    moves_count = models.BooleanField(
        default=True,
        help_text="The write may have changed how many live stories the listing has (an "
        "edit of a live story that stays in it does not).",
    )

    def __str__(self):
        return f"{self.kind} {self.listing_id}"


class SitePage(models.Model):
    """A page about the site itself (About, Contact, the corrections policy), linked from
    every page's footer and written by editors in the desk. Its body is HTML from the same
    allowlist as a story's (``stories.richtext.sanitize_body``), sanitized when saved and
    again when shown."""

    title = models.CharField(max_length=100, validators=[single_line_text])
    slug = models.SlugField(
        max_length=100,
        unique=True,
        allow_unicode=True,
        help_text="The last part of the page's address: /pages/about/ for about. Changing it "
        "breaks links to the old address.",
    )
    summary = models.CharField(
        max_length=300,
        blank=True,
        validators=[single_line_text],
        help_text="A sentence for search engines and link previews.",
    )
    body = models.TextField(blank=True, validators=[multiline_text])
    position = models.PositiveIntegerField(
        default=0, help_text="Order in the site's footer: lower numbers come first."
    )
    in_footer = models.BooleanField(
        "listed in the footer",
        default=True,
        help_text="Uncheck to keep the page at its address without a link in the footer.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    # Named by slug in backups: a restore into a fresh database, whose migration made the
    # starter pages, replaces them rather than clashing with them.
    objects = SlugNaturalKeyManager()

    class Meta:
        ordering = ["position", "title"]
        verbose_name = "site page"

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.body = richtext.sanitize_body(self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("stories:page", args=[self.slug])

    def natural_key(self):
        return (self.slug,)

    @property
    def body_html(self):
        """Sanitized again on the way out, as ``Story.body_html``: a row written around
        ``save()`` cannot carry a script either."""
        return mark_safe(richtext.sanitize_body(self.body))  # sanitized just now

    @property
    def body_text(self):
        """The body's words, for meta descriptions."""
        return richtext.body_text(self.body)


class TagSlugRedirect(models.Model):
    """The address of a tag merged into another: it redirects to the tag kept."""

    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    tag = models.ForeignKey("taggit.Tag", models.CASCADE, related_name="slug_redirects")

    def __str__(self):
        return f"{self.slug} → {self.tag_id}"


class DatabaseIdentity(models.Model):
    """One row naming this database, made by its migration: every cache key is scoped to it
    (``stories.delivery.generation.database_scope``), so two sites sharing a cache, or a
    database restored from a backup (which leaves this table out), never see each other's
    cached pages."""

    token = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        verbose_name_plural = "database identity"

    def __str__(self):
        return str(self.token)


# The image library (issue 13) ---------------------------------------------------------------


class ImageQuerySet(ContentQuerySet):
    def used_publicly(self):
        """Images readers may see: the lead image of a live story, or the photo of a byline
        with a live story. An image only drafts, scheduled or unpublished stories use stays
        private, however many of them share it."""
        return self.filter(
            Exists(Story.objects.live().filter(lead_image=OuterRef("pk")))
            | Exists(
                StoryByline.objects.filter(
                    is_live_condition("story__"), byline__photo=OuterRef("pk")
                )
            )
        )


class Image(models.Model):
    """A picture in the newsroom's library: one upload, described once, used by any number
    of stories (as their lead image) and bylines (as the photo).

    Renditions are WebP files made once, when the image is uploaded or its focal point
    moves (``stories.images.refresh_library_image``, called by the editorial save), for
    each named shape in ``stories.images.SHAPE_RATIOS``, cropped around the focal point.
    They are described in ``renditions``, a JSON field on the row rather than a table of
    their own: a page that shows the image has its ``srcset`` from the row it already
    selected, with no query per image, and the set is always replaced as a whole.
    """

    file = CheckedImageField(
        "image",
        upload_to=library_image_name,
        help_text="JPEG, PNG, WebP or GIF. Resized and cropped copies are made once, on save.",
    )
    alt = models.CharField(
        "alt text",
        max_length=300,
        validators=[single_line_text],
        help_text="What the image shows, for readers who cannot see it.",
    )
    caption = models.CharField(max_length=300, blank=True, validators=[single_line_text])
    credit = models.CharField(
        max_length=200,
        blank=True,
        validators=[single_line_text],
        help_text="Photographer and agency, as printed.",
    )
    focal_x = models.FloatField(
        "focal point (across)",
        default=CENTRE[0],
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="0 is the left edge, 1 the right. Crops keep this point in view.",
    )
    focal_y = models.FloatField(
        "focal point (down)",
        default=CENTRE[1],
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="0 is the top edge, 1 the bottom.",
    )
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    renditions = models.JSONField(default=dict, blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="uploaded_images",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("change_any_image", "Can change and delete anyone's images")]
        constraints = [
            models.CheckConstraint(
                condition=Q(focal_x__gte=0, focal_x__lte=1, focal_y__gte=0, focal_y__lte=1),
                name="image_focal_point_inside",
                violation_error_message="The focal point must lie inside the image.",
            ),
        ]
        # The media view finds a file's image by its name.
        indexes = [models.Index(fields=["file"], name="image_file_idx")]

    def __str__(self):
        return self.alt[:80] or self.file.name

    @classmethod
    def from_db(cls, db, field_names, values):
        image = super().from_db(db, field_names, values)
        # What the row held when loaded, so a save can tell which files it replaced.
        image._loaded_image = loaded_library_image(image)
        return image

    def clean(self):
        super().clean()
        if not self.alt.strip():
            raise ValidationError({"alt": "Describe the image for readers who cannot see it."})

    def renditions_for(self, shape):
        """The renditions of ``shape`` ("lead", "card", "wide", "og"), narrowest first."""
        if shape not in SHAPE_RATIOS:
            raise ValueError(f"No rendition shape is called {shape!r}.")
        made = (self.renditions or {}).get("shapes", {}).get(shape, [])
        return sorted(made, key=lambda rendition: rendition["width"])

    def rendition(self, shape, width=None):
        """The narrowest rendition of ``shape`` at least ``width`` wide (the widest made if
        none is, or if no width is asked), as ``{"url", "width", "height"}``; None if the
        image has none of that shape."""
        made = self.renditions_for(shape)
        if not made:
            return None
        chosen = next((r for r in made if width is not None and r["width"] >= width), made[-1])
        return {
            "url": default_storage.url(chosen["name"]),
            "width": chosen["width"],
            "height": chosen["height"],
        }

    def responsive(self, shape):
        """src, srcset, width and height of ``shape`` for an ``<img>``; None if none made."""
        return responsive_image(self.renditions_for(shape))

    def srcset(self, shape):
        responsive = self.responsive(shape)
        return responsive.srcset if responsive else ""

    def rendition_list(self):
        """Every rendition as ``{"shape", "url", "width", "height"}``, shape by shape,
        narrowest first: what an API or a feed describing the image needs."""
        return [
            {"shape": shape, "url": default_storage.url(r["name"]), **_size(r)}
            for shape in SHAPE_RATIOS
            for r in self.renditions_for(shape)
        ]

    def is_public(self):
        return Image.objects.used_publicly().filter(pk=self.pk).exists()

    def editable_by(self, user):
        """Editors change any image; others (reporters) only their own, and only while no
        published story shows it: a live page's picture is an editor's decision."""
        if not user.is_active or not user.has_perm("stories.change_image"):
            return False
        if user.has_perm("stories.change_any_image"):
            return True
        if self.pk is None:
            return True
        return (
            self.uploaded_by_id == user.pk
            and not self.lead_of_stories.filter(status=Story.Status.PUBLISHED).exists()
            and not self.photo_of_bylines.exists()
        )


def _size(rendition):
    return {"width": rendition["width"], "height": rendition["height"]}


# --- Live editing: private working copies of unsaved edits, and who has a story open -----
# (stories.editorial.live). Neither is content readers see: plain managers, so writing them
# (every few seconds while someone types) starts no new content generation.

# Someone whose editing page has not been heard from for this long has left it.
PRESENCE_WINDOW = timedelta(minutes=1)
# A working copy nobody has touched for this long is forgotten (a month-old draft of a story
# saved many times since helps nobody).
WORKING_COPY_DAYS = 30
# Copies of stories not saved yet (each "Add story" page is one) kept per user.
NEW_STORY_COPIES = 5


class WorkingCopyQuerySet(models.QuerySet):
    def of(self, user, story=None, draft_key=""):
        """The user's copy of ``story``, or of the new story ``draft_key`` names."""
        if story is not None:
            return self.filter(user=user, story=story)
        return self.filter(user=user, story__isnull=True, draft_key=draft_key)

    def keep(self, user, story, draft_key, data, base_version):
        """Store ``user``'s copy of ``story`` (or of the new story ``draft_key`` names),
        replacing the one before; forget their copies untouched for WORKING_COPY_DAYS."""
        now = timezone.now()
        self.filter(user=user, saved_at__lt=now - timedelta(days=WORKING_COPY_DAYS)).delete()
        names = {"story": story} if story is not None else {"story": None, "draft_key": draft_key}
        copy, _ = self.update_or_create(
            user=user,
            **names,
            defaults={"data": data, "saved_at": now, "base_version": base_version},
        )
        if story is None:
            # Every "Add story" page names a new draft: keep the newest few, so that one
            # account cannot fill the disk with copies of stories it never saves.
            newest = self.filter(user=user, story__isnull=True).order_by("-saved_at", "-pk")
            kept = newest.values_list("pk", flat=True)[:NEW_STORY_COPIES]
            self.filter(user=user, story__isnull=True).exclude(pk__in=list(kept)).delete()
        return copy


class WorkingCopy(models.Model):
    """What one user had typed into a story's form and not saved, kept by the change form's
    autosave so a closed tab or a crashed browser loses seconds, not an afternoon.

    Private to its user, never the story: it is applied only when its user restores it into
    the form and saves. A new story has no row yet; its copy is named by the ``draft_key``
    its add form carries."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="working_copies"
    )
    story = models.ForeignKey(
        Story, models.CASCADE, null=True, blank=True, related_name="working_copies"
    )
    draft_key = models.CharField(
        max_length=64, blank=True, help_text="Names the copy of a story not saved yet."
    )
    data = models.JSONField(help_text="The form's fields as typed (text, and ids of relations).")
    base_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The story's version the edits were made on."
    )
    saved_at = models.DateTimeField()

    objects = WorkingCopyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "working copies"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "story"],
                condition=Q(story__isnull=False),
                name="one_working_copy_per_story",
            ),
            models.UniqueConstraint(
                fields=["user", "draft_key"],
                condition=Q(story__isnull=True),
                name="one_working_copy_per_draft",
            ),
            models.CheckConstraint(
                condition=Q(story__isnull=False) | ~Q(draft_key=""),
                name="working_copy_names_its_story",
            ),
        ]

    def __str__(self):
        return f"{self.user}'s working copy of {self.story_id or self.draft_key}"

    def is_stale(self, story):
        """Made on an older version than ``story``'s: someone has saved it since."""
        return self.base_version is not None and self.base_version < story.version


class EditingPresenceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(last_seen__gte=timezone.now() - PRESENCE_WINDOW)

    def record(self, user, story):
        """``user`` has ``story``'s page open now; ``since`` moves only after an absence."""
        now = timezone.now()
        fresh = self.filter(user=user, story=story, last_seen__gte=now - PRESENCE_WINDOW)
        if not fresh.update(last_seen=now):
            self.update_or_create(user=user, story=story, defaults={"since": now, "last_seen": now})
        # Rows of pages closed without a word (a crash) only take space once stale.
        self.filter(last_seen__lt=now - timedelta(days=1)).delete()


class EditingPresence(models.Model):
    """Someone has a story's editing page open: its heartbeat moves ``last_seen``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="editing_presences"
    )
    story = models.ForeignKey(Story, models.CASCADE, related_name="editing_presences")
    since = models.DateTimeField(help_text="When this stretch of editing began.")
    last_seen = models.DateTimeField(db_index=True)

    objects = EditingPresenceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "story"], name="one_presence_per_editor"),
        ]

    def __str__(self):
        return f"{self.user} on {self.story_id}"


# The desk (issue 13): what the workflow buttons and the importer leave for the desk page.


class ReturnNote(models.Model):
    """An editor's note sending a story in review back to its reporter: who, when, what to
    change. Open until the story is sent to review again or published; the desk's "Returned
    to me" panel and the reporter's e-mail quote it. Staff only: never shown to readers."""

    story = models.ForeignKey(Story, models.CASCADE, related_name="return_notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    # Typed in the story form's "Note to the reporter" (which checks it as it does every
    # field), then never edited: the reporter's e-mail quoted it.
    text = models.TextField(validators=[multiline_text], editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the story went back to review or was published.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["story", "resolved_at"], name="return_note_open_idx")]

    def __str__(self):
        return f"Returned “{self.story}”: {self.text[:60]}"


class ImportConflict(models.Model):
    """A story the last import of its briefing left alone because someone changed it since
    the importer wrote it (``stories.importer.report.Action.CONFLICT``). Written by the
    importer's writer and cleared when an import of that file no longer conflicts."""

    story = models.OneToOneField(Story, models.CASCADE, related_name="import_conflict")
    source = models.CharField(max_length=255, help_text="The briefing's file name.")
    reason = models.CharField(max_length=300)
    found_at = models.DateTimeField()

    class Meta:
        ordering = ["-found_at", "-pk"]

    def __str__(self):
        return f"{self.source}: {self.story} ({self.reason})"


# --- The read API's keys (stories/api/) -------------------------------------------------


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A partner's key to the read API (``Authorization: Bearer <key>``).

    Only a SHA-256 hash of the key is stored: the key is shown once, when it is made
    (``ApiKey.issue``), and cannot be recovered, only revoked and replaced. The prefix, the
    key's first characters, finds its row and names it in logs and in the admin.
    """

    class Scope(models.TextChoices):
        EMBARGO = "embargo", "Embargo: also reads scheduled stories before they go live"

    KEY_START = "nrk_"  # so a leaked key is recognisable (secret scanners, logs)
    PREFIX_BYTES = 6  # 12 hex digits: names the key; the secret part is 32 random bytes

    name = models.CharField(
        max_length=100,
        validators=[single_line_text],
        help_text="Who uses the key, for example the partner and their app.",
    )
    prefix = models.CharField(max_length=20, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(
        default=list,
        blank=True,
        help_text="What the key may read besides the live stories everyone sees.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_api_keys",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API key"
        permissions = [("revoke_apikey", "Can revoke API keys")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def clean(self):
        super().clean()
        unknown = set(self.scopes or []) - set(ApiKey.Scope.values)
        if not isinstance(self.scopes, list) or unknown:
            raise ValidationError({"scopes": f"Unknown scope: {', '.join(sorted(unknown))}."})

    @staticmethod
    def hash_key(key):
        return hashlib.sha256(key.encode()).hexdigest()

    def new_key(self):
        """Gives this (unsaved) key its secret and returns it: the one time it is known."""
        self.prefix = self.KEY_START + secrets.token_hex(self.PREFIX_BYTES)
        key = f"{self.prefix}_{secrets.token_urlsafe(32)}"
        self.key_hash = self.hash_key(key)
        return key

    @classmethod
    def issue(cls, name, *, scopes=(), created_by=None):
        """A new key, saved: returns ``(api_key, key)``; the key itself is never stored."""
        api_key = cls(name=name, scopes=sorted(set(scopes)), created_by=created_by)
        key = api_key.new_key()
        api_key.full_clean(exclude=["prefix", "key_hash", "created_by"])
        api_key.save()
        return api_key, key

    @classmethod
    def prefix_of(cls, key):
        """The prefix of a key written as issued (``nrk_<hex>_<secret>``; the secret may
        itself hold "_"), or None."""
        if not (key or "").startswith(cls.KEY_START):
            return None
        hex_part, _, secret = key.removeprefix(cls.KEY_START).partition("_")
        if not hex_part or not secret:
            return None
        return cls.KEY_START + hex_part

    @classmethod
    def from_key(cls, key):
        """The active key ``key`` is, or None (unknown, mistyped or revoked)."""
        prefix = cls.prefix_of(key)
        if prefix is None:
            return None
        api_key = cls.objects.active().filter(prefix=prefix).first()
        if api_key is None or not hmac.compare_digest(api_key.key_hash, cls.hash_key(key)):
            return None
        return api_key

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def has_scope(self, scope):
        return scope in (self.scopes or [])

    def revoke(self):
        """Stops the key working now. Final: a revoked key is never made usable again."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=self.revoked_at
            )

    def note_use(self, now=None):
        """Records when the key was last used, at most once every few minutes: a write on
        every request would cost partners' busiest clients a row lock each."""
        now = now or timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=5):
            self.last_used_at = now
            ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)


# Webhooks (stories.webhooks): who is told when a story goes live, changes or comes down,
# what was sent to them, and what they were last told about each story.


class WebhookSubscriber(models.Model):
    """A partner's system that is sent a signed POST for each story event it asked for."""

    class Event(models.TextChoices):
        PUBLISHED = "story.published", "Story published (or a scheduled story went live)"
        UPDATED = "story.updated", "Live story substantively updated"
        CORRECTED = "story.corrected", "Correction added to a live story"
        UNPUBLISHED = "story.unpublished", "Story unpublished"

    name = models.CharField(max_length=100, validators=[single_line_text])
    url = models.URLField(
        "URL",
        max_length=500,
        validators=[single_line_text],
        help_text="Where events are POSTed: http or https, on a public address.",
    )
    secret = models.CharField(
        max_length=200,
        validators=[single_line_text],
        help_text="Signs each request (HMAC-SHA256) so the receiver can tell it came from us.",
    )
    events = models.JSONField(default=list, help_text="The events this subscriber is sent.")
    is_active = models.BooleanField(
        "active", default=True, help_text="Untick to stop sending events to this subscriber."
    )
    paused_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Set when deliveries failed for a day; resume it once the receiver is fixed.",
    )
    pause_reason = models.CharField(max_length=300, blank=True, editable=False)
    failing_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The first failed delivery since the last one that succeeded.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def is_sending(self):
        return self.is_active and self.paused_at is None

    is_sending.boolean = True

    def wants(self, event):
        return event in self.events


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscriber: the exact body, and how it went.

    Deliveries of one story to one subscriber go out in the order they were made."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (not retried)"

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscriber = models.ForeignKey(
        WebhookSubscriber, models.CASCADE, related_name="deliveries", editable=False
    )
    event = models.CharField(max_length=30, choices=WebhookSubscriber.Event, editable=False)
    story = models.ForeignKey(
        Story,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
        editable=False,
    )
    # The story's id even after the story is deleted: one story's events go out in order.
    story_pk = models.PositiveBigIntegerField(editable=False)
    payload = models.TextField(editable=False, help_text="The JSON body, byte for byte.")
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, editable=False)
    next_attempt_at = models.DateTimeField(default=timezone.now, editable=False)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    last_error = models.CharField(
        max_length=500, blank=True, editable=False, help_text="The start of the response body."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
            models.Index(fields=["subscriber", "story_pk", "status"], name="webhook_order_idx"),
        ]

    def __str__(self):
        return f"{self.event} to {self.subscriber_id} ({self.delivery_id})"


class WebhookStoryState(models.Model):
    """What subscribers were last told about a story, so each event is sent exactly once
    whichever write path (an edit, an import, a go-live time passing) caused it."""

    # Not a foreign key: it outlives the story, whose deletion is sent as story.unpublished.
    story_pk = models.PositiveBigIntegerField(unique=True)
    is_live = models.BooleanField(default=False)
    # The story's last substantive change (its public update time or its last import) and
    # its last correction, as announced.
    changed_at = models.DateTimeField(null=True, blank=True)
    correction_pk = models.PositiveBigIntegerField(default=0)
    uri = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"Story {self.story_pk}: {'live' if self.is_live else 'not live'}"


class WebhookWorker(models.Model):
    """One row: when the webhook worker last ran (``/healthz``) and last looked for events."""

    heartbeat_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Webhook worker, last seen {self.heartbeat_at}"


# --- Editorial notes (the desk's internal comments) --------------------------------------------


class StoryNote(models.Model):
    """A comment staff leave on a story for each other ("check the figure with the ministry").

    Never shown to readers, and not part of the story: adding one makes no revision, moves no
    version and starts no new content generation (``stories.delivery.generation`` does not
    listen to this model), so no reader page is rendered again for it.
    """

    MAX_LENGTH = 2000

    story = models.ForeignKey(Story, models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="story_notes",
        editable=False,
    )
    text = models.TextField(max_length=MAX_LENGTH, validators=[multiline_text])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "editorial note"

    def __str__(self):
        return f"Note on {self.story_id} by {self.author_id}"

    @staticmethod
    def readable_by(user, story):
        """Staff who may edit the story read its notes: editors all, reporters their own
        stories' (``Story.editable_by``)."""
        return (
            user.is_active
            and user.is_staff
            and user.has_perm("stories.view_storynote")
            and story.editable_by(user)
        )

    @staticmethod
    def addable_by(user, story):
        return StoryNote.readable_by(user, story) and user.has_perm("stories.add_storynote")


# --- The front page (issue 14): what leads, as editors choose it ------------------------------


def pinnable_stories():
    """Stories an editor may pin: published, live or scheduled. A scheduled one shows from
    its time on (``StoryQuerySet.live()``); drafts, stories in review and unpublished ones
    cannot be chosen."""
    return Q(status=Story.Status.PUBLISHED)


class FrontPage(models.Model):
    """The desk's one screen for what leads the site: the home page's lead and top stories
    (``FrontPagePin``) and each section's top story (``SectionTopStory``) are its inlines.
    One row, made by its migration; readers' pages read the pins, never this row."""

    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = "front page"
        verbose_name_plural = "front page"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="one_front_page")]

    def __str__(self):
        return "Front page"

    @classmethod
    def load(cls):
        # get_or_create: a test run's flush empties the table the migration filled.
        return cls.objects.get_or_create(pk=1)[0]


class FrontPagePin(models.Model):
    """A story editors pinned on the home page. The first live one leads, the others follow
    as top stories in their order; places left (``FRONT_PAGE_TOP_STORIES``) go to the newest
    live stories. A pin whose story is not live is kept but not shown, so a scheduled story
    appears in its place when its time comes, and an unpublished one is gone at once."""

    front_page = models.ForeignKey(FrontPage, models.CASCADE, related_name="pins", editable=False)
    story = models.ForeignKey(
        Story,
        models.CASCADE,
        related_name="front_page_pins",
        limit_choices_to=pinnable_stories,
        help_text="A published story: live, or scheduled (it shows from its time on).",
    )
    position = models.PositiveSmallIntegerField(
        "order", default=0, help_text="Lower numbers come first; the first live story leads."
    )

    # Its bulk writes announce themselves: what leads is content readers see.
    objects = ContentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "home page story"
        constraints = [
            models.UniqueConstraint(
                fields=["front_page", "story"],
                name="story_pinned_on_home_once",
                violation_error_message="This story is already on the home page.",
            )
        ]

    def __str__(self):
        return f"Home page, {self.position}: story {self.story_id}"


class SectionTopStory(models.Model):
    """The story editors chose to lead a section's page (else its newest live story leads).
    Kept, but not shown, while the story is not live or after it moves to another section."""

    front_page = models.ForeignKey(
        FrontPage, models.CASCADE, related_name="section_top_stories", editable=False
    )
    section = models.OneToOneField(Section, models.CASCADE, related_name="top_story_pin")
    story = models.ForeignKey(
        Story,
        models.CASCADE,
        related_name="section_top_pins",
        limit_choices_to=pinnable_stories,
        help_text="A published story of this section: live, or scheduled.",
    )

    objects = ContentQuerySet.as_manager()

    class Meta:
        ordering = ["section__position", "section__name"]
        verbose_name = "section top story"
        verbose_name_plural = "section top stories"

    def __str__(self):
        return f"Top of section {self.section_id}: story {self.story_id}"

    def clean(self):
        super().clean()
        if self.section_id and self.story_id and self.story.section_id != self.section_id:
            raise ValidationError(
                {"story": f"“{self.story}” is in {self.story.section}, not {self.section}."}
            )
