"""Editorial notes: staff comments on a story, below its form, that readers never see and
that change nothing readers see (no revision, no version, no new content generation)."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from stories.delivery.generation import cached_generation, current_generation
from stories.models import Story, StoryNote

from .factories import StoryFactory

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


def change_url(story):
    return reverse("admin:stories_story_change", args=[story.pk])


def note_url(story):
    return reverse("admin:stories_story_add_note", args=[story.pk])


def test_editor_adds_a_note_that_shows_below_the_form_and_saves_nothing_of_the_story(
    editor_user,
):
    story = StoryFactory(published=True)
    version, revisions = story.version, story.history.count()
    generation = current_generation()
    client = login(editor_user)
    response = client.post(note_url(story), {"text": "Check the <b>figure</b>\nwith the ministry."})
    assert response.status_code == 302
    assert response["Location"] == change_url(story) + "#story-notes"
    note = StoryNote.objects.get()
    assert (note.story, note.author, note.text) == (
        story,
        editor_user,
        "Check the <b>figure</b>\nwith the ministry.",
    )
    story.refresh_from_db()
    assert (story.version, story.history.count()) == (version, revisions)
    assert cached_generation() == generation  # reader caches kept
    page = client.get(change_url(story)).content.decode()
    assert 'id="story-notes"' in page
    assert "Check the &lt;b&gt;figure&lt;/b&gt;\nwith the ministry." in page
    assert 'action="' + note_url(story) + '"' in page


def test_reporters_see_and_add_notes_on_the_stories_they_may_edit_only(reporter_user, editor_user):
    own = StoryFactory(created_by=reporter_user)
    others = StoryFactory(created_by=editor_user)
    published_own = StoryFactory(created_by=reporter_user, published=True)
    for story in (own, others, published_own):
        StoryNote.objects.create(story=story, author=editor_user, text=f"Note on {story.pk}")
    client = login(reporter_user)
    assert f"Note on {own.pk}" in client.get(change_url(own)).content.decode()
    assert client.post(note_url(own), {"text": "Done."}).status_code == 302
    for story in (others, published_own):
        page = client.get(change_url(story))
        assert page.status_code == 200  # they may look at the story, read-only
        assert f"Note on {story.pk}" not in page.content.decode()
        assert 'id="story-notes"' not in page.content.decode()
        assert client.post(note_url(story), {"text": "Forged."}).status_code == 403
    assert not StoryNote.objects.filter(text="Forged.").exists()
    assert StoryNote.objects.filter(story=own, author=reporter_user, text="Done.").exists()


def test_notes_are_refused_to_everyone_else(editor_user):
    story = StoryFactory()
    url = note_url(story)
    anonymous = Client().post(url, {"text": "x"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    reader = User.objects.create_user("reader", password="x")
    assert login(reader).post(url, {"text": "x"}).status_code == 302  # the admin's login
    staff = User.objects.create_user("temp", password="x", is_staff=True)
    assert login(staff).post(url, {"text": "x"}).status_code == 403
    assert login(editor_user).get(url).status_code == 405
    assert (
        login(editor_user).post(reverse("admin:stories_story_add_note", args=[0])).status_code
        == 404
    )
    assert not StoryNote.objects.exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Write the note before adding it."),
        ("   ", "Write the note before adding it."),
        ("x" * 2001, "at most 2000 characters"),
        ("bell\x07", "control character"),
    ],
)
def test_bad_notes_are_refused_with_a_reason(editor_user, text, error):
    story = StoryFactory()
    client = login(editor_user)
    response = client.post(note_url(story), {"text": text}, follow=True)
    assert error in response.content.decode()
    assert not StoryNote.objects.exists()


def test_change_form_queries_are_flat_in_the_number_of_notes(editor_user):
    story = StoryFactory()
    client = login(editor_user)
    StoryNote.objects.create(story=story, author=editor_user, text="One")
    client.get(change_url(story))  # warm: content types

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(change_url(story)).status_code == 200
        return len(queries)

    one = count()
    for number in range(10):
        author = User.objects.create_user(f"author{number}", is_staff=True)
        StoryNote.objects.create(story=story, author=author, text=f"Note {number}")
    assert count() == one


def test_notes_go_with_their_story_and_outlive_their_author(editor_user, make_staff):
    story = StoryFactory()
    author = make_staff("leaver", "Reporter")
    StoryNote.objects.create(story=story, author=author, text="Ask the mayor.")
    author.delete()
    page = login(editor_user).get(change_url(story)).content.decode()
    assert "Ask the mayor." in page and "A former account" in page
    Story.objects.filter(pk=story.pk).delete()
    assert not StoryNote.objects.exists()
