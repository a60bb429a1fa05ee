"""Live editing on the story change form (stories/editorial/live.py): the preview of unsaved
changes, autosaved private working copies, and presence. Each write path also runs outside
the test transaction (``transaction=True``), as on PostgreSQL in production."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag

from stories.models import NEW_STORY_COPIES, EditingPresence, Story, WorkingCopy

from .admin_forms import admin_form_data, browser_post
from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

DRAFT_KEY = "0123456789abcdef0123456789abcdef"


def login(user):
    client = Client()
    client.force_login(user)
    return client


def live_url(story, name):
    return reverse(f"admin:stories_story_live_{name}", args=[story.pk if story else "add"])


def change_url(story):
    return reverse("admin:stories_story_change", args=[story.pk])


def change_form(client, story, **changes):
    """The story's change form as its page renders it, with ``changes``."""
    page = client.get(change_url(story))
    assert page.status_code == 200
    return admin_form_data(page, **changes)


def add_form(client, **changes):
    page = client.get(reverse("admin:stories_story_add"))
    assert page.status_code == 200
    return admin_form_data(page, live_draft_key=DRAFT_KEY, **changes)


@pytest.fixture
def reporter_story(reporter_user):
    return StoryFactory(
        headline="Saved headline",
        body="Saved body.",
        created_by=reporter_user,
        section=SectionFactory(name="World", slug="world"),
    )


# --- Preview ------------------------------------------------------------------------------


def assert_private_noindex(response):
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in response.content.decode()


def test_live_preview_renders_the_unsaved_form_not_the_saved_story(reporter_user, reporter_story):
    client = login(reporter_user)
    byline = BylineFactory(name="Ana Lima")
    business = SectionFactory(name="Business", slug="business")
    data = change_form(
        client,
        reporter_story,
        headline="Unsaved headline",
        deck="Unsaved deck",
        dateline="KYIV",
        body="First unsaved paragraph.\n\nSecond unsaved paragraph.",
        section=business.pk,
        new_tags="Black Sea",  # one tag: names are separated by commas only
        **{"story_bylines-0-byline": byline.pk},
    )
    response = client.post(live_url(reporter_story, "preview"), data)
    assert_private_noindex(response)
    html = response.content.decode()
    assert "Unsaved headline" in html and "Saved headline" not in html
    assert "Unsaved deck" in html
    assert "KYIV" in html and "Second unsaved paragraph." in html
    assert ">Business</a>" in html and ">Ana Lima</a>" in html and ">Black Sea</a>" in html
    assert ">Black</a>" not in html
    assert "Preview of unsaved changes" in html
    reporter_story.refresh_from_db()
    assert reporter_story.headline == "Saved headline"
    assert not reporter_story.story_bylines.exists()
    assert not Tag.objects.filter(name="Black Sea").exists()


def test_live_preview_of_a_new_story_before_its_first_save(reporter_user):
    client = login(reporter_user)
    data = add_form(client, headline="Brand new story", body="Nothing saved yet.")
    response = client.post(live_url(None, "preview"), data)
    assert_private_noindex(response)
    html = response.content.decode()
    assert "Brand new story" in html and "Nothing saved yet." in html
    assert "No section chosen" in html
    assert not Story.objects.exists()


def test_live_preview_may_be_framed_by_the_admin_and_nothing_else_changes(
    editor_user, reporter_story
):
    client = login(editor_user)
    page = client.get(change_url(reporter_story))
    preview = client.post(live_url(reporter_story, "preview"), admin_form_data(page))
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert "frame-ancestors 'none'" not in preview["Content-Security-Policy"]
    # The change form itself, and reader pages, still refuse every frame.
    for response in (page, Client().get("/")):
        assert response["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_live_preview_says_what_is_not_valid_yet(reporter_user):
    client = login(reporter_user)
    data = add_form(client, headline="Only a headline", body="")
    html = client.post(live_url(None, "preview"), data).content.decode()
    assert "Body: This field is required." in html


@pytest.fixture
def fragment_cache_on(settings):
    settings.FRAGMENT_CACHE_SECONDS = 300


def test_live_preview_reads_and_stores_nothing_in_any_cache(
    fragment_cache_on, editor_user, monkeypatch
):
    live = StoryFactory(headline="Published headline", published=True)
    client = login(editor_user)
    data = change_form(client, live, headline="Leaked unsaved headline")
    backend = type(caches["default"])
    touched = []
    for method in ("get", "get_many", "set", "add", "set_many", "get_or_set"):
        original = getattr(backend, method)

        def spy(self, key, *args, _name=method, _original=original, **kwargs):
            # With Redis, sessions live in the cache too: reading the editor's is no piece.
            keys = [key] if isinstance(key, str) else list(key)
            if not all(k.startswith(SessionStore.cache_key_prefix) for k in keys):
                touched.append((_name, keys))
            return _original(self, key, *args, **kwargs)

        monkeypatch.setattr(backend, method, spy)
    response = client.post(live_url(live, "preview"), data)
    assert "Leaked unsaved headline" in response.content.decode()
    assert touched == []


def test_live_preview_never_reaches_readers(page_cache, fragment_cache_on, editor_user):
    live = StoryFactory(headline="Published headline", published=True)
    reader = Client()
    assert "Published headline" in reader.get(live.get_absolute_url()).content.decode()
    client = login(editor_user)
    client.post(live_url(live, "preview"), change_form(client, live, headline="Leaked draft"))
    for address in (live.get_absolute_url(), "/", live.section.get_absolute_url()):
        html = reader.get(address).content.decode()
        assert "Leaked draft" not in html, address
    assert "Published headline" in reader.get(live.get_absolute_url()).content.decode()


def test_live_preview_query_count_is_flat_with_bylines_and_tags(
    editor_user, django_assert_max_num_queries
):
    story = StoryFactory(tags=["One", "Two", "Three"])
    client = login(editor_user)
    bylines = BylineFactory.create_batch(4)
    data = change_form(client, story, **{"story_bylines-0-byline": bylines[0].pk})
    data["story_bylines-TOTAL_FORMS"] = str(len(bylines))
    for index, byline in enumerate(bylines):
        data[f"story_bylines-{index}-byline"] = byline.pk
        data[f"story_bylines-{index}-position"] = index
    data["tags"] = [tag.pk for tag in Tag.objects.all()]
    # session, user, story, its bylines, user and group permissions; the form: stored tags,
    # section, tags, the section's key check, the status constraint (savepoint, check,
    # release), slug uniqueness; the preview: tags, bylines, corrections; the section menu
    # and the footer's site pages.
    with django_assert_max_num_queries(19):
        response = client.post(live_url(story, "preview"), data)
    assert response.content.decode().count('class="byline-box"') == 4


# --- Permissions, from the refused side -------------------------------------------------------


@pytest.mark.parametrize("name", ["preview", "autosave", "discard", "presence"])
def test_live_endpoints_refuse_reporters_on_stories_they_may_not_edit(
    name, reporter_user, make_staff
):
    other = StoryFactory(created_by=make_staff("otto", "Reporter"), headline="Otto's")
    own_published = StoryFactory(created_by=reporter_user, published=True)
    client = login(reporter_user)
    for story in (other, own_published):
        data = {"headline": "Mine now", "body": "x", "loaded_version": story.version}
        response = client.post(live_url(story, name), data)
        assert response.status_code == 403, story
        assert "Mine now" not in response.content.decode()
    assert not WorkingCopy.objects.exists() and not EditingPresence.objects.exists()


@pytest.mark.parametrize("name", ["preview", "autosave", "discard", "presence"])
def test_live_endpoints_refuse_anonymous_and_non_staff(name, editor_user):
    story = StoryFactory(headline="Secret draft")
    editor_user.is_staff = False
    editor_user.save()
    for client in (Client(), login(editor_user)):
        response = client.post(live_url(story, name), {"headline": "x"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert "Secret draft" not in response.content.decode()
    assert not WorkingCopy.objects.exists() and not EditingPresence.objects.exists()


@pytest.mark.parametrize("name", ["preview", "autosave"])
def test_live_endpoints_for_new_stories_need_the_add_permission(name, make_staff):
    viewer = make_staff("vera", "Reporter")
    viewer.groups.clear()
    from django.contrib.auth.models import Permission

    viewer.user_permissions.set(Permission.objects.filter(codename="view_story"))
    response = login(viewer).post(live_url(None, name), {"live_draft_key": DRAFT_KEY})
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["preview", "autosave", "discard", "presence"])
def test_live_endpoints_need_post_and_a_csrf_token(name, reporter_user, reporter_story):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter_user)
    assert client.get(live_url(reporter_story, name)).status_code == 405
    response = client.post(live_url(reporter_story, name), {"headline": "x"})
    assert response.status_code == 403
    assert not WorkingCopy.objects.exists() and not EditingPresence.objects.exists()


# --- Autosave -----------------------------------------------------------------------------


def test_autosave_keeps_a_private_working_copy_and_never_touches_the_story(
    reporter_user, reporter_story
):
    client = login(reporter_user)
    data = change_form(client, reporter_story, headline="Typed, not saved", body="Half a")
    response = client.post(live_url(reporter_story, "autosave"), data)
    assert response.status_code == 200
    assert "Unsaved changes kept at" in response.json()["message"]
    copy = WorkingCopy.objects.get()
    assert (copy.user, copy.story, copy.base_version) == (
        reporter_user,
        reporter_story,
        reporter_story.version,
    )
    assert copy.data["headline"] == "Typed, not saved" and copy.data["body"] == "Half a"
    reporter_story.refresh_from_db()
    assert reporter_story.headline == "Saved headline"
    # Typing on overwrites the one copy.
    data["headline"] = "Typed further"
    client.post(live_url(reporter_story, "autosave"), data)
    assert WorkingCopy.objects.get().data["headline"] == "Typed further"


def test_autosave_copy_is_offered_back_to_its_user_only(reporter_user, reporter_story, editor_user):
    client = login(reporter_user)
    byline = BylineFactory(name="Ana Lima")
    data = change_form(
        client,
        reporter_story,
        headline="Typed before the crash",
        **{"story_bylines-0-byline": byline.pk},
    )
    client.post(live_url(reporter_story, "autosave"), data)
    copy = WorkingCopy.objects.get()
    page = client.get(change_url(reporter_story))
    html = page.content.decode()
    when = timezone.localtime(copy.saved_at).strftime("%H:%M")
    assert f"Restore your unsaved changes from {when}?" in html
    assert "Typed before the crash" in html  # the copy, for the script to fill in
    assert '"name": "Ana Lima"' in html
    # The form itself still holds the saved story until the user restores.
    assert page.context["adminform"].form.initial["headline"] == "Saved headline"

    other = login(editor_user).get(change_url(reporter_story)).content.decode()
    assert "Restore your unsaved" not in other and "Typed before the crash" not in other
    # Nor can another user discard it.
    login(editor_user).post(live_url(reporter_story, "discard"))
    assert WorkingCopy.objects.exists()


def test_autosave_copy_older_than_the_last_save_says_so_and_is_not_applied(
    reporter_user, reporter_story, editor_user
):
    mine = login(reporter_user)
    mine.post(
        live_url(reporter_story, "autosave"),
        change_form(mine, reporter_story, headline="My old typing"),
    )
    editor = login(editor_user)
    editor.post(change_url(reporter_story), change_form(editor, reporter_story, headline="Ed's"))
    reporter_story.refresh_from_db()
    assert reporter_story.headline == "Ed's"
    page = mine.get(change_url(reporter_story))
    html = page.content.decode()
    assert "saved before ed’s changes at" in html
    assert "Restore anyway" in html
    assert "Restore your unsaved changes" not in html
    assert page.context["adminform"].form.initial["headline"] == "Ed's"
    assert WorkingCopy.objects.get().data["headline"] == "My old typing"


def test_working_copy_is_kept_and_not_offered_when_a_save_is_refused(reporter_user, reporter_story):
    client = login(reporter_user)
    data = change_form(client, reporter_story, headline="Typed", body="")
    client.post(live_url(reporter_story, "autosave"), data)
    response = client.post(change_url(reporter_story), data)
    assert response.status_code == 200  # the body is required
    assert "Restore your unsaved" not in response.content.decode()
    assert WorkingCopy.objects.exists()


def test_saving_the_story_deletes_the_users_working_copy_only(
    reporter_user, reporter_story, editor_user
):
    client, editor = login(reporter_user), login(editor_user)
    for who in (client, editor):
        who.post(live_url(reporter_story, "autosave"), change_form(who, reporter_story))
    assert WorkingCopy.objects.count() == 2
    response = browser_post(client, change_url(reporter_story), {"headline": "Saved for real"})
    assert response.status_code == 302
    assert list(WorkingCopy.objects.values_list("user__username", flat=True)) == ["ed"]


def test_new_story_working_copy_is_offered_on_the_add_page_and_gone_once_saved(reporter_user):
    client = login(reporter_user)
    section = SectionFactory()
    data = add_form(client, headline="Never saved", body="Typed.", section=section.pk)
    assert client.post(live_url(None, "autosave"), data).status_code == 200
    copy = WorkingCopy.objects.get()
    assert copy.story is None and copy.draft_key == DRAFT_KEY
    html = client.get(reverse("admin:stories_story_add")).content.decode()
    assert "Restore your unsaved new story “Never saved”" in html
    response = client.post(reverse("admin:stories_story_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Story.objects.get().headline == "Never saved"
    assert not WorkingCopy.objects.exists()


def test_new_story_autosave_needs_a_well_formed_draft_key(reporter_user):
    client = login(reporter_user)
    response = client.post(live_url(None, "autosave"), {"live_draft_key": "../../etc"})
    assert response.status_code == 400
    assert "key" in response.json()["error"]
    assert not WorkingCopy.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_live_endpoints_take_hostile_values_without_failing(reporter_user, reporter_story):
    client = login(reporter_user)
    hostile = {
        "headline": "Nul\x00 inside",
        "body": "Body\x00.",
        "section": "9" * 30,
        "tags": ["²", "9" * 30, "-1"],
        "loaded_version": "9" * 30,
        "story_bylines-TOTAL_FORMS": "9" * 30,
        "story_bylines-0-byline": "²",
        "story_bylines-0-position": "9" * 30,
    }
    for name in ("autosave", "preview"):
        response = client.post(live_url(reporter_story, name), hostile)
        assert response.status_code == 200, name
    copy = WorkingCopy.objects.get()
    assert copy.data["headline"] == "Nul inside"
    assert (copy.data["section"], copy.data["tags"], copy.data["bylines"]) == (None, [], [])
    assert copy.base_version == reporter_story.version


def test_autosave_refuses_an_oversized_payload(reporter_user, reporter_story):
    client = login(reporter_user)
    data = change_form(client, reporter_story, body="x" * (1024 * 1024 + 1))
    response = client.post(live_url(reporter_story, "autosave"), data)
    assert response.status_code == 413
    assert "Too large" in response.json()["error"]
    assert not WorkingCopy.objects.exists()


def test_autosave_forgets_the_users_month_old_copies(reporter_user, reporter_story, make_staff):
    client = login(reporter_user)
    old = timezone.now() - timedelta(days=31)
    WorkingCopy.objects.create(user=reporter_user, draft_key=DRAFT_KEY, data={}, saved_at=old)
    someone = make_staff("otto", "Reporter")
    WorkingCopy.objects.create(user=someone, draft_key=DRAFT_KEY, data={}, saved_at=old)
    client.post(live_url(reporter_story, "autosave"), change_form(client, reporter_story))
    assert set(WorkingCopy.objects.values_list("user__username", "story")) == {
        ("otto", None),
        ("rita", reporter_story.pk),
    }


def test_discard_forgets_the_users_copy(reporter_user, reporter_story):
    client = login(reporter_user)
    client.post(live_url(reporter_story, "autosave"), change_form(client, reporter_story))
    assert client.post(live_url(reporter_story, "discard")).status_code == 200
    assert not WorkingCopy.objects.exists()
    assert "Restore your" not in client.get(change_url(reporter_story)).content.decode()


# --- Presence -----------------------------------------------------------------------------


def test_presence_shows_who_else_has_the_story_open(reporter_user, reporter_story, editor_user):
    editor_user.first_name, editor_user.last_name = "Edith", "Ward"
    editor_user.save()
    editor = login(editor_user)
    assert editor.post(live_url(reporter_story, "presence")).json() == {"others": []}
    since = timezone.localtime(EditingPresence.objects.get().since).strftime("%H:%M")
    mine = login(reporter_user)
    html = mine.get(change_url(reporter_story)).content.decode()
    assert f"Edith Ward is editing this story (since {since})" in html
    # Each sees the other in the heartbeat's answer, never themselves.
    assert mine.post(live_url(reporter_story, "presence")).json()["others"] == [
        f"Edith Ward is editing this story (since {since})"
    ]
    assert (
        editor.post(live_url(reporter_story, "presence"))
        .json()["others"][0]
        .startswith("rita is editing")
    )


def test_presence_forgets_editors_gone_a_minute_or_who_left(
    reporter_user, reporter_story, editor_user
):
    editor = login(editor_user)
    editor.post(live_url(reporter_story, "presence"))
    EditingPresence.objects.update(last_seen=timezone.now() - timedelta(seconds=61))
    mine = login(reporter_user)
    assert "is editing this story" not in mine.get(change_url(reporter_story)).content.decode()
    # Back after the absence: a new stretch of editing begins.
    editor.post(live_url(reporter_story, "presence"))
    presence = EditingPresence.objects.get()
    assert presence.since >= timezone.now() - timedelta(seconds=5)
    editor.post(live_url(reporter_story, "presence"), {"leaving": "1"})
    assert not EditingPresence.objects.exists()


def test_presence_keeps_since_while_the_heartbeat_goes_on(editor_user, reporter_story):
    editor = login(editor_user)
    editor.post(live_url(reporter_story, "presence"))
    earlier = timezone.now() - timedelta(minutes=10)
    EditingPresence.objects.update(since=earlier, last_seen=timezone.now())
    editor.post(live_url(reporter_story, "presence"))
    assert EditingPresence.objects.get().since == earlier


def test_stale_save_guard_still_refuses_an_older_copy(reporter_user, reporter_story, editor_user):
    mine, editor = login(reporter_user), login(editor_user)
    data = change_form(mine, reporter_story, headline="Mine")
    editor.post(change_url(reporter_story), change_form(editor, reporter_story, headline="Ed's"))
    response = mine.post(change_url(reporter_story), data)
    assert response.status_code == 200
    assert "Not saved" in response.content.decode()


# --- Outside the test transaction (autocommit, as production runs on PostgreSQL) -----------


@pytest.mark.django_db(transaction=True)
def test_live_write_paths_outside_a_transaction(reporter_user, reporter_story, editor_user):
    client = login(reporter_user)
    data = change_form(client, reporter_story, headline="Autocommitted")
    assert client.post(live_url(reporter_story, "preview"), data).status_code == 200
    assert client.post(live_url(reporter_story, "autosave"), data).status_code == 200
    assert client.post(live_url(reporter_story, "autosave"), data).status_code == 200
    assert client.post(live_url(reporter_story, "presence")).status_code == 200
    assert client.post(live_url(reporter_story, "presence")).status_code == 200
    assert WorkingCopy.objects.count() == 1 and EditingPresence.objects.count() == 1
    response = browser_post(client, change_url(reporter_story), {"headline": "Saved"})
    assert response.status_code == 302
    assert not WorkingCopy.objects.exists()
    client.post(live_url(reporter_story, "autosave"), change_form(client, reporter_story))
    assert client.post(live_url(reporter_story, "discard")).status_code == 200
    assert client.post(live_url(reporter_story, "presence"), {"leaving": "1"}).status_code == 200
    assert not WorkingCopy.objects.exists() and not EditingPresence.objects.exists()
    new = add_form(client, headline="New", body="Body.", section=reporter_story.section_id)
    assert client.post(live_url(None, "preview"), new).status_code == 200
    assert client.post(live_url(None, "autosave"), new).status_code == 200
    assert client.post(reverse("admin:stories_story_add"), new).status_code == 302
    assert not WorkingCopy.objects.exists()


def test_copies_of_unsaved_new_stories_are_capped_per_user(reporter_user, editor_user):
    """Each "Add story" page names a new draft; one account keeps only its newest few."""
    client = login(reporter_user)
    keys = [f"{n:032x}" for n in range(NEW_STORY_COPIES + 3)]
    for key in keys:
        data = {"live_draft_key": key, "headline": f"Draft {key[-2:]}", "body": "<p>x</p>"}
        assert client.post(live_url(None, "autosave"), data).status_code == 200
    kept = WorkingCopy.objects.filter(user=reporter_user).order_by("saved_at", "pk")
    assert [copy.draft_key for copy in kept] == keys[-NEW_STORY_COPIES:]
    # Someone else's copies are not theirs to cap.
    WorkingCopy.objects.keep(editor_user, None, "f" * 32, {"headline": "Mine"}, None)
    client.post(live_url(None, "autosave"), {"live_draft_key": "e" * 32, "body": ""})
    assert WorkingCopy.objects.filter(user=editor_user).count() == 1


def test_working_copies_keep_and_restore_only_an_allowlisted_body(reporter_user, reporter_story):
    client = login(reporter_user)
    hostile = '<p onclick="alert(1)">Kept <img src=x onerror=alert(2)>words</p><script>x</script>'
    data = change_form(client, reporter_story, body=hostile)
    assert client.post(live_url(reporter_story, "autosave"), data).status_code == 200
    stored = WorkingCopy.objects.get(user=reporter_user).data["body"]
    assert stored == "<p>Kept words</p>"
    # A copy written before bodies were cleaned on the way in is cleaned on the way out.
    WorkingCopy.objects.filter(user=reporter_user).update(data={"body": hostile})
    page = client.get(change_url(reporter_story)).content.decode()
    assert "onerror" not in page and "onclick" not in page and "<script>x" not in page
    assert "Kept words" in page


def test_the_body_editor_is_handed_only_an_allowlisted_body(reporter_user, reporter_story):
    """A body that never passed Story.save() (a restored backup, a direct write) still
    reaches the editor's live DOM cleaned."""
    Story.objects.filter(pk=reporter_story.pk).update(
        body='<p>Fine</p><img src=x onerror="alert(3)"><p style="x">more</p>'
    )
    page = login(reporter_user).get(change_url(reporter_story)).content.decode()
    assert "onerror" not in page and 'style="x"' not in page
    assert "&lt;p&gt;Fine&lt;/p&gt;" in page
