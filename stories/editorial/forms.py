"""Admin forms: the story form's server-side rules, and the briefing upload."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelectMultiple
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.text import slugify
from taggit.models import Tag

from stories.importer.parser import BriefingError
from stories.importer.sources import refuse_oversized
from stories.models import Section, Story
from stories.text import CleanTextFormMixin, single_line_text

from .writing import WRITING_WIDGETS, BodyField, warn_about_live_slug

REPORTER_STATUSES = (Story.Status.DRAFT, Story.Status.REVIEW)


def new_tag_names(text):
    """The names typed in "New tags", separated by commas only, as its help says: taggit's
    ``parse_tags`` splits a list with no comma at its spaces, so "South Sudan" became two
    tags. Blank names are dropped, repeats kept once, in the order typed."""
    names = (name.strip().strip('"').strip() for name in text.split(","))
    return list(dict.fromkeys(name for name in names if name))


class TagAutocomplete(AutocompleteSelectMultiple):
    def optgroups(self, name, value, attr=None):
        # A hand-made post may carry tag names instead of ids: the form shows "not a valid
        # value" for them rather than failing to render.
        return super().optgroups(name, [v for v in value if str(v).isdigit()], attr)


class StoryAdminForm(CleanTextFormMixin, forms.ModelForm):
    """The story change form. ``user`` is set by StoryAdmin.get_form.

    Rules are checked here, on the server, whatever the browser was shown: only users with
    ``stories.publish_story`` may publish, schedule or unpublish, and a save made on a copy
    of the story older than the stored one is refused (optimistic locking on ``version``).
    """

    user = None

    # The admin's autocomplete (select2) searches TagAdmin, like section and bylines do.
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(),
        required=False,
        widget=TagAutocomplete(Story._meta.get_field("tags"), admin.site),
        help_text="Start typing to find a tag; add new ones below.",
    )
    new_tags = forms.CharField(
        required=False,
        help_text="Tags that do not exist yet, separated by commas.",
    )
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    is_substantive = forms.BooleanField(
        label="Substantive update",
        required=False,
        help_text="Tick for a real update to a published story: it moves the public "
        "'Updated' time. Leave unticked for typo fixes.",
    )

    class Meta:
        model = Story
        # StoryAdmin's fieldsets choose the fields shown; these are all an editor may set.
        fields = [
            "headline",
            "slug",
            "deck",
            "dateline",
            "body",
            "section",
            "tags",
            "lead_image",
            "status",
            "published_at",
        ]
        # The body's rich-text editor, character counts, the live slug's warning.
        widgets = WRITING_WIDGETS
        field_classes = {"body": BodyField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        warn_about_live_slug(self)
        # New stories have nothing to be out of date with; every edit of a stored one must
        # say which version it was made on.
        self.fields["loaded_version"].required = self.instance.pk is not None
        if not self.is_bound:
            self.initial["loaded_version"] = self.instance.version
        status = self.fields.get("status")
        if status is not None and not self.may_publish:
            status.choices = [choice for choice in status.choices if choice[0] in REPORTER_STATUSES]
            status.help_text = "Editors publish; send the story to review when it is ready."

    @property
    def may_publish(self):
        return self.user is not None and self.user.has_perm("stories.publish_story")

    @cached_property
    def changed_data(self):
        changed = super().changed_data
        # The lock says which version the edit was made on; it is not an edit.
        return [name for name in changed if name != "loaded_version"]

    def clean_status(self):
        status = self.cleaned_data["status"]
        if status not in REPORTER_STATUSES and not self.may_publish:
            raise forms.ValidationError("Only editors may publish or unpublish a story.")
        return status

    def clean_published_at(self):
        published_at = self.cleaned_data["published_at"]
        stored = self.instance.published_at
        # The date widget shows whole seconds: an untouched date keeps its microseconds, so
        # a save does not record a change the editor never made.
        if published_at and stored and published_at == stored.replace(microsecond=0):
            return stored
        return published_at

    def clean_new_tags(self):
        names = new_tag_names(self.cleaned_data.get("new_tags", ""))
        limit = Tag._meta.get_field("name").max_length
        for name in names:
            if len(name) > limit:
                raise forms.ValidationError(
                    f"The tag “{name[:40]}…” is {len(name)} characters long; tags are limited "
                    f"to {limit}."
                )
            # The tag's address is made from its letters and digits (taggit's slugify).
            if not Tag().slugify(name):
                raise forms.ValidationError(
                    f"The tag “{name}” has no letter or digit, so it could have no address."
                )
        return names

    def clean(self):
        cleaned_data = super().clean()
        self.check_version(cleaned_data.get("loaded_version"))
        return cleaned_data

    def check_version(self, version):
        if self.instance.pk is None or version is None:
            return
        # Locked until the admin's transaction ends, so two saves cannot pass this together.
        stored = (
            Story.objects.select_for_update()
            .filter(pk=self.instance.pk)
            .values("version", "updated_at")
            .first()
        )
        if stored is None or stored["version"] == version:
            return
        last = (
            Story.history.filter(id=self.instance.pk)
            .select_related("history_user")
            .order_by("-history_date")
            .first()
        )
        who = last.history_user if last is not None and last.history_user else "someone"
        raise forms.ValidationError(
            "Not saved: %(who)s changed this story at %(when)s, after you opened it. "
            "Your edits are still in this form. Open the story in a new tab to see the "
            "current version (its history shows what changed), carry your changes over "
            "there and save it.",
            code="stale",
            params={
                "who": who,
                "when": date_format(timezone.localtime(stored["updated_at"]), "DATETIME_FORMAT"),
            },
        )

    def _save_m2m(self):
        super()._save_m2m()
        new_tags = self.cleaned_data.get("new_tags")
        if new_tags:
            self.instance.tags.add(*new_tags)


class PreviewLinkForm(forms.ModelForm):
    """A row of the story's preview links. ``absolute_url`` (``request.build_absolute_uri``)
    gives the row the full address to show."""

    def __init__(self, *args, absolute_url=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and absolute_url is not None:
            self.instance.absolute_url = absolute_url(self.instance.get_absolute_url())
        if self.instance.is_revoked and "is_revoked" in self.fields:
            # Final: a disabled field keeps the stored value whatever is posted.
            self.fields["is_revoked"].disabled = True

    def has_changed(self):
        # A row added with "Add another" is a request for a link, even with the default
        # expiry untouched; the formset would skip it as empty otherwise.
        return self.instance.pk is None or super().has_changed()


class ImportBriefingForm(CleanTextFormMixin, forms.Form):
    """Step one of the admin import: the file and how to import it."""

    briefing = forms.FileField(
        required=False,
        help_text="A plain-text UTF-8 briefing, the same file the import_briefing command reads.",
    )
    # Set on the confirmation step: the signed name of the upload kept since the preview.
    staged = forms.CharField(required=False, widget=forms.HiddenInput)
    section = forms.ModelChoiceField(
        queryset=Section.objects.all(),
        to_field_name="slug",
        required=False,
        initial="world",  # the briefings' usual desk, when it exists
        empty_label="Choose a section",
        help_text="The section the briefing's stories go in.",
    )
    new_section = forms.CharField(
        label="Or a new section",
        required=False,
        max_length=Section._meta.get_field("name").max_length,
        validators=[single_line_text],
        help_text="To create a section with this import, type its name here; it is used "
        "instead of the list above.",
    )
    date = forms.DateField(
        required=False,
        widget=AdminDateWidget,
        help_text="Publication date. Empty: a date leading the file name, or today.",
    )
    status = forms.ChoiceField(
        choices=[
            (status.value, status.label)
            for status in (Story.Status.DRAFT, Story.Status.REVIEW, Story.Status.PUBLISHED)
        ],
        initial=Story.Status.DRAFT,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_perm("stories.publish_story"):
            self.fields["status"].choices = [(Story.Status.DRAFT, Story.Status.DRAFT.label)]
            self.fields["status"].help_text = "Reporters import drafts; editors publish them."
            # The importer refuses a date from them too: see stories.importer.plan.Plan.
            self.fields["date"].disabled = True
            self.fields["date"].help_text = "Reporters import undated drafts; editors date them."
        if not user.has_perm("stories.add_section"):
            # Sections are an editor's to make; the importer refuses a new one from others.
            del self.fields["new_section"]

    def clean(self):
        cleaned_data = super().clean()
        section = cleaned_data.get("section")
        name = (cleaned_data.get("new_section") or "").strip()
        # A typed new section wins: the list comes preselected, so it is only the fallback.
        if name:
            cleaned_data["section"] = None
            slug = slugify(name, allow_unicode=True)[: Section._meta.get_field("slug").max_length]
            if not slug:
                self.add_error("new_section", f"The section name “{name}” has no letter or digit.")
            elif Section.objects.filter(Q(slug=slug) | Q(name__iexact=name)).exists():
                self.add_error(
                    "new_section", f"There is already a section “{name}”: choose it from the list."
                )
            else:
                cleaned_data["new_section"] = name
                cleaned_data["section_slug"] = slug
        elif section is not None:
            cleaned_data["section_slug"] = section.slug
        elif "section" not in self.errors:
            self.add_error("section", "Choose the section the stories go in.")
        return cleaned_data

    def clean_briefing(self):
        upload = self.cleaned_data["briefing"]
        if upload is None:
            # Only the confirmation step imports the upload kept since the preview.
            if not (self.data.get("staged") and "confirm" in self.data):
                raise forms.ValidationError("Choose a briefing file to import.")
            return None
        try:
            refuse_oversized(upload.size, upload.name)
        except BriefingError as error:
            raise forms.ValidationError(str(error)) from None
        return upload
