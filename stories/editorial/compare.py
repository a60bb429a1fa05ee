"""Comparing two revisions of a story: the words of headline, deck and body, and a table of
the other fields that changed (bylines and tags as each revision recorded them).

``CompareRevisionsMixin`` adds the page to ``StoryAdmin``: the history page's two radio
columns choose the revisions (as on a wiki), and each row links to its comparison with the
one before.
"""

from dataclasses import dataclass
from itertools import pairwise

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format

from stories.models import Byline, Image, Section, Story
from stories.richtext import body_text

from .diffs import diff_words, has_changes

WORD_FIELDS = ["headline", "deck", "body"]
# Other fields an editor may change, in the order of the story form.
OTHER_FIELDS = [
    "section",
    "status",
    "published_at",
    "dateline",
    "slug",
    "bylines",
    "tags",
    "lead_image",
    "revised_at",
]
NOTHING = "—"
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class WordDiff:
    label: str
    chunks: list
    changed: bool


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Comparison:
    old: object  # the historical records compared, older first
    new: object
    words: list  # WordDiff for headline, deck and body
    fields: list  # FieldChange for each other field that differs

    @property
    def is_identical(self):
        return not self.fields and not any(diff.changed for diff in self.words)


def compare(old, new, *, to_text=body_text):
    """What changed from revision ``old`` to ``new`` (historical story records). Reads the
    sections and bylines both name in two queries, however long the texts."""
    words = []
    for name in WORD_FIELDS:
        before, after = getattr(old, name) or "", getattr(new, name) or ""
        if name == "body":
            before, after = to_text(before), to_text(after)
        chunks = diff_words(before, after)
        words.append(WordDiff(label(name), chunks, has_changes(chunks)))
    shown = Displayer([old, new])
    fields = []
    for name in OTHER_FIELDS:
        before, after = shown(old, name), shown(new, name)
        if before != after:
            fields.append(FieldChange(label(name), before, after))
    return Comparison(old, new, words, fields)


def label(name):
    if name == "bylines":
        return "Bylines"
    return Story._meta.get_field(name).verbose_name.capitalize()


class Displayer:
    """Each field of a revision as an editor reads it: names, not ids or slugs."""

    def __init__(self, revisions):
        self.sections = Section.objects.in_bulk({r.section_id for r in revisions})
        self.images = Image.objects.in_bulk({r.lead_image_id for r in revisions} - {None})
        slugs = {slug for r in revisions for slug in (r.byline_slugs or [])}
        self.bylines = dict(Byline.objects.filter(slug__in=slugs).values_list("slug", "name"))

    def __call__(self, revision, name):
        if name == "section":
            section = self.sections.get(revision.section_id)
            return section.name if section else f"deleted section #{revision.section_id}"
        if name == "status":
            return revision.get_status_display()
        if name == "lead_image":
            if revision.lead_image_id is None:
                return NOTHING
            image = self.images.get(revision.lead_image_id)
            # The library record's alt text names the picture as readers would hear it.
            return f"“{image.alt}”" if image else f"deleted image #{revision.lead_image_id}"
        if name == "bylines":
            if revision.byline_slugs is None:
                return NOT_RECORDED
            names = [self.bylines.get(slug, slug) for slug in revision.byline_slugs]
            return ", ".join(names) or NOTHING
        if name == "tags":
            if revision.tag_names is None:
                return NOT_RECORDED
            return ", ".join(revision.tag_names) or NOTHING
        value = getattr(revision, name)
        if name in ("published_at", "revised_at"):
            return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else NOTHING
        return str(value or "") or NOTHING


class CompareRevisionsMixin:
    """Adds "Compare revisions" to a simple-history admin of stories."""

    object_history_template = "admin/stories/story/object_history.html"
    object_history_list_template = "admin/stories/story/object_history_list.html"

    def get_urls(self):
        opts = self.model._meta
        return [
            # Before simple-history's "<id>/history/<revision>/", which would match it too.
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name=f"{opts.app_label}_{opts.model_name}_compare",
            ),
            *super().get_urls(),
        ]

    def set_history_delta_changes(self, request, historical_records, *args, **kwargs):
        super().set_history_delta_changes(request, historical_records, *args, **kwargs)
        # Newest first: each row's "compare with previous" names the row below it.
        records = list(historical_records)
        for newer, older in pairwise(records):
            newer.older_revision_id = older.pk

    def compare_view(self, request, object_id):
        object_id = unquote(object_id)
        story = self.get_object(request, object_id)
        if story is None:
            raise Http404("No such story.")
        if not self.has_view_history_or_change_history_permission(request, story):
            raise PermissionDenied
        wanted = [request.GET.get("old", ""), request.GET.get("new", "")]
        if not all(value.isdigit() for value in wanted):
            raise Http404("Choose two revisions to compare.")
        revisions = list(
            Story.history.filter(id=story.pk, history_id__in=wanted)
            .select_related("history_user")
            .order_by("history_date", "history_id")
        )
        if len(revisions) != len(set(wanted)):
            raise Http404("No such revision of this story.")
        old, new = revisions[0], revisions[-1]  # older first, whichever way they were chosen
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare revisions: {story}",
            "opts": self.model._meta,
            "original": story,
            "comparison": compare(old, new),
        }
        return TemplateResponse(request, "admin/stories/story/compare_revisions.html", context)
