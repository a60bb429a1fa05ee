from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def ensure(*args):
    stdout = StringIO()
    call_command("ensure_demo_editor", *args, stdout=stdout)
    return stdout.getvalue()


def test_demo_editor_gets_a_generated_password_that_logs_in(client, var_dir):
    output = ensure()
    password = (var_dir / "demo-editor-password").read_text().strip()
    assert len(password) >= 16
    assert password in output
    assert "/admin/" in output
    assert (var_dir / "demo-editor-password").stat().st_mode & 0o077 == 0
    assert client.login(request=HttpRequest(), username="editor", password=password)
    assert client.get("/admin/stories/story/").status_code == 200


def test_demo_editor_is_stable_across_runs(var_dir):
    ensure()
    password = (var_dir / "demo-editor-password").read_text()
    ensure()
    assert (var_dir / "demo-editor-password").read_text() == password
    assert User.objects.filter(username="editor").count() == 1


def test_demo_editor_password_is_restored_if_changed(var_dir):
    ensure()
    user = User.objects.get(username="editor")
    user.set_password("something else")
    user.save()
    ensure()
    password = (var_dir / "demo-editor-password").read_text().strip()
    user.refresh_from_db()
    assert user.check_password(password)


def test_demo_editor_reset_makes_a_new_password(var_dir):
    ensure()
    old = (var_dir / "demo-editor-password").read_text()
    ensure("--reset")
    assert (var_dir / "demo-editor-password").read_text() != old


def test_demo_editor_is_a_staff_editor_not_a_superuser(client, var_dir):
    ensure()
    user = User.objects.get(username="editor")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Editor"]
    assert user.has_perm("stories.publish_story")
    # Editors manage reporters' accounts (stories.editorial.people), never groups or rights.
    assert user.has_perm("auth.change_user") and not user.has_perm("auth.delete_user")
    assert not user.has_perm("auth.change_group") and not user.has_perm("auth.change_permission")


def test_demo_editor_left_as_superuser_is_made_an_editor(var_dir):
    User.objects.create_superuser("editor", password="x")
    ensure()
    user = User.objects.get(username="editor")
    assert not user.is_superuser
    assert user.groups.filter(name="Editor").exists()


def test_demo_editor_prints_the_address_it_is_served_at(var_dir):
    assert "http://127.0.0.1:8123/admin/" in ensure("--site-url", "http://127.0.0.1:8123/")
