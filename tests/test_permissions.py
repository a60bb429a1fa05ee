"""Who may do what, tried by every path: anonymous visitors, staff without permissions,
Reporters with crafted requests, password guessers (django-axes) and forged posts (CSRF).

tests/test_workflow.py covers the Reporter rules through the ordinary forms and actions;
these are the paths around them.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stories.models import Story
from stories.security import client_ip_behind_proxy

from .admin_forms import admin_form_data
from .factories import SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
IMPORT = reverse("admin:stories_story_import")
CHANGELIST = reverse("admin:stories_story_changelist")
PASSWORD = "pw-for-tests-only"
BRIEFING = "Port reopens\nShips left the port on Monday for the first time since March.\n— Ana\n"


def admin_urls(story):
    return [
        reverse("admin:index"),
        CHANGELIST,
        reverse("admin:stories_story_add"),
        reverse("admin:stories_story_change", args=[story.pk]),
        reverse("admin:stories_story_delete", args=[story.pk]),
        reverse("admin:stories_story_history", args=[story.pk]),
        reverse(
            "admin:stories_story_simple_history",
            args=[story.pk, story.history.earliest().history_id],
        ),
        IMPORT,
        reverse("admin:stories_section_changelist"),
        reverse("admin:stories_byline_changelist"),
        reverse("admin:taggit_tag_changelist"),
        reverse("admin:auth_user_changelist"),
    ]


@pytest.fixture(autouse=True)
def staging(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def login(user):
    client = Client()
    client.force_login(user)
    return client


# --- anonymous ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_from_every_admin_page(client):
    story = StoryFactory()
    for url in admin_urls(story):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(LOGIN), url


def test_anonymous_posts_change_nothing(client):
    story = StoryFactory(headline="Original")
    change = reverse("admin:stories_story_change", args=[story.pk])
    attempts = [
        (change, {"headline": "Defaced", "status": "published"}),
        (reverse("admin:stories_story_delete", args=[story.pk]), {"post": "yes"}),
        (CHANGELIST, {"action": "publish_now", "_selected_action": [story.pk]}),
        (IMPORT, {"briefing": SimpleUploadedFile("b.txt", BRIEFING.encode()), "section": "x"}),
    ]
    for url, data in attempts:
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN), url
    story.refresh_from_db()
    assert (story.headline, story.status) == ("Original", Story.Status.DRAFT)
    assert Story.objects.count() == 1


# --- staff without permissions ---------------------------------------------------------------


def test_staff_without_permissions_get_403_everywhere_but_the_index():
    story = StoryFactory()
    user = User.objects.create_user("bare", password=PASSWORD, is_staff=True)
    client = login(user)
    index, *model_pages = admin_urls(story)
    assert client.get(index).status_code == 200  # "You don't have permission to view anything"
    for url in model_pages:
        assert client.get(url).status_code == 403, url
    change = reverse("admin:stories_story_change", args=[story.pk])
    assert client.post(change, {"headline": "Defaced"}).status_code == 403
    story.refresh_from_db()
    assert story.headline != "Defaced"


def test_reporter_gets_403_on_what_only_editors_manage(reporter_user):
    client = login(reporter_user)
    section = SectionFactory()
    for url in (
        reverse("admin:stories_section_add"),
        reverse("admin:stories_byline_add"),
        reverse("admin:taggit_tag_add"),
        reverse("admin:stories_section_delete", args=[section.pk]),
        reverse("admin:auth_user_changelist"),
    ):
        assert client.get(url).status_code == 403, url


# --- Reporters: publishing by any path ------------------------------------------------------


def test_reporter_cannot_create_a_published_or_scheduled_story_with_a_crafted_add(reporter_user):
    client = login(reporter_user)
    add = reverse("admin:stories_story_add")
    data = admin_form_data(
        client.get(add),
        headline="Sneaky",
        slug="sneaky",
        body="Text.",
        section=SectionFactory().pk,
        status="published",
        published_at_0=(timezone.localdate() + timedelta(days=1)).isoformat(),
        published_at_1="12:00",
    )
    data["story_bylines-TOTAL_FORMS"] = "0"
    response = client.post(add, data)
    assert response.status_code == 200  # the form again, with the error
    assert not Story.objects.filter(status=Story.Status.PUBLISHED).exists()
    data["status"] = "draft"
    assert client.post(add, data).status_code == 302  # the same post, unpublished, is fine
    story = Story.objects.get(slug="sneaky")
    assert story.published_at is None  # scheduling is not theirs either


def test_reporter_cannot_unpublish_through_the_form(reporter_user):
    story = StoryFactory(created_by=reporter_user, published=True)
    client = login(reporter_user)
    change = reverse("admin:stories_story_change", args=[story.pk])
    response = client.post(change, {"status": "unpublished", "loaded_version": story.version})
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.is_live()


def test_reporter_cannot_republish_by_restoring_a_published_revision(reporter_user, editor_user):
    # A reporter's story was published, then sent back to draft for rework: the reporter
    # may edit the draft, but restoring the published revision would publish it.
    story = StoryFactory(created_by=reporter_user, headline="Draft one")
    story.status, story.published_at = Story.Status.PUBLISHED, timezone.now()
    story.save()
    published_revision = story.history.latest()
    story.status = Story.Status.DRAFT
    story.save()
    client = login(reporter_user)
    url = reverse("admin:stories_story_simple_history", args=[story.pk, published_revision.pk])
    response = client.get(url)
    assert response.status_code == 200
    refused = client.post(url, admin_form_data(response))
    assert refused.status_code == 200
    assert "status" in refused.context["adminform"].form.errors
    story.refresh_from_db()
    assert story.status == Story.Status.DRAFT
    assert not Story.objects.live().exists()


def test_reporter_cannot_publish_by_crafted_import(reporter_user):
    SectionFactory(slug="world", name="World")  # reporters import into existing sections
    client = login(reporter_user)
    upload = SimpleUploadedFile("2024-05-01-desk.txt", BRIEFING.encode())
    response = client.post(IMPORT, {"briefing": upload, "section": "world", "status": "published"})
    assert response.status_code == 200
    assert "status" in response.context["form"].errors
    # Nor on the confirmation step, with a status the preview never offered.
    preview = client.post(
        IMPORT,
        {
            "briefing": SimpleUploadedFile("2024-05-01-desk.txt", BRIEFING.encode()),
            "section": "world",
            "status": "draft",
        },
    )
    staged = preview.context["staged"]
    client.post(
        IMPORT, {"staged": staged, "section": "world", "status": "published", "confirm": "1"}
    )
    assert not Story.objects.filter(status=Story.Status.PUBLISHED).exists()
    client.post(IMPORT, {"staged": staged, "section": "world", "status": "draft", "confirm": "1"})
    assert Story.objects.get().status == Story.Status.DRAFT  # the honest confirmation works


def test_reporter_cannot_delete_published_work_by_any_path(reporter_user):
    story = StoryFactory(created_by=reporter_user, published=True)
    client = login(reporter_user)
    client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [story.pk], "post": "yes"}
    )
    delete = reverse("admin:stories_story_delete", args=[story.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Story.objects.live().filter(pk=story.pk).exists()


# --- password guessing (django-axes) ---------------------------------------------------------


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def desk_editor(make_staff):
    return make_staff("desk", "Editor")


def test_login_is_refused_after_ten_failures_even_with_the_right_password(client, desk_editor):
    for _ in range(9):
        assert attempt(client, "desk", "wrong").status_code == 200  # the form, with an error
    assert attempt(client, "desk", "wrong").status_code == 429  # the tenth locks
    response = attempt(client, "desk", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/admin/").status_code == 302  # not logged in


def test_login_works_after_nine_failures_and_resets_the_count(client, desk_editor):
    for _ in range(9):
        attempt(client, "desk", "wrong")
    assert attempt(client, "desk", PASSWORD).status_code == 302
    client.logout()
    for _ in range(9):
        attempt(client, "desk", "wrong")
    assert attempt(client, "desk", PASSWORD).status_code == 302  # the success reset the count


def test_lockout_is_per_username_and_address(client, desk_editor, make_staff):
    make_staff("other", "Editor")
    for _ in range(10):
        attempt(client, "desk", "wrong", address="10.0.0.1")
    assert attempt(client, "desk", PASSWORD, address="10.0.0.1").status_code == 429
    # The editor, from their own address, and another user from the guesser's, still log in.
    assert attempt(Client(), "desk", PASSWORD, address="10.0.0.2").status_code == 302
    assert attempt(Client(), "other", PASSWORD, address="10.0.0.1").status_code == 302


def test_lockout_ends_after_the_cool_off(client, desk_editor, settings, time_machine):
    for _ in range(10):
        attempt(client, "desk", "wrong")
    assert attempt(client, "desk", PASSWORD).status_code == 429
    time_machine.move_to(
        timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5), tick=False
    )
    assert attempt(client, "desk", PASSWORD).status_code == 302


def test_demo_editor_command_lifts_a_lockout(client, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("ensure_demo_editor", stdout=open("/dev/null", "w"))  # noqa: SIM115
    password = (tmp_path / "demo-editor-password").read_text().strip()
    for _ in range(10):
        attempt(client, "editor", "wrong")
    assert attempt(client, "editor", password).status_code == 429
    call_command("ensure_demo_editor", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert attempt(client, "editor", password).status_code == 302


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    # The client wrote 6.6.6.6 itself; the proxy appended the address it really came from.
    assert client_ip_behind_proxy(request) == "203.0.113.9"
    assert client_ip_behind_proxy(rf.get("/", REMOTE_ADDR="10.0.0.3")) == "10.0.0.3"


# --- CSRF -----------------------------------------------------------------------------------


def csrf_client():
    return Client(enforce_csrf_checks=True)


def test_admin_login_refuses_a_post_without_the_csrf_token(desk_editor):
    client = csrf_client()
    response = client.post(LOGIN, {"username": "desk", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 403
    assert client.get("/admin/").status_code == 302
    page = client.get(LOGIN)
    token = page.context["csrf_token"]
    response = client.post(
        LOGIN,
        {"username": "desk", "password": PASSWORD, "next": "/admin/", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302  # with the token, the same login works


def test_admin_change_form_refuses_a_post_without_the_csrf_token(desk_editor):
    story = StoryFactory(headline="Original")
    client = csrf_client()
    client.force_login(desk_editor)
    change = reverse("admin:stories_story_change", args=[story.pk])
    page = client.get(change)
    data = admin_form_data(page, headline="Forged")
    data.pop("csrfmiddlewaretoken", None)
    assert client.post(change, data).status_code == 403
    story.refresh_from_db()
    assert story.headline == "Original"
    data["csrfmiddlewaretoken"] = page.context["csrf_token"]
    assert client.post(change, data).status_code == 302
    story.refresh_from_db()
    assert story.headline == "Forged"


def test_admin_import_and_actions_refuse_posts_without_the_csrf_token(desk_editor):
    story = StoryFactory(section=SectionFactory(slug="world"))
    client = csrf_client()
    client.force_login(desk_editor)
    upload = SimpleUploadedFile("2024-05-01-desk.txt", BRIEFING.encode())
    response = client.post(IMPORT, {"briefing": upload, "section": "world", "status": "draft"})
    assert response.status_code == 403
    response = client.post(CHANGELIST, {"action": "publish_now", "_selected_action": [story.pk]})
    assert response.status_code == 403
    story.refresh_from_db()
    assert not story.is_live()
    token = client.get(IMPORT).context["csrf_token"]
    upload = SimpleUploadedFile("2024-05-01-desk.txt", BRIEFING.encode())
    response = client.post(
        IMPORT,
        {"briefing": upload, "section": "world", "status": "draft", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 200 and response.context["result"] is not None


def test_reader_pages_set_no_csrf_cookie_and_accept_no_posts(client):
    # Public pages are read-only: nothing to forge, and no cookie to break the page cache.
    StoryFactory(published=True)
    response = client.get("/")
    assert "csrftoken" not in response.cookies
    assert client.post("/search/", {"q": "x"}).status_code in (403, 405)


# --- linking a byline to an account ---------------------------------------------------------

ACCOUNT_LOOKUP = {"app_label": "stories", "model_name": "byline", "field_name": "user"}


def test_byline_account_lookup_works_for_editors_only(editor_user, reporter_user, make_staff):
    User.objects.create_user("ritual-reader", password=PASSWORD)  # not staff: not offered
    gone = make_staff("rita-gone", "Reporter")  # left the newsroom: not offered
    gone.is_active = False
    gone.save()
    autocomplete = reverse("admin:autocomplete")
    response = login(editor_user).get(autocomplete, {**ACCOUNT_LOOKUP, "term": "rit"})
    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["rita"]
    assert login(reporter_user).get(
        autocomplete, {**ACCOUNT_LOOKUP, "term": "rit"}
    ).status_code == (403)


def test_byline_account_lookup_does_not_match_email_addresses(editor_user, make_staff):
    boss = make_staff("boss", "Editor")
    boss.email = "the.boss@example.com"
    boss.save()
    lookup = {**ACCOUNT_LOOKUP, "term": "the.boss@example.com"}
    response = login(editor_user).get(reverse("admin:autocomplete"), lookup)
    # Otherwise an editor could test which addresses belong to staff, one guess at a time.
    assert response.json()["results"] == []
    by_name = {**ACCOUNT_LOOKUP, "term": "boss"}
    results = login(editor_user).get(reverse("admin:autocomplete"), by_name).json()["results"]
    assert [result["text"] for result in results] == ["boss"]


def test_byline_account_lookup_opens_nothing_else_about_accounts(editor_user, reporter_user):
    # Editors manage reporters' accounts (tests/test_people.py), and nothing else of them.
    client = login(editor_user)
    listed = client.get(reverse("admin:auth_user_changelist")).context["cl"].result_list
    assert list(listed) == [reporter_user]
    own = client.get(reverse("admin:auth_user_change", args=[editor_user.pk]))
    assert own.status_code == 302 and "adminform" not in (own.context or {})
    assert login(reporter_user).get(reverse("admin:auth_user_changelist")).status_code == 403
    # Another source field searching accounts finds only the accounts editors manage.
    User.objects.create_superuser("eve-root", password=PASSWORD)
    other = {"app_label": "stories", "model_name": "story", "field_name": "created_by"}
    found = client.get(reverse("admin:autocomplete"), {**other, "term": "r"}).json()["results"]
    assert [result["text"] for result in found] == [reporter_user.username]
    apps = {app["app_label"]: app for app in client.get(reverse("admin:index")).context["app_list"]}
    assert [model["object_name"] for model in apps["auth"]["models"]] == ["User"]  # no groups
