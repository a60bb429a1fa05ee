"""The story form's primary actions (Save draft, Send to review, Return to reporter, Publish
now, Schedule, Unpublish): who is shown which, what each does, and what is refused."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stories.models import ReturnNote, Story

from .admin_forms import admin_form_data
from .factories import BylineFactory, StoryFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:stories_story_add")
CHANGELIST = reverse("admin:stories_story_changelist")
EDITOR_ONLY = ["return", "publish", "schedule", "unpublish"]


def change_url(story):
    return reverse("admin:stories_story_change", args=[story.pk])


def login(user):
    client = Client()
    assert client.login(request=HttpRequest(), username=user.username, password="pw-for-tests-only")
    return client


def buttons(response):
    """The primary actions the page offers, by value."""
    return re.findall(r'name="primary_action" value="(\w+)"', response.content.decode())


def press(client, story, step, **changes):
    """Open the story's form and press the ``step`` button, with ``changes`` typed first."""
    url = change_url(story) if story is not None else ADD
    response = client.get(url)
    assert response.status_code == 200
    return client.post(url, admin_form_data(response, primary_action=step, **changes))


def form_errors(response):
    form = response.context["adminform"].form
    return [str(error) for errors in form.errors.values() for error in errors]


@pytest.fixture
def reporter_story(reporter_user):
    byline = BylineFactory(name="Rita Reporter", user=reporter_user)
    return StoryFactory(created_by=reporter_user, bylines=[byline])


@pytest.fixture
def emails(reporter_user, editor_user):
    reporter_user.email = "rita@example.org"
    reporter_user.save()
    editor_user.email = "ed@example.org"
    editor_user.save()


# What each role is shown


def test_reporter_is_shown_only_draft_and_review_buttons(reporter_user, reporter_story):
    client = login(reporter_user)
    assert buttons(client.get(change_url(reporter_story))) == ["save_draft", "send_to_review"]
    assert buttons(client.get(ADD)) == ["save_draft", "send_to_review"]
    page = client.get(change_url(reporter_story)).content.decode()
    assert "Note to the reporter" not in page
    assert "Go live at" not in page


def test_reporter_sees_no_buttons_on_a_story_they_may_not_change(reporter_user):
    story = StoryFactory(status=Story.Status.REVIEW)  # someone else's
    assert buttons(login(reporter_user).get(change_url(story))) == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, ["save_draft", "send_to_review", "publish", "schedule"]),
        ({"status": Story.Status.REVIEW}, ["return", "publish", "schedule"]),
        ({"published": True}, ["unpublish"]),
        ({"scheduled": True}, ["publish", "schedule", "unpublish"]),
        (
            {"status": Story.Status.UNPUBLISHED},
            ["save_draft", "send_to_review", "publish", "schedule"],
        ),
    ],
)
def test_editor_is_shown_the_steps_the_story_allows(editor_user, state, expected):
    story = StoryFactory(**state)
    assert sorted(buttons(login(editor_user).get(change_url(story)))) == sorted(expected)


def test_buttons_follow_djangos_save_row_so_enter_still_saves(editor_user):
    page = login(editor_user).get(change_url(StoryFactory())).content.decode()
    assert page.index('name="_save"') < page.index('name="primary_action"')


# Reporters, from the refused side


@pytest.mark.parametrize("step", EDITOR_ONLY)
def test_reporter_forging_an_editors_step_is_refused_and_nothing_changes(
    reporter_user, reporter_story, step, mailoutbox
):
    if step == "return":
        reporter_story.status = Story.Status.REVIEW
        reporter_story.save()
    before = Story.objects.values().get(pk=reporter_story.pk)
    response = press(
        login(reporter_user),
        reporter_story,
        step,
        headline="Forged",
        return_note="ok",
        go_live_at_0="2030-01-01",
        go_live_at_1="12:00:00",
    )
    assert response.status_code == 403
    assert Story.objects.values().get(pk=reporter_story.pk) == before
    assert not ReturnNote.objects.exists()
    assert mailoutbox == []


def test_reporter_forging_publish_on_a_new_story_creates_nothing(reporter_user):
    client = login(reporter_user)
    section = StoryFactory().section
    response = client.post(
        ADD,
        admin_form_data(
            client.get(ADD),
            headline="Forged",
            body="Body.",
            section=section.pk,
            primary_action="publish",
        ),
    )
    assert response.status_code == 403
    assert not Story.objects.filter(headline="Forged").exists()


def test_unknown_step_is_refused(editor_user):
    story = StoryFactory()
    assert press(login(editor_user), story, "delete_everything").status_code == 403


def test_step_the_story_does_not_allow_is_refused(editor_user):
    story = StoryFactory(published=True)  # live: nothing to publish
    response = press(login(editor_user), story, "publish")
    assert response.status_code == 403
    assert press(login(editor_user), story, "return").status_code == 403


# Reporters' steps


def test_reporter_sends_to_review_with_the_button(
    reporter_user,
    editor_user,
    reporter_story,
    emails,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = press(login(reporter_user), reporter_story, "send_to_review", deck="Ready.")
    assert response.status_code == 302
    assert response["Location"] == change_url(reporter_story)
    reporter_story.refresh_from_db()
    assert reporter_story.status == Story.Status.REVIEW
    assert reporter_story.deck == "Ready."  # the form's edits are saved with the step
    revision = reporter_story.history.first()
    assert revision.history_change_reason == "Sent to review"
    assert revision.history_user == reporter_user
    assert [m.to for m in mailoutbox] == [["ed@example.org"]]
    assert reporter_story.headline in mailoutbox[0].subject
    assert f"/admin/stories/story/{reporter_story.pk}/change/" in mailoutbox[0].body


def test_save_draft_on_a_new_story_makes_a_draft_and_shows_it_again(reporter_user):
    client = login(reporter_user)
    section = StoryFactory().section
    response = client.post(
        ADD,
        admin_form_data(
            client.get(ADD),
            headline="Fresh",
            body="Body.",
            section=section.pk,
            status="review",
            primary_action="save_draft",
        ),
    )
    story = Story.objects.get(headline="Fresh")
    assert response["Location"] == change_url(story)
    assert story.status == Story.Status.DRAFT
    assert story.created_by == reporter_user


# Editors' steps


def test_editor_returns_a_story_with_a_note(
    editor_user,
    reporter_user,
    reporter_story,
    emails,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    reporter_story.status = Story.Status.REVIEW
    reporter_story.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = press(
            login(editor_user), reporter_story, "return", return_note="Source the second quote."
        )
    assert response.status_code == 302
    reporter_story.refresh_from_db()
    assert reporter_story.status == Story.Status.DRAFT
    note = ReturnNote.objects.get()
    assert (note.story, note.author, note.text) == (
        reporter_story,
        editor_user,
        "Source the second quote.",
    )
    assert note.resolved_at is None
    assert [m.to for m in mailoutbox] == [["rita@example.org"]]
    assert "Source the second quote." in mailoutbox[0].body

    # Sent back to review: the note is answered.
    press(login(reporter_user), reporter_story, "send_to_review")
    note.refresh_from_db()
    assert note.resolved_at is not None


def test_return_needs_a_note(editor_user, reporter_story, mailoutbox):
    reporter_story.status = Story.Status.REVIEW
    reporter_story.save()
    response = press(login(editor_user), reporter_story, "return", return_note="  ")
    assert response.status_code == 200
    assert "Write a note saying what the reporter should change." in form_errors(response)
    reporter_story.refresh_from_db()
    assert reporter_story.status == Story.Status.REVIEW
    assert not ReturnNote.objects.exists()


def test_editor_publishes_now(
    editor_user, reporter_story, emails, mailoutbox, django_capture_on_commit_callbacks
):
    reporter_story.published_at = timezone.now() - timedelta(days=30)  # an old date is ignored
    reporter_story.save()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        press(login(editor_user), reporter_story, "publish")
    reporter_story.refresh_from_db()
    assert reporter_story.is_live()
    assert reporter_story.published_at >= before
    assert [m.to for m in mailoutbox] == [["rita@example.org"]]
    assert mailoutbox[0].subject.startswith("Published:")


def test_editor_schedules_with_a_date_and_time(
    editor_user, reporter_story, emails, mailoutbox, django_capture_on_commit_callbacks
):
    when = timezone.localtime() + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = press(
            login(editor_user),
            reporter_story,
            "schedule",
            go_live_at_0=when.strftime("%Y-%m-%d"),
            go_live_at_1="09:30:00",
        )
    assert response.status_code == 302
    reporter_story.refresh_from_db()
    assert reporter_story.is_scheduled()
    assert timezone.localtime(reporter_story.published_at).strftime("%Y-%m-%d %H:%M") == (
        when.strftime("%Y-%m-%d") + " 09:30"
    )
    assert mailoutbox[0].subject.startswith("Scheduled:")
    assert "goes live at" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("date", "time", "message"),
    [
        ("", "", "needs a go-live date and time"),
        ("2001-01-01", "09:00:00", "needs a go-live time in the future"),
        ("2001-13-45", "09:00:00", "Enter a valid date."),
    ],
)
def test_schedule_needs_a_future_time(editor_user, date, time, message):
    story = StoryFactory()
    response = press(login(editor_user), story, "schedule", go_live_at_0=date, go_live_at_1=time)
    assert response.status_code == 200
    assert any(message in error for error in form_errors(response))
    story.refresh_from_db()
    assert story.status == Story.Status.DRAFT


def test_editor_unpublishes(editor_user):
    story = StoryFactory(published=True)
    press(login(editor_user), story, "unpublish")
    story.refresh_from_db()
    assert story.status == Story.Status.UNPUBLISHED
    assert not story.is_live()


def test_stale_save_guard_still_holds_for_buttons(editor_user):
    story = StoryFactory(status=Story.Status.REVIEW)
    client = login(editor_user)
    opened = client.get(change_url(story))
    Story.objects.get(pk=story.pk).save()  # someone else saves meanwhile
    response = client.post(change_url(story), admin_form_data(opened, primary_action="publish"))
    assert response.status_code == 200
    assert any("Not saved" in error for error in form_errors(response))
    story.refresh_from_db()
    assert story.status == Story.Status.REVIEW


# The list's actions share the steps


def test_list_action_send_to_review_mails_the_editors(
    reporter_user, reporter_story, emails, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(reporter_user).post(
            CHANGELIST, {"action": "send_to_review", "_selected_action": [reporter_story.pk]}
        )
    reporter_story.refresh_from_db()
    assert reporter_story.status == Story.Status.REVIEW
    assert [m.to for m in mailoutbox] == [["ed@example.org"]]


def test_editor_choosing_published_in_the_status_field_mails_the_reporters(
    editor_user, reporter_story, emails, mailoutbox, django_capture_on_commit_callbacks
):
    client = login(editor_user)
    response = client.get(change_url(reporter_story))
    data = admin_form_data(response, status="published", published_at_0="", published_at_1="")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(reporter_story), data)
    reporter_story.refresh_from_db()
    assert reporter_story.is_live()
    assert [m.to for m in mailoutbox] == [["rita@example.org"]]


def test_nobody_is_mailed_about_their_own_step(
    editor_user, emails, mailoutbox, django_capture_on_commit_callbacks
):
    other_editor = User.objects.create_user("eve", "eve@example.org", is_staff=True)
    other_editor.groups.add(*editor_user.groups.all())
    story = StoryFactory(created_by=editor_user)
    with django_capture_on_commit_callbacks(execute=True):
        press(login(editor_user), story, "send_to_review")
        press(login(editor_user), story, "publish")
    # Review goes to the other editor only; the publication to no one (the editor made it).
    assert [m.to for m in mailoutbox] == [["eve@example.org"]]


# Outside the test transaction, as a real server runs: the stale-save lock
# (select_for_update) needs the admin's transaction, and mail goes out on a real commit.


@pytest.mark.django_db(transaction=True)
def test_buttons_outside_a_test_transaction(make_staff, mailoutbox):
    reporter = make_staff("rita", "Reporter")
    editor = make_staff("ed", "Editor")
    User.objects.filter(pk=reporter.pk).update(email="rita@example.org")
    User.objects.filter(pk=editor.pk).update(email="ed@example.org")
    story = StoryFactory(created_by=reporter)
    as_reporter, as_editor = login(reporter), login(editor)

    assert press(as_reporter, story, "publish").status_code == 403
    assert press(as_reporter, story, "send_to_review").status_code == 302
    assert press(as_editor, story, "return", return_note="More context.").status_code == 302
    assert press(as_reporter, story, "send_to_review").status_code == 302
    when = timezone.localtime() + timedelta(days=1)
    response = press(
        as_editor,
        story,
        "schedule",
        go_live_at_0=when.strftime("%Y-%m-%d"),
        go_live_at_1="08:00:00",
    )
    assert response.status_code == 302
    assert press(as_editor, story, "publish").status_code == 302
    assert press(as_editor, story, "unpublish").status_code == 302

    story.refresh_from_db()
    assert story.status == Story.Status.UNPUBLISHED
    assert ReturnNote.objects.get().resolved_at is not None
    assert [(m.to[0], m.subject.split(":")[0]) for m in mailoutbox] == [
        ("ed@example.org", "For review"),
        ("rita@example.org", "Returned to you"),
        ("ed@example.org", "For review"),
        ("rita@example.org", "Scheduled"),
        ("rita@example.org", "Published"),
    ]
    reasons = list(
        story.history.order_by("history_date").values_list("history_change_reason", flat=True)
    )
    assert reasons[-6:] == [
        "Sent to review",
        "Returned to the reporter",
        "Sent to review",
        "Scheduled",
        "Published",
        "Unpublished",
    ]
