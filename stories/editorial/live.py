"""Live editing on the story change form: a preview of unsaved changes, autosaved private
working copies, and who else has the story open.

``LiveEditingMixin`` adds four POST endpoints to ``StoryAdmin`` (under the story's admin
address, or ``add/`` for a story not saved yet), each behind the admin's login and CSRF
checks and the same per-story permission as editing it:

- ``live/preview/``: the form as it stands, rendered with the real story template, for the
  side panel (an iframe, so this response alone may be framed by the admin's own pages) and
  the Preview button. Marked noindex and ``private, no-store``; no cached piece is read or
  stored while it renders.
- ``live/autosave/``: the form's content as the user's ``WorkingCopy``, never the story.
- ``live/discard/``: forget the working copy.
- ``live/presence/``: the page's heartbeat (``EditingPresence``), answered with who else is
  editing; ``leaving=1`` when the page closes.

The change form offers the working copy back ("Restore your unsaved changes from 10:42");
the browser fills the form with it and the user saves as usual, which deletes it. The
script is ``static/admin/stories/live-editing.js``; the markup
``templates/admin/stories/story/_live_editing.html``.
"""

import re
import uuid

from csp.decorators import csp_replace
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.views.decorators.clickjacking import xframe_options_sameorigin
from taggit.models import Tag

from stories.delivery.fragments import keep_out_of_fragment_cache
from stories.models import (
    Byline,
    Correction,
    EditingPresence,
    Section,
    Story,
    StoryByline,
    TaggedStory,
    WorkingCopy,
)
from stories.reader.previews import mark_private
from stories.richtext import sanitize_body

from .forms import new_tag_names

# The form's fields a working copy keeps and the preview shows, besides section, tags and
# bylines. Status and dates are not drafts' business: they change only by saving.
TEXT_FIELDS = (
    "headline",
    "slug",
    "deck",
    "dateline",
    "body",
    "new_tags",
    "lead_image_alt",
    "lead_image_caption",
    "lead_image_credit",
)
BYLINES_PREFIX = "story_bylines"  # the bylines inline's formset prefix
MAX_BYLINE_ROWS = 100
# A story's text is far smaller; anything larger is refused, neither previewed nor stored.
# (What is read at all is bounded by Django's DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB.)
MAX_POST_BYTES = 1024 * 1024
DRAFT_KEY = re.compile(r"^[0-9a-f]{32}$")
DRAFT_KEY_FIELD = "live_draft_key"
PREVIEW_TEMPLATE = "admin/stories/story/live_preview.html"


class PayloadTooLarge(Exception):
    pass


def refuse_oversized(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_POST_BYTES:
        raise PayloadTooLarge


def number(value):
    """A whole number a database column can hold (ids, versions, positions), or None: posted
    values are anything ("²", 30 digits)."""
    if value.isascii() and value.isdigit() and int(value) < 2**31:
        return int(value)
    return None


def form_content(post):
    """What the change form holds, from its POST data: text as typed, and the ids of the
    section, tags and bylines (in printed order, rows marked for deletion left out)."""
    # PostgreSQL's JSON refuses NUL characters; no field may hold one anyway.
    content = {name: post.get(name, "").replace("\x00", "") for name in TEXT_FIELDS}
    # Kept and restored into the rich-text editor's live DOM: only what the allowlist keeps.
    if "body" in content:
        content["body"] = sanitize_body(content["body"])
    content["section"] = number(post.get("section", ""))
    tags = (number(value) for value in post.getlist("tags"))
    content["tags"] = list(dict.fromkeys(tag for tag in tags if tag is not None))
    rows = []
    total = number(post.get(f"{BYLINES_PREFIX}-TOTAL_FORMS", "")) or 0
    for index in range(min(total, MAX_BYLINE_ROWS)):
        prefix = f"{BYLINES_PREFIX}-{index}-"
        byline = number(post.get(f"{prefix}byline", ""))
        if byline is not None and not post.get(f"{prefix}DELETE"):
            position = number(post.get(f"{prefix}position", "")) or 0
            rows.append((position, index, byline))
    content["bylines"] = list(dict.fromkeys(byline for _, _, byline in sorted(rows)))
    return content


def ordered_objects(model, ids):
    found = model.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def previewed_story(form, content):
    """The story as its form would save it, unsaved: ``form`` has been validated, so each
    valid field is set on ``form.instance`` by the form's own cleaning (whatever it does to
    the text); invalid ones keep the stored value. Section, tags and bylines come from the
    content, held the way the story template reads prefetched relations."""
    story = form.instance
    if story.section_id is None:
        # A new story before a section is chosen: the page still needs one to print.
        story.section = Section(name="No section chosen", slug="no-section")
    if not story.slug:
        story.slug = slugify(story.headline, allow_unicode=True)[:200] or "untitled"
    names = new_tag_names(content["new_tags"])
    tags = [
        *Tag.objects.filter(pk__in=content["tags"]),
        *(Tag(name=name, slug=Tag().slugify(name)) for name in names),
    ]
    story.listed_tagged_items = [TaggedStory(tag=tag) for tag in tags]
    story.ordered_story_bylines = [
        StoryByline(byline=byline, position=position)
        for position, byline in enumerate(ordered_objects(Byline, content["bylines"]))
    ]
    if story.pk is None:
        # The template lists the story's corrections, which Django will not look up for a
        # story without an id. A new story has none: an id no row has, and none prefetched.
        story.pk = 0
        story._prefetched_objects_cache = {"corrections": Correction.objects.none()}
    else:
        prefetch_related_objects([story], "corrections")
    return story


def person(user):
    return user.get_full_name() or user.get_username()


def clock(moment):
    return date_format(timezone.localtime(moment), "H:i")


def presence_messages(story, user):
    others = (
        EditingPresence.objects.active()
        .filter(story=story)
        .exclude(user=user)
        .select_related("user")
        .order_by("since")
    )
    return [
        f"{person(other.user)} is editing this story (since {clock(other.since)})"
        for other in others
    ]


def last_save(story):
    """Who saved ``story`` last, and when (its newest revision)."""
    revision = (
        Story.history.filter(id=story.pk)
        .select_related("history_user")
        .order_by("-history_date")
        .first()
    )
    user = revision.history_user if revision is not None else None
    return user, story.updated_at


def restore_data(copy):
    """The copy as the script fills the form with it: text, and each relation's name."""
    data = copy.data
    section = Section.objects.filter(pk=data.get("section")).first()
    return {
        "draft_key": copy.draft_key,
        # Copies made before bodies were sanitized on the way in are cleaned on the way out.
        "fields": {
            name: sanitize_body(data.get(name, "")) if name == "body" else data.get(name, "")
            for name in TEXT_FIELDS
        },
        "section": {"id": section.pk, "name": section.name} if section else None,
        "tags": [{"id": t.pk, "name": t.name} for t in ordered_objects(Tag, data.get("tags", []))],
        "bylines": [
            {"id": b.pk, "name": b.name} for b in ordered_objects(Byline, data.get("bylines", []))
        ],
    }


def copy_offer(request, story, draft_key):
    """The banner offering the user's working copy back, or None. On a new story's form,
    the newest copy of a story never saved (other than the one this form writes)."""
    if story is not None:
        copy = WorkingCopy.objects.of(request.user, story).first()
    else:
        copy = (
            WorkingCopy.objects.filter(user=request.user, story__isnull=True)
            .exclude(draft_key=draft_key)
            .order_by("-saved_at")
            .first()
        )
    if copy is None:
        return None
    when = clock(copy.saved_at)
    offer = {"data": restore_data(copy), "stale": False, "restore_label": "Restore"}
    if story is None:
        headline = copy.data.get("headline") or "untitled"
        offer["message"] = f"Restore your unsaved new story “{headline}” from {when}?"
    elif copy.is_stale(story):
        saver, saved_at = last_save(story)
        if saver is None:
            who = "someone else’s"
        else:
            who = "your own" if saver == request.user else f"{person(saver)}’s"
        offer.update(
            stale=True,
            restore_label="Restore anyway",
            message=f"You have unsaved changes from {when}, saved before {who} changes at "
            f"{clock(saved_at)}. Restoring them puts your version in the form; saving it "
            "would replace those changes.",
        )
    else:
        offer["message"] = f"Restore your unsaved changes from {when}?"
    return offer


class LiveEditingMixin:
    """Adds live preview, autosave and presence to ``StoryAdmin`` (see the module)."""

    def get_urls(self):
        opts = self.model._meta
        views = {
            "preview": self.admin_site.admin_view(self.live_preview_view, cacheable=True),
            "autosave": self.admin_site.admin_view(self.live_autosave_view),
            "discard": self.admin_site.admin_view(self.live_discard_view),
            "presence": self.admin_site.admin_view(self.live_presence_view),
        }
        return [
            *(
                path(
                    f"<path:object_id>/live/{name}/",
                    view,
                    name=f"{opts.app_label}_{opts.model_name}_live_{name}",
                )
                for name, view in views.items()
            ),
            *super().get_urls(),
        ]

    def live_story(self, request, object_id):
        """The story the address names (None for ``add``), if the user may edit it."""
        if object_id == "add":
            if not self.has_add_permission(request):
                raise PermissionDenied
            return None
        story = self.get_object(request, unquote(object_id))
        if story is None:
            raise Http404("No story has this id.")
        if not self.has_change_permission(request, story):
            raise PermissionDenied
        return story

    def live_urls(self, story):
        opts = self.model._meta
        key = "add" if story is None else story.pk
        return {
            name: reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_live_{name}",
                args=[key],
            )
            for name in ("preview", "autosave", "discard", "presence")
        }

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        may_edit = self.has_change_permission(request, obj) if obj else add
        if may_edit:
            posted = request.POST.get(DRAFT_KEY_FIELD, "")
            draft_key = posted if DRAFT_KEY.match(posted) else uuid.uuid4().hex
            context["live_editing"] = {
                "urls": self.live_urls(obj),
                "draft_key": draft_key,
                # A form sent back with errors already holds what the user typed.
                "offer": None if request.method == "POST" else copy_offer(request, obj, draft_key),
                "presence": presence_messages(obj, request.user) if obj else [],
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Saved for real: the working copy has done its job. (Inside the admin's transaction,
        # so a save that fails keeps it.)
        if change:
            WorkingCopy.objects.of(request.user, form.instance).delete()
        else:
            draft_key = request.POST.get(DRAFT_KEY_FIELD, "")
            WorkingCopy.objects.of(request.user, draft_key=draft_key).delete()

    @csp_replace({"frame-ancestors": ["'self'"]})
    @xframe_options_sameorigin
    def live_preview_view(self, request, object_id):
        if request.method != "POST":
            return JsonResponse({"error": "Post the story's form to preview it."}, status=405)
        # Read before anything else renders: the page's pieces are the user's alone.
        keep_out_of_fragment_cache(request)
        story = self.live_story(request, object_id)
        try:
            refuse_oversized(request)
        except PayloadTooLarge:
            return mark_private(
                JsonResponse({"error": "The form is too large to preview."}, status=413)
            )
        data = request.POST.copy()
        # The stale-save check locks the story's row; a preview saves nothing and needs no
        # lock (and PostgreSQL allows one only inside a transaction).
        data.pop("loaded_version", None)
        form = self.get_form(request, story, change=story is not None)(data, instance=story)
        form.is_valid()
        content = form_content(request.POST)
        problems = [
            f"{form[name].label}: {' '.join(errors)}"
            for name, errors in form.errors.items()
            if name in TEXT_FIELDS or name in ("section", "tags")
        ]
        preview = previewed_story(form, content)
        context = {"story": preview, "is_preview": True, "problems": problems}
        return mark_private(render(request, PREVIEW_TEMPLATE, context))

    def live_autosave_view(self, request, object_id):
        if request.method != "POST":
            return JsonResponse({"error": "Autosave takes a POST."}, status=405)
        story = self.live_story(request, object_id)
        try:
            refuse_oversized(request)
        except PayloadTooLarge:
            return JsonResponse(
                {"error": "Too large to keep as a working copy; save the story."}, status=413
            )
        draft_key = request.POST.get(DRAFT_KEY_FIELD, "")
        if story is None and not DRAFT_KEY.match(draft_key):
            return JsonResponse({"error": "A new story's working copy needs its key."}, status=400)
        version = number(request.POST.get("loaded_version", ""))
        copy = WorkingCopy.objects.keep(
            request.user,
            story,
            draft_key,
            form_content(request.POST),
            # The version the user's form was loaded with: a copy made on an older one is
            # offered back with a warning, never as if nothing had happened since.
            base_version=version if version is not None else story and story.version,
        )
        return JsonResponse(
            {
                "saved_at": copy.saved_at.isoformat(),
                "message": f"Unsaved changes kept at {clock(copy.saved_at)}",
            }
        )

    def live_discard_view(self, request, object_id):
        if request.method != "POST":
            return JsonResponse({"error": "Discarding takes a POST."}, status=405)
        story = self.live_story(request, object_id)
        draft_key = request.POST.get("discard_key", "")
        WorkingCopy.objects.of(request.user, story, draft_key).delete()
        return JsonResponse({"discarded": True})

    def live_presence_view(self, request, object_id):
        if request.method != "POST":
            return JsonResponse({"error": "The heartbeat takes a POST."}, status=405)
        story = self.live_story(request, object_id)
        if story is None:
            return JsonResponse({"others": []})
        if request.POST.get("leaving"):
            EditingPresence.objects.filter(user=request.user, story=story).delete()
            return JsonResponse({"others": []})
        EditingPresence.objects.record(request.user, story)
        return JsonResponse({"others": presence_messages(story, request.user)})
