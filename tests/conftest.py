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
def page_cache_off(settings):
    # Pages are measured as rendered (query budgets); tests/test_caching.py turns it on.
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 300


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


@pytest.fixture
def discovery_newsroom(db):
    """One live story and hidden ones (draft, review, scheduled) that share its section, tag
    and byline; the hidden ones also carry a tag and a byline of their own, and every
    hidden field holds the word "secretword" so a leak is easy to spot."""
    from .factories import BylineFactory, SectionFactory, StoryFactory

    section = SectionFactory(name="World", slug="world", description="News from abroad.")
    writer = BylineFactory(name="William Roberts", slug="william-roberts", bio="Reports.")
    second = BylineFactory(name="Ana Lima", slug="ana-lima")
    ghost = BylineFactory(name="Ghost Writer", slug="ghost-writer")
    live = StoryFactory(
        headline="Live story about harbours",
        slug="live-story",
        deck="A deck about ports.",
        body="First paragraph about ships.\n\nSecond paragraph.",
        published=True,
        section=section,
        bylines=[writer, second],
        tags=["China", "Taiwan"],
    )
    hidden = {
        "draft": StoryFactory(section=section, status="draft"),
        "review": StoryFactory(section=section, status="review"),
        "scheduled": StoryFactory(section=section, scheduled=True),
    }
    for state, story in hidden.items():
        story.headline = f"Secretword {state} headline"
        story.slug = f"secretword-{state}"
        story.deck = "Secretword deck."
        story.body = "Secretword harbours body."
        story.save()
        story.story_bylines.create(byline=writer, position=0)
        story.story_bylines.create(byline=ghost, position=1)
        story.tags.add("China", "Secretword Tag")
    return {"section": section, "byline": writer, "live": live, "hidden": hidden}
