"""Saving a story in the admin without changing it records no change (README, "Safety"):
no revision, the same version and ``updated_at``. What a browser posts for an untouched body
(CRLF line breaks) is no change either; an edit, even one only to an inline, still is."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from stories.editorial.writing import BodyField
from stories.models import Story

from .admin_forms import admin_form_data
from .factories import BylineFactory, StoryFactory

BODY = '<h2>Talks</h2>\n<p>One <strong>two</strong>, <a href="https://example.org/">three</a>.</p>'


@pytest.fixture
def editor(client):
    user = User.objects.create_user("desk", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["stories", "taggit"])
    )
    client.force_login(user)
    return user


@pytest.fixture
def story(db):
    return StoryFactory(
        status="published",
        published_at=timezone.now(),
        body=BODY,
        bylines=[BylineFactory(name="Ana Lima")],
        tags=["Peru", "Chile"],
    )


def saved_state(story):
    story = Story.objects.get(pk=story.pk)
    return story.history.count(), story.version, story.updated_at, story.body


def post_form(client, story, **changes):
    url = reverse("admin:stories_story_change", args=[story.pk])
    data = admin_form_data(client.get(url), **changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    return data


@pytest.mark.django_db(transaction=True)
def test_an_unchanged_save_records_nothing(client, editor, story):
    before = saved_state(story)
    post_form(client, story)
    assert saved_state(story) == before


@pytest.mark.django_db(transaction=True)
def test_a_body_posted_with_the_browsers_crlf_line_breaks_is_unchanged(client, editor, story):
    before = saved_state(story)
    post_form(client, story, body=Story.objects.get(pk=story.pk).body.replace("\n", "\r\n"))
    assert saved_state(story) == before


@pytest.mark.django_db(transaction=True)
def test_an_edit_records_a_revision_and_keeps_an_untouched_body_as_it_was(client, editor, story):
    revisions, version, updated_at, body = saved_state(story)
    post_form(client, story, deck="A new deck.", body=body.replace("\n", "\r\n"))
    assert saved_state(story)[:2] == (revisions + 1, version + 1)
    assert saved_state(story)[2] > updated_at
    assert saved_state(story)[3] == body  # not rewritten with CRLFs


@pytest.mark.django_db(transaction=True)
def test_a_change_only_to_the_bylines_records_a_revision_with_them(client, editor, story):
    revisions, version, _, _ = saved_state(story)
    added = BylineFactory(name="Ben Okafor", slug="ben-okafor")
    post_form(
        client,
        story,
        **{"story_bylines-1-byline": str(added.pk), "story_bylines-1-position": "1"},
    )
    assert saved_state(story)[:2] == (revisions + 1, version + 1)
    latest = Story.objects.get(pk=story.pk).history.first()
    assert latest.byline_slugs[-1] == "ben-okafor"


def test_body_field_compares_html_not_bytes():
    field = BodyField(required=False)
    assert not field.has_changed("<p>a</p>\n<p>b</p>", "<p>a</p>\r\n<p>b</p>")
    assert not field.has_changed('<a href="https://x.org/">x</a>', '<a href="https://x.org/">x</a>')
    assert field.has_changed("<p>a</p>", "<p>b</p>")
    assert field.clean("<p>a</p>\r\n<p>b</p>") == "<p>a</p>\n<p>b</p>"
