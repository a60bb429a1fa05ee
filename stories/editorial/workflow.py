"""A story's workflow: the steps from draft to the site and back, who may take each, and
what taking one implies besides the new status (a return note, notes resolved, e-mail).

The change form's buttons (``primary_actions``) and the story list's actions
(``StoryAdmin.send_to_review``, ``publish_now``, ``unpublish``) both go through
``take_step`` here, so a step means the same wherever it is taken.
"""

import copy
from datetime import timedelta

from django.db import models
from django.utils import timezone

from stories.models import ReturnNote, Story
from stories.roles import PUBLISH_PERMISSION

from . import notifications


class Step(models.TextChoices):
    SAVE_DRAFT = "save_draft", "Save draft"
    SEND_TO_REVIEW = "send_to_review", "Send to review"
    RETURN = "return", "Return to reporter"
    PUBLISH = "publish", "Publish now"
    SCHEDULE = "schedule", "Schedule"
    UNPUBLISH = "unpublish", "Unpublish"


# What a step did, for messages, the revision's reason and the admin's log.
DONE = {
    Step.SAVE_DRAFT: "Saved as a draft",
    Step.SEND_TO_REVIEW: "Sent to review",
    Step.RETURN: "Returned to the reporter",
    Step.PUBLISH: "Published",
    Step.SCHEDULE: "Scheduled",
    Step.UNPUBLISH: "Unpublished",
}

# Steps only an editor (``stories.publish_story``) may take.
EDITORS_STEPS = {Step.RETURN, Step.PUBLISH, Step.SCHEDULE, Step.UNPUBLISH}


def take_step(step, story, *, now, go_live_at=None):
    """Move ``story`` (unsaved) to where ``step`` takes it. Returns why it cannot be taken
    from where the story is (a phrase following the headline), or None once done."""
    status = story.status
    if step == Step.SAVE_DRAFT:
        if status == Story.Status.PUBLISHED:
            return "is published; unpublish it first"
        story.status = Story.Status.DRAFT
    elif step == Step.SEND_TO_REVIEW:
        if status == Story.Status.REVIEW:
            return "is already in review"
        if status == Story.Status.PUBLISHED:
            return "is published; unpublish it first"
        story.status = Story.Status.REVIEW
    elif step == Step.RETURN:
        if status != Story.Status.REVIEW:
            return "is not in review"
        story.status = Story.Status.DRAFT
    elif step == Step.PUBLISH:
        if story.is_live():
            return "is already live"
        story.status = Story.Status.PUBLISHED
        # Now means now, whatever date the story carries (an import's, or from when it was
        # last live): a past date is set on purpose, in the date field.
        story.published_at = now
    elif step == Step.SCHEDULE:
        if story.is_live():
            return "is already live; unpublish it first"
        if go_live_at is None:
            return "needs a go-live date and time"
        if go_live_at <= now:
            return "needs a go-live time in the future (to publish it now, use Publish now)"
        story.status = Story.Status.PUBLISHED
        story.published_at = go_live_at
    elif step == Step.UNPUBLISH:
        if status != Story.Status.PUBLISHED:
            return "is not published"
        story.status = Story.Status.UNPUBLISHED
    else:
        return f"has no step called {step!r}"
    return None


def steps_for(user, story, *, now=None):
    """The steps ``user`` may take on ``story`` as it is stored (or a new, unsaved one):
    the buttons they are shown, and the only ones their form accepts."""
    if not story.editable_by(user):
        return []
    may_publish = user.has_perm(PUBLISH_PERMISSION)
    now = now or timezone.now()
    steps = []
    for step in Step:
        if step in EDITORS_STEPS and not may_publish:
            continue
        if step == Step.SAVE_DRAFT and story.status == Story.Status.REVIEW:
            continue  # in review, the plain Save keeps it there; Return sends it back
        # Scheduling is offered with any future time; the form asks for the time itself.
        trial = copy.copy(story)
        if take_step(step, trial, now=now, go_live_at=now + timedelta(days=1)) is None:
            steps.append(step)
    return steps


def implied_step(old_status, story):
    """The step an edit of the status field amounts to (an editor choosing "Published" in
    the Publishing box rather than pressing Publish now), for its e-mail; or None."""
    if story.status == old_status:
        return None
    if story.status == Story.Status.REVIEW:
        return Step.SEND_TO_REVIEW
    if story.status == Story.Status.PUBLISHED:
        return Step.SCHEDULE if story.is_scheduled() else Step.PUBLISH
    return None


def after_step(step, story, *, user, absolute_url, note=""):
    """What taking ``step`` on the saved ``story`` implies: the return note recorded, open
    notes resolved, and the people concerned told by e-mail once the transaction commits.
    ``absolute_url`` (``request.build_absolute_uri``) makes the e-mail's links whole."""
    now = timezone.now()
    if step == Step.RETURN:
        return_note = ReturnNote.objects.create(story=story, author=user, text=note)
        notifications.story_returned(story, return_note, absolute_url=absolute_url)
    elif step == Step.SEND_TO_REVIEW:
        story.return_notes.filter(resolved_at__isnull=True).update(resolved_at=now)
        notifications.sent_to_review(story, by=user, absolute_url=absolute_url)
    elif step in (Step.PUBLISH, Step.SCHEDULE):
        story.return_notes.filter(resolved_at__isnull=True).update(resolved_at=now)
        notifications.story_published(story, by=user, absolute_url=absolute_url)
