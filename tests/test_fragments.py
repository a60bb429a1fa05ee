"""Kept fragments (stories/delivery/fragments.py) with the page cache off, and the page cache's fast
hit path (ReaderPageCacheHitMiddleware): edits reach readers at once, and nothing kept for
readers reaches staff, previews or anyone with a session."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from stories.importer import import_briefings
from stories.importer.parser import parse_briefing

from .cachekeys import cache_keys
from .factories import SectionFactory, StoryFactory
from .test_caching import (
    add_byline,
    add_tag,
    edit_headline,
    publish_draft,
    rename_byline,
    rename_section,
)

pytestmark = pytest.mark.django_db

# The live story's body mentions ships (its headline changes in one edit).
LISTINGS = ["/", "/sections/world/", "/bylines/william-roberts/", "/search/?q=ships"]


def warm(client, url, django_assert_max_num_queries):
    """Fetch ``url`` twice: the second time everything it shows comes from the cache."""
    first = client.get(url)
    assert first.status_code == 200
    # Its object, count, page keys, cards, meta tags, content and menu are all kept.
    with django_assert_max_num_queries(0):
        second = client.get(url)
    assert second.content == first.content
    return second


@pytest.mark.parametrize(
    ("edit", "url"),
    [
        *(
            (edit, url)
            for edit in (edit_headline, rename_section, rename_byline, add_byline)
            for url in LISTINGS
        ),
        (publish_draft, "/"),
        (publish_draft, "/sections/world/"),
    ],
)
def test_edits_reach_kept_story_cards_at_once(
    client, discovery_newsroom, django_assert_max_num_queries, edit, url
):
    warm(client, url, django_assert_max_num_queries)
    expected = edit(discovery_newsroom)
    assert expected in client.get(url).content.decode()


def add_correction(objects):
    objects["live"].corrections.create(text="The harbour is in the north.")
    # The article's own list (the JSON-LD, rendered afresh, names the text too).
    return '<h2 id="corrections-heading">'


@pytest.mark.parametrize(
    "edit",
    [edit_headline, rename_section, rename_byline, add_byline, add_correction, add_tag],
)
def test_edits_reach_the_kept_story_article_at_once(
    client, discovery_newsroom, django_assert_max_num_queries, edit
):
    url = discovery_newsroom["live"].get_absolute_url()
    # Warm, the live row, meta tags, JSON-LD and article are all kept.
    warm(client, url, django_assert_max_num_queries)
    expected = edit(discovery_newsroom)
    assert expected in client.get(url).content.decode()


def kept_story_page(story):
    from django.core.cache import cache
    from django.test import RequestFactory

    from stories.delivery.fragments import fragment_key

    key = fragment_key(RequestFactory().get("/"), "story-page", story.pk, "http://testserver/")
    return cache.get(key)


def test_previews_never_fill_the_kept_story_page(client, discovery_newsroom):
    from stories.models import PreviewLink

    story = discovery_newsroom["hidden"]["draft"]
    assert client.get(PreviewLink.objects.create(story=story).get_absolute_url()).status_code == 200
    assert kept_story_page(story) is None
    live = discovery_newsroom["live"]
    client.get(live.get_absolute_url())
    assert set(kept_story_page(live)) == {"meta", "article"}


def test_kept_story_page_follows_the_address_asked_for(client, discovery_newsroom, settings):
    """Meta tags carry absolute addresses: a page asked for under another host name must
    not show the first one's."""
    settings.ALLOWED_HOSTS = ["testserver", "news.example.org"]
    url = discovery_newsroom["live"].get_absolute_url()
    assert 'href="http://testserver/' in client.get(url).content.decode()
    other = client.get(url, HTTP_HOST="news.example.org").content.decode()
    assert 'href="http://news.example.org/' in other
    assert "http://testserver/" not in other


def test_kept_counts_follow_new_stories(client, django_assert_max_num_queries):
    section = SectionFactory(slug="world")
    for _ in range(21):
        StoryFactory(published=True, section=section)
    assert "Page 1 of 2" in warm(client, "/", django_assert_max_num_queries).content.decode()
    for _ in range(20):
        StoryFactory(published=True, section=section)
    assert "Page 1 of 3" in client.get("/").content.decode()


def test_kept_section_menu_follows_new_sections(client, django_assert_max_num_queries):
    StoryFactory(published=True)
    warm(client, "/", django_assert_max_num_queries)
    section = SectionFactory(name="Brand new section")
    # A section joins the menu with its first live story.
    assert "Brand new section" not in client.get("/").content.decode()
    StoryFactory(published=True, section=section)
    assert "Brand new section" in client.get("/").content.decode()


def test_imports_reach_kept_story_cards(client, django_assert_max_num_queries):
    StoryFactory(published=True, headline="Before the import")
    warm(client, "/", django_assert_max_num_queries)
    import_briefings([parse_briefing("Imported in bulk\nBody.\n", source="bulk.txt")])
    assert "Imported in bulk" in client.get("/").content.decode()


def test_scheduled_story_reaches_kept_listings_when_it_goes_live(
    client, django_assert_max_num_queries
):
    start = timezone.now()
    section = SectionFactory(slug="world")
    StoryFactory(published=True, section=section, published_at=start - timedelta(hours=1))
    StoryFactory(
        headline="Coming soon",
        status="published",
        section=section,
        published_at=start + timedelta(hours=1),
    )
    with mock.patch("django.utils.timezone.now", return_value=start):
        page = warm(client, "/sections/world/", django_assert_max_num_queries)
        assert "Coming soon" not in page.content.decode()
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=2)):
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


def test_preview_links_are_never_kept(client, discovery_newsroom, page_cache, editor_user):
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
    client, discovery_newsroom, page_cache, django_assert_num_queries
):
    url = discovery_newsroom["live"].get_absolute_url()
    client.get(url)
    assert client.get(url).from_reader_page_cache
    expected = edit_headline(discovery_newsroom)
    response = client.get(url)
    assert not getattr(response, "from_reader_page_cache", False)
    assert expected in response.content.decode()


def test_kept_page_keys_follow_new_stories(client, django_assert_max_num_queries):
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


def test_kept_lookups_follow_unpublishing_at_once(client, discovery_newsroom):
    """The story, tag and byline an address names are kept for the content generation; a
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


def test_addresses_that_name_nothing_are_not_kept(client, db):
    from django.core.cache import cache

    cache.clear()
    for url in (
        "/bylines/nobody/",
        "/tags/nothing/",
        "/sections/nowhere/",
        "/2025/01/02/no-such-story/",
        "/bylines/nobody/feed/",
        "/tags/nothing/feed/atom/",
        "/sections/nowhere/feed/",
    ):
        assert client.get(url).status_code == 404
    assert not cache_keys(":lookup:")
