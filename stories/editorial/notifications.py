"""E-mail about a story's workflow: editors hear when a story is sent to review, its
reporters when it is returned with a note or published (or scheduled).

Sent with Django's e-mail framework (``EMAIL_BACKEND``, set from ``EMAIL_URL`` in
settings) once the transaction that took the step commits: a rolled-back save tells no one.
A mail server that is down is logged, never turned into a failed save: the story is
already saved by then.
"""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from stories.roles import PUBLISH_PERMISSION

logger = logging.getLogger(__name__)


def display_name(user):
    if user is None:
        return "Someone"
    return user.get_full_name() or user.get_username()


def reachable(users):
    return users.filter(is_active=True, is_staff=True).exclude(email="")


def editors(*, excluding=None):
    """Everyone holding the publish permission through a role or on their own (superusers,
    who hold every permission without being editors, are not written to)."""
    app_label, codename = PUBLISH_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    users = reachable(get_user_model().objects).filter(
        Q(groups__permissions__in=permission) | Q(user_permissions__in=permission)
    )
    if excluding is not None:
        users = users.exclude(pk=excluding.pk)
    return users.distinct().order_by("pk")


def reporters(story, *, excluding=None):
    """The story's reporters: the accounts its bylines are linked to, and whoever made it."""
    users = reachable(get_user_model().objects).filter(
        Q(byline__story_bylines__story=story) | Q(pk=story.created_by_id)
    )
    if excluding is not None:
        users = users.exclude(pk=excluding.pk)
    return users.distinct().order_by("pk")


def send_after_commit(subject, body, recipients):
    """One message per recipient (no one sees the others' addresses), sent after commit."""
    messages = [EmailMessage(subject, body, to=[user.email]) for user in recipients]
    if not messages:
        return

    def send():
        try:
            get_connection().send_messages(messages)
        except Exception:
            # The step is saved; a mail server that is down must not make it look failed.
            logger.exception("Could not send “%s” to %d people", subject, len(messages))

    transaction.on_commit(send)


def sent_to_review(story, *, by, absolute_url):
    send_after_commit(
        f"For review: {story.headline}",
        f"{display_name(by)} sent “{story.headline}” to review.\n\n"
        f"Review it: {absolute_url(story_admin_path(story))}\n",
        editors(excluding=by),
    )


def story_returned(story, return_note, *, absolute_url):
    send_after_commit(
        f"Returned to you: {story.headline}",
        f"{display_name(return_note.author)} returned “{story.headline}” to you with this "
        f"note:\n\n{return_note.text}\n\n"
        f"Open the story: {absolute_url(story_admin_path(story))}\n",
        reporters(story, excluding=return_note.author),
    )


def story_published(story, *, by, absolute_url):
    if story.is_scheduled():
        when = date_format(timezone.localtime(story.published_at), "DATETIME_FORMAT")
        subject = f"Scheduled: {story.headline}"
        what = f"scheduled “{story.headline}”: it goes live at {when}"
    else:
        subject = f"Published: {story.headline}"
        what = f"published “{story.headline}”: it is on the site now"
    send_after_commit(
        subject,
        f"{display_name(by)} {what}.\n\n"
        f"Its address: {absolute_url(story.get_absolute_url())}\n"
        f"In the admin: {absolute_url(story_admin_path(story))}\n",
        reporters(story, excluding=by),
    )


def story_admin_path(story):
    return reverse("admin:stories_story_change", args=[story.pk])
