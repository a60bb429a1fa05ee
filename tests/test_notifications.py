"""Workflow e-mail: sent only once the step's transaction commits, to the right people, and
never at the cost of the step itself when the mail server is down."""

import logging

import pytest
from django.contrib.auth.models import User
from django.core.mail.backends.base import BaseEmailBackend

from stories.editorial import notifications
from stories.models import Story

from .factories import BylineFactory, StoryFactory
from .test_primary_actions import change_url, login, press

pytestmark = pytest.mark.django_db


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


@pytest.fixture
def reporter_with_byline(reporter_user):
    reporter_user.email = "rita@example.org"
    reporter_user.save()
    return reporter_user


def test_no_mail_before_commit(
    reporter_with_byline, editor_user, mailoutbox, django_capture_on_commit_callbacks
):
    editor_user.email = "ed@example.org"
    editor_user.save()
    story = StoryFactory(created_by=reporter_with_byline)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        press(login(reporter_with_byline), story, "send_to_review")
    assert mailoutbox == []  # the transaction has not committed yet
    for callback in callbacks:
        callback()
    assert [m.to for m in mailoutbox] == [["ed@example.org"]]


def test_smtp_down_never_fails_the_save(
    settings, editor_user, reporter_with_byline, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenBackend"
    story = StoryFactory(created_by=reporter_with_byline, status=Story.Status.REVIEW)
    with caplog.at_level(logging.ERROR, logger="stories.editorial.notifications"):
        with django_capture_on_commit_callbacks(execute=True):
            response = press(login(editor_user), story, "return", return_note="Shorter, please.")
    assert response.status_code == 302
    assert response["Location"] == change_url(story)
    story.refresh_from_db()
    assert story.status == Story.Status.DRAFT
    assert "Could not send" in caplog.text
    assert "SMTP server down" in caplog.text


def test_reporters_are_the_byline_accounts_and_the_maker(reporter_with_byline, editor_user):
    colleague = User.objects.create_user("col", "col@example.org", is_staff=True)
    no_address = User.objects.create_user("nomail", "", is_staff=True)
    gone = User.objects.create_user("gone", "gone@example.org", is_staff=True, is_active=False)
    bylines = [
        BylineFactory(user=colleague),
        BylineFactory(user=no_address),
        BylineFactory(user=gone),
        BylineFactory(),  # a byline with no account
    ]
    story = StoryFactory(created_by=reporter_with_byline, bylines=bylines)
    StoryFactory(bylines=[BylineFactory(user=editor_user)])  # another story's
    assert list(notifications.reporters(story)) == [reporter_with_byline, colleague]
    assert list(notifications.reporters(story, excluding=colleague)) == [reporter_with_byline]


def test_editors_are_those_who_may_publish(editor_user, reporter_user, django_user_model):
    for user in (editor_user, reporter_user):
        user.email = f"{user.username}@example.org"
        user.save()
    django_user_model.objects.create_superuser("root", "root@example.org", "x")
    assert list(notifications.editors()) == [editor_user]
