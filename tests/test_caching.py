"""Cache-Control, conditional requests, and the reader page cache with its invalidation."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from stories.delivery.page_cache import is_cacheable_response
from stories.importer import import_briefings
from stories.importer.parser import parse_briefing

from .factories import SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

READER_URLS = [
    "/",
    "/sections/world/",
    "/tags/china/",
    "/bylines/william-roberts/",
    "/feed/",
    "/tags/china/feed/atom/",
    "/sitemap.xml",
    "/sitemap-stories.xml",
    "/sitemap-news.xml",
    "/robots.txt",
    "/search/?q=harbours",
]


@pytest.fixture
def staff(client):
    user = User.objects.create_user("editor", password="pw", is_staff=True)
    return user


def cached(client, url, django_assert_num_queries):
    """Fetch ``url`` twice; the second time must come from the page cache (no queries)."""
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.content == first.content
    return second


@pytest.mark.parametrize("url", [*READER_URLS, "story"])
def test_reader_pages_are_public_for_cdns(client, discovery_newsroom, url):
    if url == "story":
        url = discovery_newsroom["live"].get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert directives == {"public", "max-age=0", "s-maxage=60"}
    assert "Vary" not in response or "Cookie" not in response["Vary"]


def test_staff_pages_are_private(client, staff, discovery_newsroom):
    client.force_login(staff)
    response = client.get("/")
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]
    assert "public" not in client.get("/admin/").get("Cache-Control", "")


def test_story_page_answers_conditional_requests(client, discovery_newsroom):
    story = discovery_newsroom["live"]
    url = story.get_absolute_url()
    first = client.get(url)
    etag = first["ETag"]
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304
    story.headline = "A changed headline"
    story.save()
    changed = client.get(url, headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert b"A changed headline" in changed.content


def test_cached_story_answers_304_without_queries(
    client, discovery_newsroom, page_cache, django_assert_num_queries
):
    url = discovery_newsroom["live"].get_absolute_url()
    etag = client.get(url)["ETag"]
    with django_assert_num_queries(0):
        assert client.get(url, headers={"if-none-match": etag}).status_code == 304


# Streamed, so kept by a shared cache in front only (tests/test_sitemap_streaming.py).
NOT_PAGE_CACHED = {"/sitemap-stories.xml"}


@pytest.mark.parametrize(
    "url", [*(url for url in READER_URLS if url not in NOT_PAGE_CACHED), "story"]
)
def test_reader_pages_are_served_from_the_page_cache(
    client, discovery_newsroom, page_cache, django_assert_num_queries, url
):
    if url == "story":
        url = discovery_newsroom["live"].get_absolute_url()
    response = cached(client, url, django_assert_num_queries)
    assert "secretword" not in response.content.decode().casefold()


def test_page_cache_is_off_at_zero_seconds(client, discovery_newsroom, settings):
    settings.PAGE_CACHE_SECONDS = 0
    # Fragments (stories/delivery/fragments.py) have their own switch; with both off,
    # nothing is looked up.
    settings.FRAGMENT_CACHE_SECONDS = 0
    client.get("/")
    with mock.patch("django.core.cache.cache.get", side_effect=AssertionError("no lookup")):
        assert client.get("/").status_code == 200


LISTINGS = ["/", "/sections/world/", "/bylines/william-roberts/", "/feed/"]
RENAMES = ("edit_headline", "rename_section", "rename_byline")


@pytest.mark.parametrize(
    ("edit", "url"),
    [
        *((edit, url) for edit in RENAMES for url in LISTINGS),
        *((edit, "story") for edit in RENAMES),
        # Story cards show no tags; the story page and feeds do.
        *(
            (edit, url)
            for edit in ("rename_tag", "add_tag", "add_byline")
            for url in ("story", "/feed/")
        ),
        ("publish_draft", "/"),
        ("publish_draft", "/sections/world/"),
        ("publish_draft", "/feed/"),
        ("publish_draft", "/sitemap-news.xml"),
    ],
)
def test_edits_reach_readers_past_the_page_cache(
    client, discovery_newsroom, page_cache, django_assert_num_queries, edits, edit, url
):
    if url == "story":
        url = discovery_newsroom["live"].get_absolute_url()
    cached(client, url, django_assert_num_queries)
    expected = edits[edit](discovery_newsroom)
    assert expected in client.get(url).content.decode()


def test_unpublishing_removes_the_story_past_the_page_cache(
    client, discovery_newsroom, page_cache, django_assert_num_queries
):
    story = discovery_newsroom["live"]
    cached(client, "/", django_assert_num_queries)
    cached(client, story.get_absolute_url(), django_assert_num_queries)
    story.status = "draft"
    story.save()
    assert story.headline not in client.get("/").content.decode()
    assert client.get(story.get_absolute_url()).status_code == 404


def test_deleting_a_story_removes_it_past_the_page_cache(
    client, discovery_newsroom, page_cache, django_assert_num_queries
):
    cached(client, "/feed/", django_assert_num_queries)
    discovery_newsroom["live"].delete()
    assert b"Live story about harbours" not in client.get("/feed/").content


def test_scheduled_story_goes_live_past_the_page_cache(
    client, page_cache, django_assert_num_queries, time_machine
):
    start = timezone.now()
    # The clock stops before the stories are written: pages are kept by when their keys
    # were last invalidated, and a clock set back before the writes would see them as new.
    time_machine.move_to(start, tick=False)
    StoryFactory(headline="Already out", published=True, published_at=start - timedelta(hours=1))
    # A minute ahead: well within the page cache's 300 s, so the page shows the story because
    # its go-live started a new generation, not because the cached page expired.
    StoryFactory(
        headline="Coming soon", status="published", published_at=start + timedelta(seconds=60)
    )
    page = cached(client, "/feed/", django_assert_num_queries)
    assert b"Coming soon" not in page.content
    time_machine.shift(61)
    assert b"Coming soon" in client.get("/feed/").content
    assert b"Coming soon" in client.get("/sitemap-news.xml").content
    cached(client, "/feed/", django_assert_num_queries)


def test_imports_reach_readers_past_the_page_cache(client, page_cache, django_assert_num_queries):
    StoryFactory(published=True, headline="Before the import")
    cached(client, "/", django_assert_num_queries)
    briefing = parse_briefing(
        "Imported story lands\nIt came in bulk.\n— By Jo Bloggs\n", source="bulk.txt"
    )
    import_briefings([briefing])
    assert b"Imported story lands" in client.get("/").content


def test_staff_are_never_served_a_cached_reader_page(
    client, staff, discovery_newsroom, page_cache, django_assert_num_queries
):
    cached(client, "/", django_assert_num_queries)
    client.force_login(staff)
    response = client.get("/")
    assert not getattr(response, "from_reader_page_cache", False)
    assert "private" in response["Cache-Control"]


def test_readers_are_never_served_a_staff_page(
    client, staff, discovery_newsroom, page_cache, django_assert_max_num_queries
):
    staff_client = type(client)()
    staff_client.force_login(staff)
    staff_client.get("/")
    response = client.get("/")
    assert not getattr(response, "from_reader_page_cache", False)
    assert "public" in response["Cache-Control"]


@pytest.mark.parametrize("query", ["?preview=abc", "?page=1&token=xyz", "?utm_source=x"])
def test_requests_with_other_parameters_bypass_the_page_cache(
    client, discovery_newsroom, page_cache, query
):
    client.get(f"/{query}")
    second = client.get(f"/{query}")
    assert not getattr(second, "from_reader_page_cache", False)


def test_plain_and_paged_requests_are_cached_separately(
    client, page_cache, django_assert_num_queries
):
    section = SectionFactory()
    for number in range(25):
        StoryFactory(published=True, section=section, headline=f"Story {number:02}")
    first = cached(client, "/", django_assert_num_queries)
    second = cached(client, "/?page=2", django_assert_num_queries)
    assert first.content != second.content


@pytest.mark.parametrize(
    ("header", "cacheable"),
    [
        ("", True),
        ("public, max-age=60", True),
        ("private", False),
        ("no-store", False),
        ("max-age=0, no-cache, no-store, must-revalidate, private", False),
    ],
)
def test_responses_marked_private_or_no_store_are_never_stored(header, cacheable):
    request = RequestFactory().get("/")
    response = HttpResponse("page")
    if header:
        response["Cache-Control"] = header
    assert is_cacheable_response(request, response) is cacheable


def test_error_pages_and_cookies_are_never_stored():
    request = RequestFactory().get("/")
    assert not is_cacheable_response(request, HttpResponse("gone", status=404))
    with_cookie = HttpResponse("page")
    with_cookie.set_cookie("name", "value")
    assert not is_cacheable_response(request, with_cookie)
