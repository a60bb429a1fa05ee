import signal
from contextlib import contextmanager
from html.parser import HTMLParser
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
        body="<p>First paragraph about ships.</p><p>Second paragraph.</p>",
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


# --- edits readers must see at once (test_caching, test_fragments, test_feeds) -----------
# Each takes the discovery_newsroom objects, makes one edit and returns text that must then
# appear on the pages it touches.


def edit_headline(objects):
    story = objects["live"]
    story.headline = "Edited headline"
    story.save()
    return "Edited headline"


def rename_section(objects):
    objects["section"].name = "Planet"
    objects["section"].save()
    return "Planet"


def rename_byline(objects):
    objects["byline"].name = "Wilhelmina Roberts"
    objects["byline"].save()
    return "Wilhelmina Roberts"


def rename_tag(objects):
    from taggit.models import Tag

    tag = Tag.objects.get(name="China")
    tag.name = "Republic of China"
    tag.save()
    return "Republic"


def add_tag(objects):
    objects["live"].tags.add("Mongolia")
    return "Mongolia"


def add_byline(objects):
    from .factories import BylineFactory

    objects["live"].story_bylines.create(byline=BylineFactory(name="Nadia New"), position=5)
    return "Nadia New"


def publish_draft(objects):
    from django.utils import timezone

    draft = objects["hidden"]["draft"]
    draft.status = "published"
    draft.published_at = timezone.now()
    draft.headline = "Freshly published"
    draft.save()
    return "Freshly published"


def add_correction(objects):
    objects["live"].corrections.create(text="The harbour is in the north.")
    # The article's own list (the JSON-LD, rendered afresh, names the text too).
    return '<h2 id="corrections-heading">'


EDITS = {
    edit.__name__: edit
    for edit in (
        edit_headline,
        rename_section,
        rename_byline,
        rename_tag,
        add_tag,
        add_byline,
        publish_draft,
        add_correction,
    )
}


@pytest.fixture
def edits():
    """``edits[name](discovery_newsroom)``: make the edit, get the text it shows readers.
    Tests parametrize over the names (``"edit_headline"``, ``"rename_tag"``…)."""
    return EDITS


# --- reading pages back ------------------------------------------------------------------


class Elements(HTMLParser):
    """Collects (tag, attrs, text) for every element, to check structure without regexes."""

    def __init__(self):
        super().__init__()
        self.elements, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in {"meta", "link", "br", "img", "input"}:
            self.stack.append(element)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def find_all(self, tag, **attrs):
        return [
            e
            for e in self.elements
            if e["tag"] == tag and all(e["attrs"].get(k) == v for k, v in attrs.items())
        ]


def parse_response(response):
    elements = Elements()
    elements.feed(response.content.decode())
    return elements


@pytest.fixture
def parse_html():
    """``parse_html(response).find_all("link", rel="canonical")``: a page's elements as
    ``{"tag", "attrs", "text"}`` dicts, to check structure without regexes."""
    return parse_response


@pytest.fixture
def cache_writes():
    """``with cache_writes() as written:`` the keys written to the cache meanwhile (``set``,
    ``add``, ``set_many``; ``get_or_set`` adds), seen through its public API, not its storage:
    for tests that check what is never kept."""
    from unittest import mock

    @contextmanager
    def recording():
        written = []
        real_set, real_add, real_set_many = cache.set, cache.add, cache.set_many

        def set_(key, *args, **kwargs):
            written.append(key)
            return real_set(key, *args, **kwargs)

        def add(key, *args, **kwargs):
            written.append(key)
            return real_add(key, *args, **kwargs)

        def set_many(data, *args, **kwargs):
            written.extend(data)
            return real_set_many(data, *args, **kwargs)

        with mock.patch.multiple(cache, set=set_, add=add, set_many=set_many):
            yield written

    return recording


@contextmanager
def _time_limit(seconds):
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: not linear")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")  # stateless, so Hypothesis tests may use it too
def time_limit():
    """``with time_limit(seconds):`` fail, rather than hang, if the block runs longer.

    A generous limit, not a timing assertion: a linear parse of hostile lines takes well
    under a second, a quadratic one minutes (a 40 KB run of dots took 6 s). The regex engine
    checks for signals as it backtracks, so the alarm interrupts it."""
    return _time_limit
