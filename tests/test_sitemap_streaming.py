"""The story sitemap's children are streamed (issue 16): the same text Django's sitemap
framework writes of the same stories, their validators known before their body (a 304
reads no row of it), kept by a shared cache in front but not by the page cache, in memory
that does not grow with the number of addresses."""

import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sitemaps import views as sitemap_views
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stories.delivery import surrogates
from stories.delivery.frontend import scoped
from stories.models import Story
from stories.reader import sitemaps

from .factories import SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db


def body(response):
    assert response.streaming
    return b"".join(response.streaming_content)


def framework_child(page):
    """Child ``page`` as Django's sitemap framework writes it from models, with the template
    the streamed child imitates (what the story sitemap was before it was written by hand)."""
    query = {"p": page} if page > 1 else {}
    request = RequestFactory().get("/sitemap-stories.xml", query)
    response = sitemap_views.sitemap(
        request,
        {"stories": sitemaps.StorySitemap},
        section="stories",
        template_name="stories/sitemap.xml",
    )
    return response.render().content


def make_archive():
    """Stories over several local days, around midnight, some published at the same
    moment, some edited after, one with a slug of accented letters; a draft and a
    scheduled story that no child lists."""
    base = datetime(2026, 3, 28, 21, 30, tzinfo=UTC)  # Paris moves its clocks on the 29th
    section = SectionFactory()
    stories = [
        StoryFactory(published=True, section=section, published_at=base + timedelta(hours=5 * n))
        for n in range(9)
    ]
    for _ in range(3):
        StoryFactory(published=True, section=section, published_at=base + timedelta(hours=7))
    StoryFactory(published=True, section=section, slug="économie-en-été", published_at=base)
    Story.objects.filter(pk=stories[2].pk).update(updated_at=base + timedelta(days=30))
    StoryFactory(section=section, headline="A draft")
    StoryFactory(scheduled=True, section=section, headline="Not yet")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Sao_Paulo"])
def test_children_are_streamed_byte_for_byte_as_the_framework_writes_them(
    client, settings, monkeypatch, zone
):
    settings.TIME_ZONE = zone
    settings.SITEMAP_MAX_URLS = 5
    # Batches and pieces that end inside a child, and a child that ends inside a batch.
    monkeypatch.setattr(sitemaps, "STORY_BATCH", 2)
    monkeypatch.setattr(sitemaps, "CHUNK_URLS", 3)
    make_archive()
    pieces = []
    for page in (1, 2, 3):
        response = client.get("/sitemap-stories.xml", {"p": page} if page > 1 else {})
        assert response.status_code == 200
        pieces.append(list(response.streaming_content))
        with timezone.override(zone):
            assert b"".join(pieces[-1]) == framework_child(page), page
    assert len(pieces[0]) > 1  # in pieces, not one text
    assert client.get("/sitemap-stories.xml", {"p": 4}).status_code == 404


def test_an_empty_archive_streams_the_frameworks_empty_child(client):
    assert body(client.get("/sitemap-stories.xml")) == framework_child(1)


def test_validators_come_before_the_body_and_a_304_reads_no_row_of_it(
    client, django_assert_num_queries
):
    StoryFactory(published=True)
    surrogates.settle_go_lives()  # the go-live state known, as after any cached page
    first = client.get("/sitemap-stories.xml")
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert body(first)
    # Where the child starts (whether it exists), and no batch of its stories.
    with django_assert_num_queries(1):
        assert (
            client.get("/sitemap-stories.xml", headers={"if-none-match": etag}).status_code == 304
        )
    with django_assert_num_queries(1):
        since = client.get("/sitemap-stories.xml", headers={"if-modified-since": last_modified})
        assert since.status_code == 304
    assert since["ETag"] == etag and since["Last-Modified"] == last_modified


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["edit", "unpublish", "publish"])
def test_any_change_to_what_a_child_lists_changes_its_validators(client, change):
    """Outside a test transaction: the keys are invalidated again after the commit."""
    stories = [StoryFactory(published=True) for _ in range(2)]
    draft = StoryFactory()
    first = client.get("/sitemap-stories.xml")
    first_body = body(first)
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert client.get("/sitemap-stories.xml", headers={"if-none-match": etag}).status_code == 304
    # A few seconds later, as a real change comes (HTTP dates are to the second).
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=5), tick=True):
        story = Story.objects.get(pk=stories[0].pk if change != "publish" else draft.pk)
        if change == "edit":
            story.slug = "a-new-address"
        elif change == "unpublish":
            story.status = Story.Status.DRAFT
        else:
            story.status, story.published_at = Story.Status.PUBLISHED, timezone.now()
        story.save()
        by_etag = client.get("/sitemap-stories.xml", headers={"if-none-match": etag})
        by_date = client.get("/sitemap-stories.xml", headers={"if-modified-since": last_modified})
        assert by_etag.status_code == by_date.status_code == 200
        assert by_etag["ETag"] != etag
        assert body(by_etag) != first_body


def test_a_scheduled_story_going_live_changes_the_validators(client):
    StoryFactory(published=True)
    scheduled = StoryFactory(scheduled=True)
    first = client.get("/sitemap-stories.xml")
    etag = first["ETag"]
    assert scheduled.slug.encode() not in body(first)
    with time_machine.travel(scheduled.published_at + timedelta(seconds=5), tick=True):
        again = client.get("/sitemap-stories.xml", headers={"if-none-match": etag})
        assert again.status_code == 200
        assert scheduled.slug.encode() in body(again)


def test_no_validators_with_every_cache_off(client, settings):
    """Nothing is looked up then (as ``include_invalidations``); an ETag made of the body
    would need the whole body first."""
    settings.FRAGMENT_CACHE_SECONDS = 0
    StoryFactory(published=True)
    response = client.get("/sitemap-stories.xml")
    assert "ETag" not in response and "Last-Modified" not in response
    assert body(response)


@pytest.mark.parametrize("query", [{}, {"p": 2}])
def test_every_child_goes_to_the_shared_cache_with_its_keys_and_not_to_the_page_cache(
    client, settings, page_cache, query
):
    settings.SITEMAP_MAX_URLS = 1
    settings.PAGE_CACHE_STATUS_HEADER = True
    StoryFactory(published=True)
    StoryFactory(published=True)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/sitemap-stories.xml", query)
            assert body(response).count(b"<url>") == 1
        assert len(queries) >= 2  # rendered each time: where it starts, its stories
        assert response.status_code == 200
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert directives == {"public", "max-age=0", "s-maxage=60"}
        assert set(scoped(["all", "sitemaps"])) <= set(response["xkey"].split())
        assert response["Surrogate-Key"] == response["xkey"]
        assert response["Content-Type"] == "application/xml"
        assert response["X-Robots-Tag"] == "noindex, noodp, noarchive"
        # Not looked up, not stored: it counts as neither a hit nor a miss.
        assert "X-Page-Cache" not in response


@pytest.mark.parametrize("spelling", ["1", "+1", "01", " 1", "\uff11"])  # last: full-width
def test_another_spelling_of_a_child_is_redirected_and_not_kept_by_a_shared_cache(client, spelling):
    StoryFactory(published=True)
    response = client.get("/sitemap-stories.xml", {"p": spelling})
    # As listings' ``?page=+2``: one address per child, so no crawler finds copies of one.
    assert response.status_code == 301
    assert response["Location"] == "/sitemap-stories.xml"
    assert "s-maxage=0" in response["Cache-Control"]
    assert "xkey" not in response


def peak_bytes(client, url):
    """Peak Python memory of a request of ``url`` with its body read as a server sends it."""
    tracemalloc.start()
    try:
        response = client.get(url)
        pieces = response.streaming_content if response.streaming else [response.content]
        sent = sum(len(piece) for piece in pieces)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, sent


def test_a_childs_memory_does_not_grow_with_its_addresses(client, settings, monkeypatch):
    """2,000 addresses and 20,000 take the same memory: a batch of rows and a piece of text
    (the whole text was 0.5 kB an address: 9 MB more for the larger child)."""
    monkeypatch.setattr(sitemaps, "STORY_BATCH", 500)
    section = SectionFactory()
    start = timezone.now() - timedelta(days=400)
    Story.objects.bulk_create(
        Story(
            headline=f"Story {n}",
            slug=f"story-number-{n}",
            section=section,
            body="<p>Text.</p>",
            status=Story.Status.PUBLISHED,
            published_at=start + timedelta(minutes=20 * n),
        )
        for n in range(20_000)
    )
    settings.SITEMAP_MAX_URLS = 2_000
    peak_bytes(client, "/sitemap-stories.xml")  # the first request's imports and caches
    small, small_sent = peak_bytes(client, "/sitemap-stories.xml")
    settings.SITEMAP_MAX_URLS = 20_000
    large, large_sent = peak_bytes(client, "/sitemap-stories.xml")
    assert large_sent > 9 * small_sent
    assert large < small + 2 * 1024 * 1024, (small, large)
