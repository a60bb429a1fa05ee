"""Editorial notes on the story form: staff read and add them below the form.

A note is posted to its own address, not with the story form, so adding one saves nothing
of the story (no revision, no new version, no new content generation).
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from stories.models import StoryNote
from stories.text import CleanTextFormMixin


class StoryNoteForm(CleanTextFormMixin, forms.ModelForm):
    class Meta:
        model = StoryNote
        fields = ["text"]
        labels = {"text": "New note"}
        help_texts = {
            "text": "Seen only by staff who may edit this story, never by readers. Adding a "
            "note does not save changes made in the form above."
        }
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}
        error_messages = {"text": {"required": "Write the note before adding it."}}


class StoryNotesMixin:
    """Adds editorial notes to StoryAdmin's change form."""

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/notes/add/",
                self.admin_site.admin_view(require_POST(self.add_note_view)),
                name=f"{opts.app_label}_{opts.model_name}_add_note",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        story = self.get_object(request, unquote(object_id))
        if story is not None and StoryNote.readable_by(request.user, story):
            extra_context = {
                **(extra_context or {}),
                "story_notes": list(story.notes.select_related("author")),
                "note_form": StoryNoteForm() if StoryNote.addable_by(request.user, story) else None,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def add_note_view(self, request, object_id):
        story = self.get_object(request, unquote(object_id))
        if story is None:
            raise Http404("No such story.")
        if not StoryNote.addable_by(request.user, story):
            raise PermissionDenied
        form = StoryNoteForm(request.POST, instance=StoryNote(story=story, author=request.user))
        if form.is_valid():
            form.save()
            self.message_user(request, "Note added.")
        else:
            errors = "; ".join(error for errors in form.errors.values() for error in errors)
            self.message_user(request, f"Note not added: {errors}", messages.ERROR)
        opts = self.model._meta
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[story.pk])
        return redirect(f"{change_url}#story-notes")
