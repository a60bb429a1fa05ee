"""The newsroom's content: sections, bylines, stories, and what the importer remembers."""

import re

from django.conf import settings
from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.text import slugify
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase

from .fasturls import fast_reverse

PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def unique_slug(model, text, *, max_length, exclude_pk=None, reserved=()):
    """A slug for ``text`` that no other row of ``model`` (nor ``reserved``) uses yet."""
    base = slugify(text, allow_unicode=True)[:max_length].strip("-") or model._meta.model_name
    taken = set(reserved)
    others = model._default_manager.filter(slug__startswith=base)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    taken.update(others.values_list("slug", flat=True))
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = base[: max_length - len(suffix)].rstrip("-") + suffix
    return candidate


class SlugNaturalKeyManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Section(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    description = models.TextField(blank=True)
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
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    role = models.CharField(max_length=100, blank=True, help_text='For example "Staff writer".')
    bio = models.TextField(blank=True, help_text="A sentence or two shown on the byline page.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="byline",
        help_text="The staff account that writes under this byline, if any.",
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


class StoryQuerySet(models.QuerySet):
    def live(self):
        """What readers may see: published, and its time has come."""
        return self.filter(status=Story.Status.PUBLISHED, published_at__lte=timezone.now())

    def for_listing(self):
        """Everything a story card renders, in a fixed number of queries."""
        return self.select_related("section").prefetch_related(
            Prefetch(
                "story_bylines",
                queryset=StoryByline.objects.select_related("byline").order_by("position", "pk"),
            ),
            "tags",
        )

    def for_cards(self):
        """What a story card on a listing page renders (section, date, bylines), cheaply:
        no body, no tags, and bylines in a plain list rather than a prefetched manager,
        which Django rebuilds per story (the listing pages' largest server cost)."""
        return (
            self.select_related("section")
            .defer("body")
            .prefetch_related(
                Prefetch(
                    "story_bylines",
                    queryset=StoryByline.objects.select_related("byline").order_by(
                        "position", "pk"
                    ),
                    to_attr="card_story_bylines",
                )
            )
        )

    def in_section(self, section):
        return self.filter(section=section)

    def by_byline(self, byline):
        return self.filter(story_bylines__byline=byline)

    def tagged(self, tag):
        return self.filter(tagged_items__tag=tag)


class Story(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"

    headline = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=200,
        unique=True,
        allow_unicode=True,
        blank=True,
        help_text="The last part of the story's address. Made from the headline when left empty.",
    )
    deck = models.CharField(
        max_length=300, blank=True, help_text="The one-line summary under the headline."
    )
    body = models.TextField(help_text="Paragraphs separated by a blank line.")
    section = models.ForeignKey(Section, models.PROTECT, related_name="stories")
    bylines = models.ManyToManyField(
        Byline, through="StoryByline", related_name="stories", blank=True
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When readers may see a published story. A future time schedules it.",
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

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name_plural = "stories"
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
        ]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Story, self.headline, max_length=200, exclude_pk=self.pk)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        day = timezone.localdate(self.published_at or self.created_at or timezone.now())
        return fast_reverse(
            "stories:detail", day.year, f"{day.month:02}", f"{day.day:02}", self.slug
        )

    def is_live(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    is_live.boolean = True

    @property
    def paragraphs(self):
        body = self.body.replace("\r\n", "\n").replace("\r", "\n")
        return [part.strip() for part in PARAGRAPH_BREAK.split(body) if part.strip()]

    @property
    def ordered_bylines(self):
        """Bylines in their printed order; uses the rows ``for_listing()`` or
        ``for_cards()`` prefetched."""
        story_bylines = getattr(self, "card_story_bylines", None)
        if story_bylines is None:
            story_bylines = self.story_bylines.all()
        return [story_byline.byline for story_byline in story_bylines]

    @property
    def sorted_tags(self):
        """Tags by name; sorted here because taggit's prefetch takes no custom ordering."""
        return sorted(self.tags.all(), key=lambda tag: tag.name.casefold())


class StoryByline(models.Model):
    story = models.ForeignKey(Story, models.CASCADE, related_name="story_bylines")
    byline = models.ForeignKey(Byline, models.CASCADE, related_name="story_bylines")
    position = models.PositiveSmallIntegerField(default=0)

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
