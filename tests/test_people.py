"""People: editors manage reporters' accounts, and nothing more (tested from the refused
side with forged posts); superusers keep Django's whole user admin."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core import mail
from django.test import Client
from django.urls import reverse

from stories.models import Byline

from .factories import BylineFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
NEW_PASSWORD = "Correct-horse-battery-9"
ADD = reverse("admin:auth_user_add")
CHANGELIST = reverse("admin:auth_user_changelist")


def login(user):
    client = Client()
    client.force_login(user)
    return client


def login_works(username, password):
    response = Client().post(reverse("admin:login"), {"username": username, "password": password})
    return response.status_code == 302


def change_url(user):
    return reverse("admin:auth_user_change", args=[user.pk])


def password_url(user):
    return reverse("admin:auth_user_password_change", args=[user.pk])


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def rita(make_staff):
    user = make_staff("rosa", "Reporter")
    user.email = "rita@example.com"
    user.save()
    return user


def rights(user):
    user = User.objects.get(pk=user.pk)
    return (
        user.is_staff,
        user.is_superuser,
        sorted(user.groups.values_list("name", flat=True)),
        list(user.user_permissions.all()),
    )


REPORTER_RIGHTS = (True, False, ["Reporter"], [])


def forged_rights(editor_group=True):
    """What a tampered form would post to raise an account's rights."""
    return {
        "is_superuser": "on",
        "is_staff": "on",
        "groups": [str(Group.objects.get(name="Editor").pk)],
        "user_permissions": [str(Permission.objects.get(codename="delete_user").pk)],
    }


def test_editor_creates_a_reporter_with_a_password_and_a_byline(editor_user):
    byline = BylineFactory(name="Nadia Nova")
    client = login(editor_user)
    form = client.get(ADD).content.decode()
    for absent in ("is_superuser", "user_permissions", 'name="groups"', 'name="is_staff"'):
        assert absent not in form
    response = client.post(
        ADD,
        {
            "username": "nadia",
            "first_name": "Nadia",
            "last_name": "Nova",
            "email": "nadia@example.com",
            "byline": str(byline.pk),
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            **forged_rights(),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    nadia = User.objects.get(username="nadia")
    assert rights(nadia) == REPORTER_RIGHTS  # whatever was forged
    assert nadia.check_password(NEW_PASSWORD) and nadia.get_full_name() == "Nadia Nova"
    assert Byline.objects.get(pk=byline.pk).user == nadia
    assert login_works("nadia", NEW_PASSWORD)


def test_editor_creates_a_reporter_who_sets_a_password_from_an_emailed_link(
    editor_user, django_capture_on_commit_callbacks
):
    client = login(editor_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD,
            {
                "username": "omar",
                "email": "omar@example.com",
                "send_password_link": "on",
            },
        )
    assert response.status_code == 302
    omar = User.objects.get(username="omar")
    assert rights(omar) == REPORTER_RIGHTS and not omar.has_usable_password()
    (message,) = mail.outbox
    assert message.to == ["omar@example.com"]
    assert "made you an account" in message.body and "omar" in message.body
    link = re.search(r"https?://testserver(/admin/password/\S+/)", message.body).group(1)
    reader = Client()
    form = reader.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = reader.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert login_works("omar", NEW_PASSWORD)
    assert reader.get(link, follow=True).context["validlink"] is False  # works once


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Set a password, or tick"),
        ({"send_password_link": "on"}, "An e-mail address is needed to send the link."),
        (
            {"send_password_link": "on", "email": "a@example.com", "password1": NEW_PASSWORD},
            "Either set a password or send a link, not both.",
        ),
        ({"password1": NEW_PASSWORD, "password2": "other"}, "didn’t match"),
        ({"password1": "12345678", "password2": "12345678"}, "entirely numeric"),
    ],
)
def test_reporter_creation_needs_a_password_or_a_link(editor_user, data, error):
    response = login(editor_user).post(ADD, {"username": "newbie", **data})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_editor_changes_deactivates_and_links_a_reporter_but_cannot_raise_rights(editor_user, rita):
    old, new = BylineFactory(name="Rita Old", user=rita), BylineFactory(name="Rita New")
    client = login(editor_user)
    form = client.get(change_url(rita)).content.decode()
    assert "is_superuser" not in form and 'name="groups"' not in form
    response = client.post(
        change_url(rita),
        {
            "username": "rosa",
            "first_name": "Rita",
            "last_name": "Reyes",
            "email": "rita@example.com",
            "byline": str(new.pk),
            **forged_rights(),  # is_active left out: unticked, so deactivated
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    rita.refresh_from_db()
    assert rights(rita) == REPORTER_RIGHTS
    assert not rita.is_active and rita.last_name == "Reyes"
    assert Byline.objects.get(pk=new.pk).user == rita
    assert Byline.objects.get(pk=old.pk).user is None


def test_editor_cannot_link_a_byline_another_account_writes_under(editor_user, rita, make_staff):
    taken = BylineFactory(name="Taken", user=make_staff("tom", "Reporter"))
    response = login(editor_user).post(
        change_url(rita), {"username": "rosa", "is_active": "on", "byline": str(taken.pk)}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Byline.objects.get(pk=taken.pk).user.username == "tom"


def test_editor_resets_a_reporters_password_and_emails_links(editor_user, rita):
    client = login(editor_user)
    response = client.post(
        password_url(rita),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=rita.pk).check_password(NEW_PASSWORD)
    response = client.post(
        CHANGELIST,
        {"action": "send_password_links", "_selected_action": [rita.pk]},
        follow=True,
    )
    (message,) = mail.outbox
    assert message.to == ["rita@example.com"] and "Choose a new password" in message.body


def test_editor_cannot_touch_superusers_editors_or_their_own_account(editor_user, root, make_staff):
    other_editor = make_staff("eve", "Editor")
    client = login(editor_user)
    listed = client.get(CHANGELIST).context["cl"].result_list
    assert root not in listed and other_editor not in listed and editor_user not in listed
    for account in (root, other_editor, editor_user):
        before = (rights(account), User.objects.get(pk=account.pk).password)
        assert client.get(change_url(account)).status_code == 302  # "does not exist"
        response = client.post(
            change_url(account), {"username": "taken-over", "is_active": "", **forged_rights()}
        )
        assert response.status_code == 302
        response = client.post(
            password_url(account),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
        )
        assert response.status_code == 404
        assert client.get(password_url(account)).status_code == 404
        account = User.objects.get(pk=account.pk)
        assert (rights(account), account.password) == before
        assert account.username != "taken-over" and account.is_active


def test_changelist_actions_reach_only_reporter_accounts(editor_user, root, rita, make_staff):
    other_editor = make_staff("eve", "Editor")
    client = login(editor_user)
    everyone = [root.pk, other_editor.pk, editor_user.pk, rita.pk]
    for action in ("send_password_links", "deactivate_accounts"):
        client.post(CHANGELIST, {"action": action, "_selected_action": everyone})
    assert [message.to for message in mail.outbox] == [[rita.email]]
    assert list(User.objects.filter(is_active=False)) == [rita]
    client.post(CHANGELIST, {"action": "reactivate_accounts", "_selected_action": everyone})
    assert User.objects.filter(is_active=False).count() == 0
    # No deleting: accounts are deactivated, so their stories keep their author.
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": everyone, "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert User.objects.count() == 4
    assert client.post(reverse("admin:auth_user_delete", args=[rita.pk])).status_code == 403


def test_an_account_with_extra_rights_is_not_a_reporter_account(editor_user, rita):
    rita.user_permissions.add(Permission.objects.get(codename="publish_story"))
    client = login(editor_user)
    assert client.get(change_url(rita)).status_code == 302
    client.post(CHANGELIST, {"action": "deactivate_accounts", "_selected_action": [rita.pk]})
    assert User.objects.get(pk=rita.pk).is_active


def test_reporters_manage_no_accounts(reporter_user, rita):
    client = login(reporter_user)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"username": "x", "password1": NEW_PASSWORD}).status_code == 403
    assert client.post(password_url(rita), {"password1": "x"}).status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_superusers_keep_the_whole_user_admin(root, rita):
    client = login(root)
    form = client.get(change_url(rita)).content.decode()
    assert 'name="is_superuser"' in form and 'name="groups"' in form
    assert 'name="user_permissions"' in form
    page = client.get(change_url(root))
    assert page.status_code == 200
    assert "delete_selected" in client.get(CHANGELIST).content.decode()
