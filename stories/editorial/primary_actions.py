"""The story form's primary actions: Save draft, Send to review, Return to reporter (with a
note), Publish now, Schedule, Unpublish, as buttons (``templates/admin/stories/story/
_primary_actions.html``) for the steps the user may take (``workflow.steps_for``).

A pressed button posts ``primary_action``; the form accepts only the steps the user was
offered, on the story as stored, and turns the step into the status and date it saves, so
the model's checks and the stale-save guard see the final state. ``PrimaryActionsMixin``
(on ``StoryAdmin``) refuses a forged step with a 403 before the form is even read;
``StoryAdmin.save_related`` records the step's consequences (``workflow.after_step``) once
the story and its bylines are saved.
"""

import copy

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from stories.models import Story
from stories.text import multiline_text

from .forms import StoryAdminForm
from .workflow import DONE, Step, steps_for, take_step


class GoLiveWidget(AdminSplitDateTime):
    """The admin's date and time boxes, each named for screen readers (the fieldset's
    legend names the pair)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = "Go-live date"
        self.widgets[1].attrs["aria-label"] = "Go-live time"


class StoryWorkflowForm(StoryAdminForm):
    primary_action = forms.ChoiceField(choices=Step.choices, required=False)
    return_note = forms.CharField(
        label="Note to the reporter",
        required=False,
        max_length=2000,
        validators=[multiline_text],
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What to change before it comes back. The reporter gets it by e-mail "
        "and on their desk.",
    )
    go_live_at = forms.SplitDateTimeField(
        label="Go live at",
        required=False,
        widget=GoLiveWidget,
        help_text="Date and time (site time) readers will first see it.",
    )

    class Media:
        css = {"all": ["stories/desk.css"]}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = timezone.now()
        self.steps = steps_for(self.user, self.instance, now=self.now) if self.user else []

    @property
    def step_buttons(self):
        """The plain buttons (Return and Schedule come with their own fields)."""
        return [step for step in self.steps if step not in (Step.RETURN, Step.SCHEDULE)]

    @property
    def may_return(self):
        return Step.RETURN in self.steps

    @property
    def may_schedule(self):
        return Step.SCHEDULE in self.steps

    def clean(self):
        cleaned_data = super().clean()
        step = cleaned_data.get("primary_action")
        if not step:
            self.publish_undated_now(cleaned_data)
            return cleaned_data
        if step not in self.steps:
            raise forms.ValidationError(
                f"You cannot “{Step(step).label}” this story.", code="step_refused"
            )
        if step == Step.RETURN and not cleaned_data.get("return_note", "").strip():
            self.add_error("return_note", "Write a note saying what the reporter should change.")
            return cleaned_data
        if step == Step.SCHEDULE and "go_live_at" in self.errors:
            return cleaned_data
        # On the story as stored: self.instance gets the posted values only after clean().
        story = copy.copy(self.instance)
        problem = take_step(step, story, now=self.now, go_live_at=cleaned_data.get("go_live_at"))
        if problem:
            field = "go_live_at" if step == Step.SCHEDULE else None
            self.add_error(field, f"This story {problem}.")
            return cleaned_data
        cleaned_data["status"] = story.status
        if "published_at" in self.fields:
            cleaned_data["published_at"] = story.published_at
        return cleaned_data

    def publish_undated_now(self, cleaned_data):
        # "Published" chosen in the Publishing box with no date means now, as Publish now does.
        if (
            cleaned_data.get("status") == Story.Status.PUBLISHED
            and "published_at" in self.fields
            and cleaned_data.get("published_at") is None
            and "published_at" not in self.errors
        ):
            cleaned_data["published_at"] = self.now

    @property
    def step(self):
        """The step a valid form takes, if a button was pressed."""
        value = self.cleaned_data.get("primary_action")
        return Step(value) if value else None


class PrimaryActionsMixin:
    """For ``StoryAdmin``: a forged step refused, and after a step, the story shown again."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        step = request.POST.get("primary_action") if request.method == "POST" else None
        if step:
            # Refused outright, before anything is read or saved: a step the user was not
            # offered is a forged request, not a mistake to show in the form.
            story = Story() if object_id is None else self.get_object(request, unquote(object_id))
            if story is not None and step not in steps_for(request.user, story):
                raise PermissionDenied
        return super().changeform_view(request, object_id, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):
        return self.response_step(request, obj) or super().response_add(
            request, obj, post_url_continue
        )

    def response_change(self, request, obj):
        return self.response_step(request, obj) or super().response_change(request, obj)

    def response_step(self, request, obj):
        step = request.POST.get("primary_action")
        if step not in Step.values:
            return None
        self.message_user(request, f"{DONE[Step(step)]}: “{obj}”.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:stories_story_change", args=[obj.pk]))
