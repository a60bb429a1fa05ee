"""Cached fragments (stories/delivery/fragments.py, the templates' {% cache %} blocks) with
the page cache off, and the page cache's fast hit path (ReaderPageCacheHitMiddleware): edits
reach readers at once, and nothing cached for readers reaches staff, previews or anyone with
a session."""

import re
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stories.importer import import_briefings
from stories.importer.parser import parse_briefing

from .factories import SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

# The live story's body mentions ships (its headline changes in one edit).
LISTINGS = ["/", "/sections/world/", "/bylines/william-roberts/", "/search/?q=ships"]


def warm(client, url, django_assert_max_num_queries):
    """Fetch ``url`` twice: the second time everything it shows comes from the cache."""
    first = client.get(url)
    assert first.status_code == 200
    # Its object, count, page keys, cards, meta tags, content and menu are all cached.
    with django_assert_max_num_queries(0):
        second = client.get(url)
    assert second.content == first.content
    return second


@pytest.mark.parametrize(
    ("edit", "url"),
    [
        *(
            (edit, url)
            for edit in ("edit_headline", "rename_section", "rename_byline", "add_byline")
            for url in LISTINGS
        ),
        ("publish_draft", "/"),
        ("publish_draft", "/sections/world/"),
    ],
)
def test_edits_reach_cached_story_cards_at_once(
    client, discovery_newsroom, django_assert_max_num_queries, edits, edit, url
):
    warm(client, url, django_assert_max_num_queries)
    expected = edits[edit](discovery_newsroom)
    assert expected in client.get(url).content.decode()


@pytest.mark.parametrize(
    "edit",
    [
        "edit_headline",
        "rename_section",
        "rename_byline",
        "add_byline",
        "add_correction",
        "add_tag",
    ],
)
def test_edits_reach_the_cached_story_article_at_once(
    client, discovery_newsroom, django_assert_max_num_queries, edits, edit
):
    url = discovery_newsroom["live"].get_absolute_url()
    # Warm, the live row, meta tags, JSON-LD and article are all cached.
    warm(client, url, django_assert_max_num_queries)
    expected = edits[edit](discovery_newsroom)
    assert expected in client.get(url).content.decode()


def test_previews_never_fill_the_cached_story_page(
    client, discovery_newsroom, django_assert_max_num_queries, cache_writes
):
    from stories.models import PreviewLink

    # A reader's story page is kept: read again, it runs no query. The generation and the
    # section menu are kept from here on too.
    warm(client, discovery_newsroom["live"].get_absolute_url(), django_assert_max_num_queries)
    story = discovery_newsroom["hidden"]["draft"]
    preview = PreviewLink.objects.create(story=story).get_absolute_url()
    with cache_writes() as written:
        assert client.get(preview).status_code == 200
    assert written == []


def test_cached_story_page_follows_the_address_asked_for(client, discovery_newsroom, settings):
    """Meta tags carry absolute addresses: a page asked for under another host name must
    not show the first one's."""
    settings.ALLOWED_HOSTS = ["testserver", "news.example.org"]
    url = discovery_newsroom["live"].get_absolute_url()
    assert 'href="http://testserver/' in client.get(url).content.decode()
    other = client.get(url, HTTP_HOST="news.example.org").content.decode()
    assert 'href="http://news.example.org/' in other
    assert "http://testserver/" not in other


def test_cached_counts_follow_new_stories(client, django_assert_max_num_queries):
    section = SectionFactory(slug="world")
    for _ in range(21):
        StoryFactory(published=True, section=section)
    assert "Page 1 of 2" in warm(client, "/", django_assert_max_num_queries).content.decode()
    for _ in range(20):
        StoryFactory(published=True, section=section)
    assert "Page 1 of 3" in client.get("/").content.decode()


def test_cached_section_menu_follows_new_sections(client, django_assert_max_num_queries):
    StoryFactory(published=True)
    warm(client, "/", django_assert_max_num_queries)
    section = SectionFactory(name="Brand new section")
    # A section joins the menu with its first live story.
    assert "Brand new section" not in client.get("/").content.decode()
    StoryFactory(published=True, section=section)
    assert "Brand new section" in client.get("/").content.decode()


def test_imports_reach_cached_story_cards(client, django_assert_max_num_queries):
    StoryFactory(published=True, headline="Before the import")
    warm(client, "/", django_assert_max_num_queries)
    import_briefings([parse_briefing("Imported in bulk\nBody.\n", source="bulk.txt")])
    assert "Imported in bulk" in client.get("/").content.decode()


def test_scheduled_story_reaches_cached_listings_when_it_goes_live(
    client, django_assert_max_num_queries, time_machine
):
    start = timezone.now()
    # The clock stops before the stories are written: pages are kept by when their keys
    # were last invalidated, and a clock set back before the writes would see them as new.
    time_machine.move_to(start, tick=False)
    section = SectionFactory(slug="world")
    StoryFactory(published=True, section=section, published_at=start - timedelta(hours=1))
    # A minute ahead: well within FRAGMENT_CACHE_SECONDS (300), so the listing shows the story
    # because its go-live invalidated its keys, not because the kept pieces expired.
    StoryFactory(
        headline="Coming soon",
        status="published",
        section=section,
        published_at=start + timedelta(seconds=60),
    )
    page = warm(client, "/sections/world/", django_assert_max_num_queries)
    assert "Coming soon" not in page.content.decode()
    time_machine.shift(61)
    assert "Coming soon" in client.get("/sections/world/").content.decode()


def test_fragments_are_off_at_zero_seconds(client, discovery_newsroom, settings):
    settings.FRAGMENT_CACHE_SECONDS = 0
    client.get("/")
    with mock.patch("django.core.cache.cache.get_many", side_effect=AssertionError("no lookup")):
        assert client.get("/").status_code == 200


# --- the page cache's fast hit path ----------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/sections/world/", "/search/?q=harbours", "story"])
def test_fast_hits_carry_the_same_headers_as_rendered_pages(
    client, discovery_newsroom, page_cache, django_assert_num_queries, url
):
    if url == "story":
        url = discovery_newsroom["live"].get_absolute_url()
    first = client.get(url)
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.from_reader_page_cache
    assert second.content == first.content
    assert dict(second.items()) | {"Content-Length": ""} == dict(first.items()) | {
        "Content-Length": ""
    }
    assert int(second["Content-Length"]) == len(second.content)
    for header in ("Content-Security-Policy", "X-Frame-Options", "ETag", "Cache-Control"):
        assert second[header]


def test_fast_hits_answer_if_none_match_with_304(client, discovery_newsroom, page_cache):
    etag = client.get("/")["ETag"]
    assert client.get("/")["ETag"] == etag
    assert client.get("/", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/", headers={"if-none-match": '"other"'}).status_code == 200


def test_fast_hits_never_read_the_session(client, discovery_newsroom, page_cache):
    client.get("/")
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.load",
        side_effect=AssertionError("session read"),
    ):
        response = client.get("/")
    assert response.from_reader_page_cache
    assert "Cookie" not in response.get("Vary", "")


def test_logged_in_users_never_get_a_fast_hit(client, discovery_newsroom, page_cache):
    client.get("/")
    assert client.get("/").from_reader_page_cache
    client.force_login(User.objects.create_user("editor", password="pw", is_staff=True))
    response = client.get("/")
    assert not getattr(response, "from_reader_page_cache", False)
    assert "private" in response["Cache-Control"]


def test_preview_links_are_never_cached(client, discovery_newsroom, page_cache, editor_user):
    from stories.models import PreviewLink

    link = PreviewLink.objects.create(story=discovery_newsroom["hidden"]["draft"])
    url = link.get_absolute_url()
    first = client.get(url)
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    second = client.get(url)
    assert not getattr(second, "from_reader_page_cache", False)


def test_health_checks_never_touch_the_page_cache(client, db, page_cache):
    with mock.patch("django.core.cache.cache.get", side_effect=AssertionError("lookup")):
        assert client.get("/healthz").status_code == 200


def test_edits_reach_readers_past_fast_hits(
    client, discovery_newsroom, page_cache, django_assert_num_queries, edits
):
    url = discovery_newsroom["live"].get_absolute_url()
    client.get(url)
    assert client.get(url).from_reader_page_cache
    expected = edits["edit_headline"](discovery_newsroom)
    response = client.get(url)
    assert not getattr(response, "from_reader_page_cache", False)
    assert expected in response.content.decode()


def test_cached_page_keys_follow_new_stories(client, django_assert_max_num_queries):
    section = SectionFactory(slug="world")
    start = timezone.now() - timedelta(days=1)
    for number in range(45):
        StoryFactory(
            headline=f"Story number {number:02}",
            published=True,
            section=section,
            published_at=start + timedelta(minutes=number),
        )
    # Newest first: page 2 starts with the 21st newest, story 24.
    page = warm(client, "/sections/world/?page=2", django_assert_max_num_queries).content
    assert page.decode().index("Story number 24") < page.decode().index("Story number 23")
    StoryFactory(headline="Brand new story", published=True, section=section)
    page = client.get("/sections/world/?page=2").content.decode()
    assert "Story number 25" in page
    assert "Story number 05" not in page


def test_cached_lookups_follow_unpublishing_at_once(client, discovery_newsroom):
    """The story, tag and byline an address names are cached for the content generation; a
    story taken down takes its page, and the page of a tag only it carried, with it."""
    from stories.models import Story

    story = discovery_newsroom["live"]
    story.tags.add("Only here")
    tag = story.tags.get(name="Only here")
    story_url, tag_url = story.get_absolute_url(), f"/tags/{tag.slug}/"
    for url in (story_url, tag_url, story_url, tag_url):
        assert client.get(url).status_code == 200
    story.refresh_from_db()
    story.status = Story.Status.UNPUBLISHED
    story.save()
    assert client.get(story_url).status_code == 404
    assert client.get(tag_url).status_code == 404


def test_addresses_that_name_nothing_are_not_cached(client, db, cache_writes):
    """Anyone may ask for any address: only real objects take cache space, and an address
    asked for again is looked up again."""
    lookups = {
        "/bylines/nobody/": "stories_byline",
        "/tags/nothing/": "taggit_tag",
        "/sections/nowhere/": "stories_section",
        "/2025/01/02/no-such-story/": "stories_story",
        "/bylines/nobody/feed/": "stories_byline",
        "/tags/nothing/feed/atom/": "taggit_tag",
        "/sections/nowhere/feed/": "stories_section",
    }
    client.get("/")  # the content generation and the section menu are cached from here on
    with cache_writes() as written:
        for url in lookups:
            assert client.get(url).status_code == 404
    assert written == []
    for url, table in lookups.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 404
        assert [q for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]], url


# --- the templates' {% cache %} blocks -------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CACHE_TAG = re.compile(r"{%\s*cache\s+(.*?)\s*%}")


def cache_blocks():
    for path in sorted(TEMPLATES.rglob("*.html")):
        for arguments in CACHE_TAG.findall(path.read_text()):
            yield path.relative_to(TEMPLATES), arguments.split()


def test_every_cache_block_is_keyed_by_the_cache_scope():
    """Django's {% cache %} turns a vary-on variable missing from the context into "", and a
    block keyed without the scope would be shared by every database, site address and
    content generation. So each block takes its timeout, scope and cache from
    stories.delivery.context_processors, and its name is its own."""
    blocks = list(cache_blocks())
    assert len(blocks) >= 8  # the menu, listings' meta tags and content, search results
    names = {}
    for path, (timeout, name, *vary_on) in blocks:
        assert timeout == "fragment_seconds", path
        # The menu shows the sections only: its scope names that key alone.
        scopes = {"section_menu": "menu_scope", "site_footer": "footer_scope"}
        assert vary_on[0] == scopes.get(name, "cache_scope"), path
        assert vary_on[-1] == "using=fragment_cache", path
        assert len(vary_on) > 1 or name == "section_menu", path
        names.setdefault(name, set()).add(tuple(vary_on))
    # A name used by several templates keys its blocks by the same values (the listing's
    # cache_name tells them apart).
    assert all(len(keys) == 1 for keys in names.values()), names


@pytest.mark.parametrize(
    "other",
    [{"HTTP_HOST": "mirror.example.org"}, {"SCRIPT_NAME": "/mirror"}, {"secure": True}],
)
def test_cache_blocks_differ_by_host_scheme_and_script_prefix(
    client, discovery_newsroom, settings, other
):
    from django.test.utils import override_script_prefix

    settings.ALLOWED_HOSTS = ["testserver", "mirror.example.org"]
    for _ in range(2):  # rendered, then from the cache
        plain = client.get("/sections/world/").content.decode()
        if "SCRIPT_NAME" in other:
            with override_script_prefix("/mirror/"):
                mirrored = client.get("/sections/world/", **other).content.decode()
        else:
            mirrored = client.get("/sections/world/", **other).content.decode()
        assert 'href="http://testserver/sections/world/"' in plain  # meta block
        assert 'href="/sections/world/"' in plain  # menu block
        assert "mirror" not in plain and "https://testserver" not in plain
        if "HTTP_HOST" in other:
            assert 'href="http://mirror.example.org/sections/world/"' in mirrored
        elif "SCRIPT_NAME" in other:
            assert 'href="/mirror/sections/world/"' in mirrored
            assert 'href="http://testserver/mirror/sections/world/"' in mirrored
        else:
            assert 'href="https://testserver/sections/world/"' in mirrored


def test_the_cache_scope_names_the_site_and_the_state_of_the_pages_keys(rf, db):
    from stories.delivery import surrogates
    from stories.delivery.generation import CacheScope, site_scope

    scopes = {
        str(CacheScope(request))
        for request in (
            rf.get("/"),
            rf.get("/", HTTP_HOST="localhost"),
            rf.get("/", secure=True),
        )
    }
    assert len(scopes) == 3

    def scope(keys=None):
        request = rf.get("/")
        surrogates.add_keys(request, "story-1")
        return str(CacheScope(request, keys))

    before, menu = scope(), scope(["sections"])
    assert before.startswith(site_scope(rf.get("/")) + ":")
    assert scope() == before  # nothing changed: the same scope, so blocks are reused
    surrogates.invalidate(["story-2"])
    assert (scope(), scope(["sections"])) == (before, menu)  # another story's edit
    surrogates.invalidate(["story-1"])
    assert scope() != before
    assert scope(["sections"]) == menu  # the menu does not show the story
