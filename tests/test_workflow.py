"""Roles and the story workflow, acted out by real Reporter and Editor users in the admin."""

from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag

from stories.importer import import_briefings, read_briefing_file
from stories.models import Correction, Story
from stories.roles import EDITOR, REPORTER, sync_roles

from .admin_forms import admin_form_data
from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:stories_story_changelist")


def change_url(story):
    return reverse("admin:stories_story_change", args=[story.pk])


def login(user):
    client = Client()
    # django-axes checks every login against the request it came with.
    assert client.login(request=HttpRequest(), username=user.username, password="pw-for-tests-only")
    return client


def save(client, story, **changes):
    """Open the story's change form and save it with ``changes``, as a browser would."""
    response = client.get(change_url(story))
    assert response.status_code == 200
    return client.post(change_url(story), admin_form_data(response, **changes))


def form_errors(response):
    form = response.context["adminform"].form
    return [str(error) for errors in form.errors.values() for error in errors]


# Roles


def test_roles_groups_are_made_by_the_migration_with_their_permissions():
    reporter = set(Group.objects.get(name=REPORTER).permissions.values_list("codename", flat=True))
    editor = set(Group.objects.get(name=EDITOR).permissions.values_list("codename", flat=True))
    assert {"add_story", "change_story", "view_section", "view_tag"} <= reporter
    assert "publish_story" not in reporter
    assert "add_section" not in reporter
    assert {"publish_story", "add_section", "change_byline", "delete_tag"} <= editor
    assert "change_correction" not in editor  # corrections are append-only


def test_roles_sync_restores_drifted_permissions():
    editors = Group.objects.get(name=EDITOR)
    editors.permissions.remove(Permission.objects.get(codename="publish_story"))
    Group.objects.get(name=REPORTER).permissions.add(
        Permission.objects.get(codename="publish_story")
    )
    sync_roles(django_apps)
    assert editors.permissions.filter(codename="publish_story").exists()
    reporters = Group.objects.get(name=REPORTER)
    assert not reporters.permissions.filter(codename="publish_story").exists()


def test_reporter_may_not_manage_sections_editor_may(reporter_user, editor_user):
    data = {"name": "Sport", "slug": "sport", "position": "0", "description": ""}
    add = reverse("admin:stories_section_add")
    assert login(reporter_user).post(add, data).status_code == 403
    assert login(editor_user).post(add, data).status_code == 302


# Publishing


def test_reporter_form_offers_no_publishing(reporter_user):
    client = login(reporter_user)
    response = client.get(reverse("admin:stories_story_add"))
    status = response.context["adminform"].form.fields["status"]
    status_choices = [value for value, _ in status.choices]
    assert status_choices == ["draft", "review"]
    assert "published_at" not in response.context["adminform"].form.fields


def test_reporter_publishing_through_the_form_is_refused(reporter_user):
    story = StoryFactory(created_by=reporter_user)
    client = login(reporter_user)
    response = save(
        client, story, status="published", published_at_0="2024-01-01", published_at_1="12:00"
    )
    assert response.status_code == 200
    assert any("valid choice" in error or "editors" in error for error in form_errors(response))
    story.refresh_from_db()
    assert story.status == Story.Status.DRAFT
    assert story.published_at is None


def test_reporter_scheduling_is_ignored_because_the_date_is_not_theirs(reporter_user):
    story = StoryFactory(created_by=reporter_user)
    response = save(
        login(reporter_user), story, published_at_0="2030-01-01", published_at_1="12:00"
    )
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.published_at is None


def test_editor_publishes_and_schedules_through_the_form(editor_user):
    story = StoryFactory()
    client = login(editor_user)
    future = timezone.localtime() + timedelta(days=2)
    response = save(
        client,
        story,
        status="published",
        published_at_0=future.strftime("%Y-%m-%d"),
        published_at_1=future.strftime("%H:%M:%S"),
    )
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.is_scheduled()
    changelist = client.get(CHANGELIST).content.decode()
    assert "<strong>Scheduled</strong> for" in changelist


def test_reporter_edits_own_draft_and_byline_draft_but_not_others(reporter_user, make_staff):
    other = make_staff("otto", "Reporter")
    own = StoryFactory(created_by=reporter_user)
    bylined = StoryFactory(created_by=other, bylines=[BylineFactory(user=reporter_user)])
    foreign = StoryFactory(created_by=other)
    client = login(reporter_user)
    assert save(client, own, headline="Mine").status_code == 302
    assert save(client, bylined, headline="Bylined").status_code == 302
    response = client.get(change_url(foreign))
    assert response.status_code == 200  # view-only
    assert response.context["has_change_permission"] is False
    refused = client.post(change_url(foreign), admin_form_data(response, headline="Theirs"))
    assert refused.status_code == 403
    foreign.refresh_from_db()
    assert foreign.headline != "Theirs"


def test_reporter_may_not_change_or_delete_a_published_story(reporter_user):
    story = StoryFactory(created_by=reporter_user, published=True)
    client = login(reporter_user)
    response = client.get(change_url(story))
    assert response.context["has_change_permission"] is False
    assert client.post(change_url(story), admin_form_data(response)).status_code == 403
    delete = reverse("admin:stories_story_delete", args=[story.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Story.objects.filter(pk=story.pk).exists()


def test_reporter_deletes_own_draft(reporter_user):
    story = StoryFactory(created_by=reporter_user)
    delete = reverse("admin:stories_story_delete", args=[story.pk])
    assert login(reporter_user).post(delete, {"post": "yes"}).status_code == 302
    assert not Story.objects.filter(pk=story.pk).exists()


def test_reporter_has_no_publish_or_bulk_delete_actions(reporter_user):
    story = StoryFactory(created_by=reporter_user)
    published = StoryFactory(published=True)
    client = login(reporter_user)
    action_field = client.get(CHANGELIST).context["action_form"].fields["action"]
    actions = [name for name, _ in action_field.choices]
    assert "send_to_review" in actions
    assert "publish_now" not in actions
    assert "unpublish" not in actions
    assert "delete_selected" not in actions
    attempts = [("publish_now", story), ("unpublish", published), ("delete_selected", published)]
    for action, target in attempts:
        client.post(CHANGELIST, {"action": action, "_selected_action": [target.pk], "post": "yes"})
    story.refresh_from_db()
    published.refresh_from_db()
    assert story.status == Story.Status.DRAFT
    assert published.is_live()


def test_reporter_sends_own_draft_to_review_but_not_others(reporter_user):
    own = StoryFactory(created_by=reporter_user)
    other = StoryFactory()
    client = login(reporter_user)
    response = client.post(
        CHANGELIST,
        {"action": "send_to_review", "_selected_action": [own.pk, other.pk]},
        follow=True,
    )
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.status == Story.Status.REVIEW
    assert other.status == Story.Status.DRAFT
    assert "not yours to change" in response.content.decode()


def test_editor_actions_move_stories_through_the_workflow(editor_user):
    draft = StoryFactory()
    scheduled = StoryFactory(scheduled=True)
    client = login(editor_user)

    def act(action, *stories):
        client.post(CHANGELIST, {"action": action, "_selected_action": [s.pk for s in stories]})
        for story in stories:
            story.refresh_from_db()

    act("send_to_review", draft)
    assert draft.status == Story.Status.REVIEW
    act("publish_now", draft, scheduled)
    assert draft.is_live() and scheduled.is_live()
    act("unpublish", draft)
    assert draft.status == Story.Status.UNPUBLISHED
    assert not Story.objects.live().filter(pk=draft.pk).exists()
    reasons = list(draft.history.values_list("history_change_reason", flat=True))
    assert reasons[:3] == ["Unpublished", "Published", "Sent to review"]
    assert draft.version == 4


# No lost edits


def test_second_editor_save_is_refused_and_nothing_is_lost(editor_user, make_staff):
    other_editor = make_staff("eve", EDITOR)
    story = StoryFactory(published=True, body="Original.")
    first, second = login(editor_user), login(other_editor)
    first_form = admin_form_data(first.get(change_url(story)), body="First editor's text.")
    second_form = admin_form_data(second.get(change_url(story)), body="Second editor's text.")
    assert first.post(change_url(story), first_form).status_code == 302
    refused = second.post(change_url(story), second_form)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Not saved: ed changed this story" in page
    assert "Second editor&#x27;s text." in page  # the refused edit is still in the form
    story.refresh_from_db()
    assert story.body == "First editor's text."
    # Reloading gives the current version, which saves.
    assert save(second, story, body="Merged text.").status_code == 302
    story.refresh_from_db()
    assert story.body == "Merged text."


def test_edit_made_before_an_import_rewrote_the_story_is_refused(editor_user, tmp_path):
    from stories.importer import import_briefings, read_briefing_file

    path = tmp_path / "2024-05-01-desk.txt"
    path.write_text("Port reopens\nShips sail again.\n— Ana Lima\n")
    import_briefings([read_briefing_file(path)], section="world")
    story = Story.objects.get()
    client = login(editor_user)
    stale = admin_form_data(client.get(change_url(story)), deck="A deck.")
    path.write_text("Port reopens\nShips sail again, said officials.\n— Ana Lima\n")
    import_briefings([read_briefing_file(path)], section="world")
    response = client.post(change_url(story), stale)
    assert response.status_code == 200
    assert "Not saved" in response.content.decode()
    story.refresh_from_db()
    assert story.body == "<p>Ships sail again, said officials.</p>"


# Revisions


def test_every_save_keeps_a_revision_and_history_shows_what_changed(editor_user):
    story = StoryFactory(headline="First headline")
    client = login(editor_user)
    save(client, story, headline="Second headline")
    assert story.history.count() == 2
    page = client.get(reverse("admin:stories_story_history", args=[story.pk])).content.decode()
    assert "First headline" in page and "Second headline" in page
    assert "&rarr;" in page or "→" in page


def test_editor_restores_an_earlier_revision(editor_user):
    story = StoryFactory(headline="Right headline", body="Right body.")
    client = login(editor_user)
    original = story.history.earliest()
    save(client, story, headline="Wrong headline", body="Wrong body.")
    revert = reverse("admin:stories_story_simple_history", args=[story.pk, original.history_id])
    response = client.get(revert)
    assert response.status_code == 200
    assert client.post(revert, admin_form_data(response)).status_code == 302
    story.refresh_from_db()
    assert (story.headline, story.body) == ("Right headline", "Right body.")
    assert story.history.count() == 3


def test_restoring_a_revision_brings_back_its_bylines_and_tags(editor_user):
    first, second, third = (BylineFactory(name=n) for n in ("Ana Lima", "Jo Park", "Li Wei"))
    story = StoryFactory(headline="Right headline", bylines=[first, second], tags=["China"])
    client = login(editor_user)
    # A save through the admin records the relations the inlines and tags field saved.
    save(client, story, headline="Right headline, again")
    good = story.history.latest()
    assert (good.byline_slugs, good.tag_names) == ([first.slug, second.slug], ["China"])
    response = client.get(change_url(story))
    data = admin_form_data(
        response,
        headline="Wrong headline",
        tags=[str(Tag.objects.get(name="China").pk)],
        new_tags="Peru",
        **{"story_bylines-0-byline": str(third.pk), "story_bylines-1-DELETE": "on"},
    )
    assert client.post(change_url(story), data).status_code == 302
    wrong = story.history.latest()
    assert wrong.byline_slugs == [third.slug]
    assert wrong.tag_names == ["China", "Peru"]

    revert = reverse("admin:stories_story_simple_history", args=[story.pk, good.history_id])
    response = client.get(revert)
    assert "sets the bylines (Ana Lima, Jo Park) and tags (China)" in response.content.decode()
    assert client.post(revert, admin_form_data(response)).status_code == 302
    story = Story.objects.for_listing().get(pk=story.pk)
    assert story.headline == "Right headline, again"
    assert [byline.name for byline in story.ordered_bylines] == ["Ana Lima", "Jo Park"]
    assert sorted(tag.name for tag in story.tags.all()) == ["China"]
    restored = story.history.latest()
    assert (restored.byline_slugs, restored.tag_names) == ([first.slug, second.slug], ["China"])


def test_imported_revisions_record_bylines_and_tags(tmp_path):
    path = tmp_path / "brief.txt"
    path.write_text("Kim meets Putin\nThey met in Russia on Tuesday.\n— By Ana Lima and Jo Park\n")
    import_briefings([read_briefing_file(path)])
    story = Story.objects.get()
    [revision] = story.history.all()
    assert revision.byline_slugs == ["ana-lima", "jo-park"]
    assert revision.tag_names == ["Russia"]
    assert revision.history_change_reason == "Imported from a briefing"


def test_reporter_may_not_restore_a_revision_of_a_published_story(reporter_user, editor_user):
    story = StoryFactory(headline="Published headline", created_by=reporter_user)
    first = story.history.earliest()
    save(
        login(editor_user),
        story,
        status="published",
        published_at_0="2024-01-01",
        published_at_1="12:00",
        headline="Edited",
    )
    client = login(reporter_user)
    revert = reverse("admin:stories_story_simple_history", args=[story.pk, first.history_id])
    assert client.post(revert, {"headline": "Published headline"}).status_code == 403
    story.refresh_from_db()
    assert story.headline == "Edited"


# Stable addresses


def test_changing_a_published_slug_or_date_redirects_old_addresses(client, editor_user):
    story = StoryFactory(slug="old-slug", published=True)
    old_url = story.get_absolute_url()
    response = save(login(editor_user), story, slug="new-slug", published_at_0="2024-02-03")
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.get_absolute_url() == "/2024/02/03/new-slug/"
    for url in (old_url, "/2024/02/03/old-slug/"):
        moved = client.get(url)
        assert moved.status_code == 301, url
        assert moved["Location"] == "/2024/02/03/new-slug/"
    assert client.get("/2024/02/03/new-slug/").status_code == 200


def test_draft_slug_changes_leave_no_redirect(client, editor_user):
    story = StoryFactory(slug="draft-slug")
    save(login(editor_user), story, slug="renamed")
    story.refresh_from_db()
    story.status, story.published_at = Story.Status.PUBLISHED, timezone.now()
    story.save()
    day = story.url_date()
    assert client.get(f"/{day:%Y/%m/%d}/draft-slug/").status_code == 404


# Corrections and honest dates


def test_the_corrections_inline_offers_no_blank_row(client, editor_user):
    """A blank row would read "Published at <now>" as if a correction were already there:
    editors add one with "Add another"."""
    story = StoryFactory(published=True)
    response = login(editor_user).get(reverse("admin:stories_story_change", args=[story.pk]))
    html = response.content.decode()
    assert 'name="corrections-TOTAL_FORMS" value="0"' in html
    assert 'id="id_corrections-0-text"' not in html


def test_corrections_are_appended_shown_and_move_the_updated_date(client, editor_user):
    story = StoryFactory(published=True, dateline="KYIV")
    page = client.get(story.get_absolute_url()).content.decode()
    assert "Updated" not in page
    assert '<p><span class="dateline">KYIV — </span>First paragraph.</p>' in page
    staff = login(editor_user)
    response = save(
        staff,
        story,
        **{"corrections-0-kind": "correction", "corrections-0-text": "The minister is Ana Lima."},
    )
    assert response.status_code == 302
    page = client.get(story.get_absolute_url()).content.decode()
    assert "The minister is Ana Lima." in page
    assert "Corrected" in page
    # Existing corrections are read-only: a changed text in the post is ignored.
    form = staff.get(change_url(story))
    correction = Correction.objects.get()
    data = admin_form_data(form)
    data["corrections-0-text"] = "Rewritten."
    staff.post(change_url(story), data)
    correction.refresh_from_db()
    assert correction.text == "The minister is Ana Lima."
    with pytest.raises(ValueError, match="append-only"):
        correction.save()


def test_updated_date_moves_only_for_substantive_changes(client, editor_user):
    story = StoryFactory(published=True)
    staff = login(editor_user)
    save(staff, story, body="Fixed a tpyo.")
    story.refresh_from_db()
    assert story.revised_at is None
    assert "Updated" not in client.get(story.get_absolute_url()).content.decode()
    save(staff, story, body="New facts.", is_substantive="on")
    story.refresh_from_db()
    assert story.revised_at is not None
    assert "Updated" in client.get(story.get_absolute_url()).content.decode()


def test_reporter_cannot_add_corrections(reporter_user):
    story = StoryFactory(created_by=reporter_user)
    client = login(reporter_user)
    response = client.get(change_url(story))
    [corrections] = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Correction
    ]
    assert not corrections.has_add_permission  # shown to reporters, read-only
    data = admin_form_data(response)
    data.update(
        {
            "corrections-TOTAL_FORMS": "1",
            "corrections-INITIAL_FORMS": "0",
            "corrections-0-kind": "correction",
            "corrections-0-text": "Sneaky.",
        }
    )
    client.post(change_url(story), data)
    assert not Correction.objects.exists()


def test_demo_section_choices_are_autocompleted(editor_user):
    SectionFactory(name="World")
    client = login(editor_user)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "stories", "model_name": "story", "field_name": "section", "term": "Wor"},
    )
    assert [r["text"] for r in response.json()["results"]] == ["World"]
