"""The editors' workspace: the Django admin, customised for stories."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME
from taggit.admin import TagAdmin as TaggitTagAdmin
from taggit.models import Tag

from stories.models import (
    Byline,
    Correction,
    ImportConflict,
    PreviewLink,
    Section,
    Story,
    StoryByline,
    deleting_stories,
)
from stories.roles import PUBLISH_PERMISSION
from stories.text import CleanTextAdminMixin

from .accessibility import LabelledWidgetsMixin
from .briefing_import import ImportBriefingMixin
from .compare import CompareRevisionsMixin
from .desk import DeskFilter
from .forms import PreviewLinkForm
from .image_admin import LibraryImagePickerMixin
from .live import LiveEditingMixin
from .notes import StoryNotesMixin
from .people import ReporterAccountsMixin
from .primary_actions import PrimaryActionsMixin, StoryWorkflowForm
from .revisions import describe, record_relations, restore_relations
from .saving import save_byline, save_story
from .story_list import (
    EstimatedCountPaginator,
    IndexedStorySearchMixin,
    ListedColumnsMixin,
    PublishedFilter,
    UsedRelatedFieldListFilter,
)
from .tags import merge_tags
from .workflow import DONE, Step, after_step, implied_step, take_step
from .writing import RichTextAdminMixin


@admin.register(Section)
class SectionAdmin(LabelledWidgetsMixin, CleanTextAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "position", "story_count"]
    list_editable = ["position"]
    ordering = ["position", "name"]  # the count annotation drops Meta.ordering
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]

    def get_queryset(self, request):
        if is_autocomplete(request):
            return super().get_queryset(request)
        return super().get_queryset(request).annotate(story_count=Count("stories"))

    @admin.display(description="Stories", ordering="story_count")
    def story_count(self, section):
        return section.story_count


@admin.register(Byline)
class BylineAdmin(
    LabelledWidgetsMixin, LibraryImagePickerMixin, CleanTextAdminMixin, admin.ModelAdmin
):
    list_display = ["name", "role", "user", "story_count"]
    list_select_related = ["user"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "role"]
    autocomplete_fields = ["user", "photo"]
    fields = ["name", "slug", "role", "bio", "photo", "user"]

    def get_queryset(self, request):
        if is_autocomplete(request):
            return super().get_queryset(request)
        return super().get_queryset(request).annotate(story_count=Count("story_bylines"))

    @admin.display(description="Stories", ordering="story_count")
    def story_count(self, byline):
        return byline.story_count

    def save_model(self, request, obj, form, change):
        save_byline(obj)


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(LabelledWidgetsMixin, ReporterAccountsMixin, DjangoUserAdmin):
    """Django's user admin for superusers; editors manage reporters' accounts with it
    (``ReporterAccountsMixin``). Opened for one lookup: the byline form's account search,
    for those who may add or change bylines, over all staff accounts."""

    def has_view_permission(self, request, obj=None):
        if super().has_view_permission(request, obj):
            return True
        # The admin's autocomplete asks this of the admin it searches, with obj=None.
        return obj is None and is_byline_account_lookup(request)

    def is_account_lookup(self, request):
        return is_byline_account_lookup(request)

    def get_search_fields(self, request):
        if is_byline_account_lookup(request) and not request.user.is_superuser:
            # Editors find an account by the name they know; matching on e-mail addresses
            # would let them test which addresses belong to staff.
            return ["username", "first_name", "last_name"]
        return super().get_search_fields(request)


def is_autocomplete(request):
    """A request of the admin's autocomplete, which shows names only: a list's story counts
    there grouped every story's links on every keystroke."""
    match = request.resolver_match
    return match is not None and match.view_name == "admin:autocomplete"


def is_byline_account_lookup(request):
    match = request.resolver_match
    return (
        match is not None
        and match.view_name == "admin:autocomplete"
        and (request.GET.get("app_label"), request.GET.get("model_name")) == ("stories", "byline")
        and request.GET.get("field_name") == "user"
        and (
            request.user.has_perm("stories.change_byline")
            or request.user.has_perm("stories.add_byline")
        )
    )


admin.site.unregister(Tag)


@admin.register(Tag)
class TagAdmin(LabelledWidgetsMixin, CleanTextAdminMixin, TaggitTagAdmin):
    list_display = ["name", "slug", "story_count"]
    # taggit's own merge moves taggit's generic tagged items, which our stories do not use.
    actions = ["merge_tags"]

    def get_urls(self):
        return [url for url in super().get_urls() if url.name != "taggit_tag_merge_tags"]

    def get_queryset(self, request):
        if is_autocomplete(request):
            return super().get_queryset(request)
        return (
            super().get_queryset(request).annotate(story_count=Count("stories_taggedstory_items"))
        )

    @admin.display(description="Stories", ordering="story_count")
    def story_count(self, tag):
        return tag.story_count

    @admin.action(description="Merge selected tags", permissions=["change", "delete"])
    def merge_tags(self, request, queryset):
        tags = list(queryset.order_by("name"))
        if len(tags) < 2:
            self.message_user(request, "Select two or more tags to merge.", messages.WARNING)
            return None
        kept = next((tag for tag in tags if str(tag.pk) == request.POST.get("kept")), None)
        if "post" not in request.POST or kept is None:
            # First step: ask which tag to keep (Django's delete action asks the same way).
            context = {
                **self.admin_site.each_context(request),
                "title": "Merge tags",
                "opts": self.model._meta,
                "tags": tags,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/taggit/tag/merge_tags.html", context)
        merged = [tag for tag in tags if tag != kept]
        moved = merge_tags(kept, merged)
        names = ", ".join(f"“{tag.name}”" for tag in merged)
        self.message_user(
            request,
            f"Merged {names} into “{kept.name}”: {moved} {pluralize_story(moved)} retagged; "
            "the old tag addresses redirect.",
        )
        return None


class StoryBylineInline(LabelledWidgetsMixin, CleanTextAdminMixin, admin.TabularInline):
    model = StoryByline
    extra = 1
    autocomplete_fields = ["byline"]
    fields = ["byline", "position"]
    ordering = ["position", "pk"]


class CorrectionInline(LabelledWidgetsMixin, CleanTextAdminMixin, admin.TabularInline):
    """Corrections can be added, never changed or removed: readers rely on the record."""

    model = Correction
    # No blank row (it would show "Published at <now>"): editors use "Add another".
    extra = 0
    can_delete = False
    fields = ["kind", "text", "published_at"]
    readonly_fields = ["published_at"]  # dated when appended: the record stays honest
    verbose_name = "correction or clarification"
    verbose_name_plural = "corrections and clarifications (append-only; shown to readers)"

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PreviewLinkInline(LabelledWidgetsMixin, CleanTextAdminMixin, admin.TabularInline):
    model = PreviewLink
    form = PreviewLinkForm
    extra = 0
    fields = ["share_url", "expires_at", "is_revoked", "created_by", "created_at"]
    readonly_fields = ["share_url", "created_by", "created_at"]
    verbose_name = "shareable preview link"
    verbose_name_plural = (
        "shareable preview links (read-only view of this story for people without an account)"
    )

    class Media:
        js = ["stories/copy-link.js"]

    @admin.display(description="Link")
    def share_url(self, link):
        if link.pk is None:
            return "Save the story to get the link."
        if not link.is_usable():
            return "No longer works."
        # A read-only text box: the whole address is selectable and copyable without
        # JavaScript; copy-link.js shows the button that copies it in one click.
        return format_html(
            '<input type="text" readonly class="vTextField preview-link" value="{}" '
            'aria-label="Preview link address"> '
            '<button type="button" class="button copy-link" hidden>Copy</button>',
            getattr(link, "absolute_url", link.get_absolute_url()),
        )


class PublicationFilter(admin.SimpleListFilter):
    title = "site status"
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("scheduled", "Scheduled"), ("hidden", "Not published")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.live()
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "hidden":
            return queryset.exclude(status=Story.Status.PUBLISHED)
        if self.value() is not None:
            # As Django answers a field filter's bad value: the list with "?e=1".
            raise IncorrectLookupParameters(f"No such choice: {self.value()!r}")
        return queryset


@admin.register(Story)
class StoryAdmin(
    LabelledWidgetsMixin,
    PrimaryActionsMixin,
    IndexedStorySearchMixin,
    ListedColumnsMixin,
    RichTextAdminMixin,
    LibraryImagePickerMixin,
    CleanTextAdminMixin,
    CompareRevisionsMixin,
    StoryNotesMixin,
    ImportBriefingMixin,
    LiveEditingMixin,
    SimpleHistoryAdmin,
):
    form = StoryWorkflowForm  # StoryAdminForm with the primary actions' buttons (issue 13)
    object_history_form_template = "admin/stories/story/object_history_form.html"
    list_display = [
        "headline",
        "section",
        "status_label",
        "published_at",
        "byline_names",
        "is_live",
        "site_link",
    ]
    list_filter = [
        "status",
        PublicationFilter,
        PublishedFilter,
        DeskFilter,
        "section",
        ("tags", UsedRelatedFieldListFilter),
        ("bylines", UsedRelatedFieldListFilter),
    ]
    list_select_related = ["section"]
    # The body's words, not its markup. Searched through the full-text index where there is
    # one (``story_list.IndexedStorySearchMixin``), which also holds the tags.
    search_fields = ["headline", "deck", "body_plain", "story_bylines__byline__name"]
    # At a million stories: no COUNT(*) of the whole table on every view, and big lists
    # show an estimate (``story_list``); dates are filtered by ``PublishedFilter``, whose
    # ranges the index answers, not by a date hierarchy that truncates every row's date.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Facet counts are an aggregate per filter choice over the whole filtered list: a scan
    # of the table for each of thousands of tags and bylines (PostgreSQL refused the query
    # outright past 1,664 choices).
    show_facets = admin.ShowFacets.NEVER
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["section", "lead_image"]
    inlines = [StoryBylineInline, CorrectionInline, PreviewLinkInline]
    actions = ["send_to_review", "publish_now", "unpublish", "dismiss_import_conflicts"]
    readonly_fields = ["created_at", "updated_at", "created_by", "revised_at", "site_link"]
    fieldsets = [
        (
            None,
            {"fields": ["headline", "slug", "deck", "dateline", "body", "section", "tags"]},
        ),
        (
            "Lead image",
            {
                "fields": ["lead_image"],
                "description": "Choose a picture from the image library, or add one with +.",
            },
        ),
        ("Publishing", {"fields": ["status", "published_at", "site_link"]}),
        (
            "Record",
            {
                "classes": ["collapse"],
                "fields": ["created_by", "created_at", "updated_at", "revised_at"],
            },
        ),
    ]
    # Only in forms the user may save: the lock, new tags and the substantive-update box.
    editing_fields = {None: ["new_tags"], "Publishing": ["is_substantive", "loaded_version"]}

    def get_queryset(self, request):
        return super().get_queryset(request).with_bylines()

    def get_fieldsets(self, request, obj=None):
        editable = self.has_change_permission(request, obj) if obj else True
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            extra = self.editing_fields.get(name, []) if editable else []
            fieldsets.append((name, {**options, "fields": [*options["fields"], *extra]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm(PUBLISH_PERMISSION):
            readonly.append("published_at")  # scheduling is publishing
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, PreviewLinkInline):
            kwargs["form_kwargs"] = {"absolute_url": request.build_absolute_uri}
        return kwargs

    # Permissions: the model permissions say what a role may do at all; the story says
    # which of its stories a reporter may touch. Checked on every path, not only in menus.

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is not None and hasattr(obj, SIMPLE_HISTORY_REVERSE_ATTR_NAME):
            # A revision on the restore page: whether it may be restored depends on the
            # story as it is now, not on the status it had then.
            obj = Story.objects.filter(pk=obj.pk).first()
        return obj is None or obj.editable_by(request.user)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None or request.user.has_perm(PUBLISH_PERMISSION):
            return True
        return obj.status != Story.Status.PUBLISHED and obj.editable_by(request.user)

    # An imported story's tombstone names who deleted it; a re-import reports it.
    def delete_model(self, request, obj):
        with deleting_stories(Story.objects.filter(pk=obj.pk), request.user):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with deleting_stories(queryset, request.user):
            super().delete_queryset(request, queryset)

    def has_publish_permission(self, request):
        return request.user.has_perm(PUBLISH_PERMISSION)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_publish_permission(request):
            # Bulk delete checks no per-story rule, and reporters may not delete published
            # stories; they delete their own drafts from the story's page.
            actions.pop("delete_selected", None)
        return actions

    def view_on_site(self, story):
        return story.get_absolute_url() if story.is_live() else None

    def save_model(self, request, obj, form, change):
        if change and not form.has_changed() and not getattr(request, "restoring_revision", False):
            # Perhaps nothing to save: save_related decides once it has seen the inlines.
            # (Restoring posts the revision's own values, so its form is never "changed".)
            return
        self.write_story(request, obj, form, change)

    def write_story(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        if change and not request.user.has_perm(PUBLISH_PERMISSION):
            # The date is an editor's: a restored revision must not bring back its old one.
            obj.published_at = (
                Story.objects.filter(pk=obj.pk).values_list("published_at", flat=True).get()
            )
        if (
            change
            and form.cleaned_data.get("is_substantive")
            and obj.status == Story.Status.PUBLISHED
        ):
            obj.revised_at = timezone.now()
        # What SimpleHistoryAdmin.save_model and ModelAdmin.save_model do, with renditions
        # and the old address's redirect. Restoring a revision saves through here too.
        obj._history_user = request.user
        if getattr(form, "step", None):
            obj._change_reason = DONE[form.step]
        save_story(obj)

    def save_formset(self, request, form, formset, change):
        for instance in formset.save(commit=False):
            if instance.pk is None and hasattr(instance, "created_by_id"):
                instance.created_by = request.user
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and not form.has_changed():
            if not any(formset.has_changed() for formset in formsets):
                # Saved without a change: no revision, the same version and updated_at (so
                # sitemaps, caches and the importer's edit check see nothing), no step.
                return
            # Only an inline changed (a byline, a correction): the story's revision records it.
            self.write_story(request, form.instance, form, change)
        # The revision was made when the story row was saved, before its bylines and tags.
        record_relations(form.instance)
        # After the bylines: they say whom the step's e-mail goes to.
        step = getattr(form, "step", None) or implied_step(
            form.initial.get("status"), form.instance
        )
        if step is not None:
            after_step(
                step,
                form.instance,
                user=request.user,
                absolute_url=request.build_absolute_uri,
                note=form.cleaned_data.get("return_note", ""),
            )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # The address takes any text where the revision's number goes.
        if not str(version_id).isdigit():
            raise Http404("No such revision.")
        # Django's change form runs in a transaction; simple-history's restore view does
        # not, and the form's stale-save lock (select_for_update) needs one on PostgreSQL.
        with transaction.atomic(using=router.db_for_write(self.model)):
            return self.restore_view(request, object_id, version_id, extra_context)

    def restore_view(self, request, object_id, version_id, extra_context):
        revision = get_object_or_404(Story.history.model, pk=version_id, id=unquote(object_id))
        if request.method == "POST":
            # simple-history checks only that the user may see the history; restoring is a
            # change, so it needs the right to change the story as it is now.
            current = self.get_object(request, unquote(object_id))
            if current is None or not self.has_change_permission(request, current):
                raise PermissionDenied
        extra_context = {**(extra_context or {}), "revision_relations": describe(revision)}
        request.restoring_revision = True  # a save even when the revision equals the story
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if request.method == "POST" and response.status_code == 302:
            restore_relations(self.get_object(request, unquote(object_id)), revision)
        return response

    @admin.display(description="Bylines")
    def byline_names(self, story):
        return ", ".join(byline.name for byline in story.ordered_bylines)

    @admin.display(boolean=True, description="Live")
    def is_live(self, story):
        return story.is_live()

    @admin.display(description="Status", ordering="status")
    def status_label(self, story):
        if story.is_scheduled():
            when = date_format(timezone.localtime(story.published_at), "DATETIME_FORMAT")
            return format_html("<strong>Scheduled</strong> for {}", when)
        return story.get_status_display()

    @admin.display(description="On the site")
    def site_link(self, story):
        if story.pk is None:
            return "-"
        label = "View" if story.is_live() else "Preview"
        return format_html('<a href="{}">{}</a>', story.get_absolute_url(), label)

    # List actions. Each story is saved on its own so it gets a revision and a new version.

    def change_stories(self, request, queryset, change, reason, step=None):
        done, skipped = 0, []
        for story in queryset:
            problem = change(story)
            if problem:
                skipped.append(f"“{story}” {problem}")
                continue
            story._history_user = request.user
            story._change_reason = reason
            save_story(story)
            if step is not None:
                after_step(step, story, user=request.user, absolute_url=request.build_absolute_uri)
            self.log_change(request, story, reason)
            done += 1
        if done:
            self.message_user(request, f"{reason}: {done} {pluralize_story(done)}.")
        if skipped:
            self.message_user(request, "Skipped: " + "; ".join(skipped), messages.WARNING)

    @admin.action(description="Send selected stories to review")
    def send_to_review(self, request, queryset):
        now = timezone.now()

        def change(story):
            if story.status != Story.Status.REVIEW and not self.has_change_permission(
                request, story
            ):
                return "is not yours to change"
            return take_step(Step.SEND_TO_REVIEW, story, now=now)

        self.change_stories(
            request, queryset, change, DONE[Step.SEND_TO_REVIEW], Step.SEND_TO_REVIEW
        )

    @admin.action(description="Publish selected stories now", permissions=["publish"])
    def publish_now(self, request, queryset):
        now = timezone.now()

        def change(story):
            return take_step(Step.PUBLISH, story, now=now)

        self.change_stories(request, queryset, change, DONE[Step.PUBLISH], Step.PUBLISH)

    @admin.action(description="Unpublish selected stories", permissions=["publish"])
    def unpublish(self, request, queryset):
        now = timezone.now()

        def change(story):
            return take_step(Step.UNPUBLISH, story, now=now)

        self.change_stories(request, queryset, change, DONE[Step.UNPUBLISH], Step.UNPUBLISH)

    @admin.action(
        description="Dismiss import conflicts of selected stories", permissions=["publish"]
    )
    def dismiss_import_conflicts(self, request, queryset):
        # Off the desk's "Import conflicts" panel; an import that leaves the story alone
        # again puts it back.
        dismissed, _ = ImportConflict.objects.filter(story__in=queryset).delete()
        self.message_user(request, f"Dismissed {dismissed} import conflict(s).")


def pluralize_story(count):
    return "story" if count == 1 else "stories"
