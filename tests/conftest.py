from pathlib import Path

import pytest
from django.core.cache import cache

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "briefing.txt"


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Hashed static names need `collectstatic` first; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Tests log real users in; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seed_path():
    return SEED


@pytest.fixture
def briefing_file(tmp_path):
    """Write a briefing to a temporary file and return its path."""

    def write(text, name="briefing.txt", encoding="utf-8"):
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def make_staff(db):
    """A staff user in one of the real role groups (the data migration made them)."""
    from django.contrib.auth.models import Group, User

    def make(username, role):
        user = User.objects.create_user(username, password="pw-for-tests-only", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def editor_user(make_staff):
    return make_staff("ed", "Editor")


@pytest.fixture
def reporter_user(make_staff):
    return make_staff("rita", "Reporter")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
