"""The newsroom's content: sections, bylines, stories, and what the importer remembers."""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase

from . import richtext
from .changes import announce
from .fasturls import fast_reverse, url_formatter
from .images import (
    CheckedImageField,
    byline_photo_name,
    loaded_image,
    responsive_image,
    story_image_name,
)
from .slugs import unique_slug
from .text import multiline_text, single_line_text


class ContentQuerySet(models.QuerySet):
    """The queryset of every model readers see: its bulk writes, which send no model signals,
    announce themselves (``stories.changes``), so no write path can forget to start a new
    content generation. Saves and deletes of single rows send Django's signals as usual.

    ``bulk_update()`` writes through ``update()``, so it announces too.
    """

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            announce(self.model)
        return created

    def update(self, **kwargs):
        rows = super().update(**kwargs)
        if rows:
            announce(self.model)
        return rows

    def delete(self):
        deleted, by_model = super().delete()
        if deleted:
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
    photo = CheckedImageField(
        upload_to=byline_photo_name,
        blank=True,
        help_text="A head shot: JPEG, PNG, WebP or GIF.",
    )
    photo_renditions = models.JSONField(default=list, blank=True, editable=False)

    objects = SlugNaturalKeyManager()

    class Meta:
        ordering = ["name"]
        # The media view finds a file's byline by its name.
        indexes = [models.Index(fields=["photo"], name="byline_photo_idx")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # The photo's renditions are made by the editorial save (stories.editorial.saving).
        if not self.slug:
            self.slug = unique_slug(Byline, self.name, max_length=100, exclude_pk=self.pk)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return fast_reverse("stories:byline", self.slug)

    def natural_key(self):
        return (self.slug,)

    @property
    def responsive_photo(self):
        return responsive_image(self.photo_renditions) if self.photo else None


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


def bylines_prefetch():
    """The one prefetch of a story's bylines: its byline rows in printed order
    (``StoryByline.Meta.ordering``) with their bylines, in a plain list that
    ``Story.ordered_bylines`` reads. For a queryset, ``StoryQuerySet.with_bylines()``; for
    stories already read, ``prefetch_related_objects(stories, bylines_prefetch())``."""
    return Prefetch(
        "story_bylines",
        queryset=StoryByline.objects.select_related("byline"),
        to_attr="ordered_story_bylines",
    )


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
        return self.select_related("section").with_bylines().prefetch_related("tags")

    def for_cards(self):
        """What a story card on a listing page renders (section, date), cheaply: no body,
        no tags. Bylines are read by ``stories.delivery.fragments.story_cards`` into a plain
        list, and only for cards it has to render, not cached ones."""
        return self.select_related("section").defer("body", "body_plain")

    def for_feed(self):
        """Everything a feed entry renders (bylines, tags, corrections), in the same number
        of queries as ``for_listing()`` but held in plain lists: Django builds a related
        manager and a filtered queryset per story for each prefetch held in a manager,
        which was half a feed's server time."""
        return (
            self.select_related("section")
            .with_bylines()
            .prefetch_related(
                Prefetch(
                    "tagged_items",
                    queryset=TaggedStory.objects.select_related("tag"),
                    to_attr="listed_tagged_items",
                ),
                Prefetch("corrections", to_attr="listed_corrections"),
            )
        )

    def in_section(self, section):
        return self.filter(section=section)

    def by_byline(self, byline):
        return self.filter(story_bylines__byline=byline)

    def tagged(self, tag):
        return self.filter(tagged_items__tag=tag)


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
    section = models.ForeignKey(Section, models.PROTECT, related_name="stories")
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
    lead_image = CheckedImageField(
        upload_to=story_image_name,
        blank=True,
        help_text="JPEG, PNG, WebP or GIF. Resized copies are made once, when it is saved.",
    )
    lead_image_alt = models.CharField(
        "alt text",
        max_length=300,
        blank=True,
        validators=[single_line_text],
        help_text="What the image shows, for readers who cannot see it. Required with an image.",
    )
    lead_image_caption = models.CharField(
        "caption", max_length=300, blank=True, validators=[single_line_text]
    )
    lead_image_credit = models.CharField(
        "credit", max_length=200, blank=True, validators=[single_line_text]
    )
    lead_image_renditions = models.JSONField(default=list, blank=True, editable=False)
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
    # passes the edit check; the renditions follow the restored image. The plain body is
    # made from the body on every save, so a revision needs only the body.
    history = HistoricalRecords(
        excluded_fields=["version", "body_plain"], bases=[RevisionRelations]
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
        indexes = [
            models.Index(fields=["status", "-published_at"], name="story_live_idx"),
            models.Index(
                fields=["section", "status", "-published_at"], name="story_section_live_idx"
            ),
            # The media view finds a file's story by its name.
            models.Index(fields=["lead_image"], name="story_lead_image_idx"),
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
    def absolute_urls(stories):
        """``get_absolute_url()`` of many stories (an import reports 10,000), with the URL
        template and the time zone looked up once rather than per story.

        Anything with a story's ``slug``, ``published_at`` and ``created_at`` will do: the
        importer reports stories it read as plain values, not models.
        """
        url = url_formatter("stories:detail", 4)
        zone = timezone.get_current_timezone()
        days = (address_date(story.published_at, story.created_at, zone) for story in stories)
        return [
            url(day.year, f"{day.month:02}", f"{day.day:02}", story.slug)
            for story, day in zip(stories, days, strict=True)
        ]

    def clean(self):
        super().clean()
        if self.lead_image and not self.lead_image_alt.strip():
            raise ValidationError(
                {"lead_image_alt": "Describe the image for readers who cannot see it."}
            )

    @classmethod
    def from_db(cls, db, field_names, values):
        story = super().from_db(db, field_names, values)
        # What the row held when loaded, so save() can tell whether the address moved.
        story._loaded_address = (story.__dict__.get("slug"), story.__dict__.get("status"))
        story._loaded_image = loaded_image(story, "lead_image", "lead_image_renditions")
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
        return responsive_image(self.lead_image_renditions) if self.lead_image else None

    @property
    def public_updated_at(self):
        """The "Updated" time readers see: the last substantive change or correction.

        Uses prefetched corrections; None when nothing substantive happened after publication.
        """
        corrections = getattr(self, "listed_corrections", None)
        if corrections is None:
            corrections = self.corrections.all()
        times = [self.revised_at, *(c.published_at for c in corrections)]
        times = [t for t in times if t is not None]
        if not times or self.published_at is None:
            return None
        latest = max(times)
        return latest if latest > self.published_at else None

    @property
    def plain_text(self):
        """The body's words (``richtext.body_text``), worked out from the body as it is now,
        saved or not (a preview of unsaved changes has no ``body_plain`` yet), once per body."""
        known = self.__dict__.get("_plain_text")
        if known is None or known[0] != self.body:
            known = self._plain_text = (self.body, richtext.body_text(self.body))
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
        return richtext.word_count(self.plain_text)

    @property
    def reading_minutes(self):
        return richtext.reading_minutes(self.plain_text)

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
    story = models.ForeignKey(Story, models.CASCADE, related_name="story_bylines")
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
    content_object = models.ForeignKey(Story, models.CASCADE, related_name="tagged_items")

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


class ImportRecord(models.Model):
    """What the briefing importer last wrote to a story, so a re-import can tell
    "unchanged" from "corrected" from "edited by someone since" (a conflict)."""

    story = models.OneToOneField(Story, models.CASCADE, related_name="import_record")
    source = models.CharField(max_length=255, help_text="The briefing's file name.")
    headline = models.CharField(max_length=200, help_text="The headline as the briefing has it.")
    input_checksum = models.CharField(max_length=64)
    state_checksum = models.CharField(max_length=64)
    written_at = models.DateTimeField()

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
    from taggit.models import Tag

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
    return Byline.objects.filter(
        Exists(StoryByline.objects.filter(is_live_condition("story__"), byline=OuterRef("pk")))
    )


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
