"""Sitemaps, the Google News sitemap and robots.txt, read back as XML."""

from datetime import datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.db.models import Max
from django.utils import timezone

from stories.delivery import surrogates
from stories.models import SitePage

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
SECTIONS = ["stories", "news", "sections", "tags", "bylines"]
# The site's own pages (About, Contact): no story's business.
ALL_SITEMAPS = [*SECTIONS, "pages"]


def read_xml(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    # Read once: a streamed child (the stories') is read as it is sent.
    response.xml_text = response.getvalue().decode()
    return response, ElementTree.fromstring(response.xml_text)


def locations(root):
    return [loc.text for loc in root.iter(f"{SITEMAP}loc")]


def test_sitemap_index_lists_every_sitemap_with_lastmod(client, discovery_newsroom):
    _, root = read_xml(client, "/sitemap.xml")
    assert root.tag == f"{SITEMAP}sitemapindex"
    assert locations(root) == [f"http://testserver/sitemap-{name}.xml" for name in ALL_SITEMAPS]
    story = discovery_newsroom["live"]
    expected = max(story.published_at, story.updated_at)
    pages_changed = SitePage.objects.aggregate(at=Max("updated_at"))["at"]
    for entry in root.iter(f"{SITEMAP}sitemap"):
        lastmod = datetime.fromisoformat(entry.find(f"{SITEMAP}lastmod").text)
        if entry.find(f"{SITEMAP}loc").text.endswith("-pages.xml"):
            assert lastmod == pages_changed
        else:
            assert lastmod == expected


def test_sitemaps_list_only_live_stories_and_what_they_use(client, discovery_newsroom):
    found = []
    for name in SECTIONS:
        response, root = read_xml(client, f"/sitemap-{name}.xml")
        assert "secretword" not in response.xml_text.casefold()
        assert "ghost" not in response.xml_text.casefold()
        found += locations(root)
    story = discovery_newsroom["live"].get_absolute_url()
    assert sorted(found) == sorted(
        f"http://testserver{path}"
        for path in [
            story,  # stories
            story,  # news
            "/sections/world/",
            "/tags/china/",
            "/tags/taiwan/",
            "/bylines/ana-lima/",
            "/bylines/william-roberts/",
        ]
    )


def test_sitemap_lastmod_follows_live_stories(client):
    section = SectionFactory(slug="world")
    older = StoryFactory(published=True, section=section, tags=["Peru"])
    newer = StoryFactory(published=True, section=section, tags=["Peru"])
    StoryFactory(section=section, tags=["Peru"])  # a draft, saved last, must not count
    _, root = read_xml(client, "/sitemap-tags.xml")
    [lastmod] = root.iter(f"{SITEMAP}lastmod")
    assert datetime.fromisoformat(lastmod.text) == max(
        newer.updated_at, newer.published_at, older.updated_at
    ).replace(microsecond=0)


def test_news_sitemap_has_recent_live_stories_with_news_fields(client, settings):
    settings.SITE_NAME = "The Daily <Planet> & Co"
    now = timezone.now()
    recent = StoryFactory(
        published=True, published_at=now - timedelta(hours=47), headline="Recent & <new>"
    )
    StoryFactory(published=True, published_at=now - timedelta(hours=49), headline="Too old")
    StoryFactory(scheduled=True, headline="Not yet")
    _, root = read_xml(client, "/sitemap-news.xml")
    [url] = root.findall(f"{SITEMAP}url")
    assert url.find(f"{SITEMAP}loc").text == f"http://testserver{recent.get_absolute_url()}"
    news = url.find(f"{NEWS}news")
    assert news.find(f"{NEWS}publication/{NEWS}name").text == "The Daily <Planet> & Co"
    assert news.find(f"{NEWS}publication/{NEWS}language").text == "en"
    published = datetime.fromisoformat(news.find(f"{NEWS}publication_date").text)
    assert published == recent.published_at.replace(microsecond=0)
    assert news.find(f"{NEWS}title").text == "Recent & <new>"


def test_news_sitemap_stops_at_a_thousand(client, settings):
    from stories.reader.sitemaps import NewsSitemap

    # Creating 1,001 stories is slow; the limit is checked on the sitemap itself.
    StoryFactory.create_batch(3, published=True)
    assert NewsSitemap.limit == 1000
    assert NewsSitemap().items().query.high_mark == 1000


def test_robots_txt_points_at_the_sitemaps(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.getvalue().decode().splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Sitemap: http://testserver/sitemap-news.xml" in lines
    assert "Disallow: /admin/" in lines
    for line in lines:
        if line.startswith("Sitemap: "):
            assert client.get(line.removeprefix("Sitemap: http://testserver")).status_code == 200


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # per sitemap: its latest save and publication, its page count (the site pages':
        # their latest change, their page count)
        ("/sitemap.xml", 17),
        # the child's first story, one batch of stories
        ("/sitemap-stories.xml", 2),
        # count, items
        ("/sitemap-news.xml", 2),
        # count, the page's rows, whether writers left notes, their latest changes
        ("/sitemap-sections.xml", 4),
        ("/sitemap-tags.xml", 4),
        ("/sitemap-bylines.xml", 4),
        # count, items
        ("/sitemap-pages.xml", 2),
        ("/robots.txt", 0),
    ],
)
def test_sitemap_query_budget_is_pinned_and_flat(
    client, django_assert_num_queries, django_assert_max_num_queries, url, expected
):
    section = SectionFactory()
    StoryFactory(published=True, section=section, bylines=[BylineFactory()], tags=["Peru"])
    apply_listing_notes(client, django_assert_max_num_queries)
    # The go-live state known, as after any page-cached request or the worker's tick (the
    # first story child after the cache lost it pays one query, as a page-cache lookup does).
    surrogates.settle_go_lives()
    with django_assert_num_queries(expected):
        response = client.get(url)
        assert response.status_code == 200
        response.getvalue()  # a streamed sitemap child reads its rows as it is sent
    for number in range(5):
        StoryFactory(
            published=True,
            section=SectionFactory(),
            bylines=[BylineFactory(), BylineFactory()],
            tags=[f"Tag {number}", "Peru"],
        )
    apply_listing_notes(client, django_assert_max_num_queries)
    # The go-live state known, as after any page-cached request or the worker's tick (the
    # first story child after the cache lost it pays one query, as a page-cache lookup does).
    surrogates.settle_go_lives()
    with django_assert_num_queries(expected):
        response = client.get(url)
        assert response.status_code == 200
        response.getvalue()  # a streamed sitemap child reads its rows as it is sent


def apply_listing_notes(client, django_assert_max_num_queries):
    """The first read of a listing sitemap after writes applies the notes they left
    (``stories.listings``), in queries that do not grow with the writes."""
    # the base, a savepoint and its release, the lock (PostgreSQL), the notes, per kind the
    # rows and their update, deleting the notes
    with django_assert_max_num_queries(4 + 2 + 1 + 1 + 3 * 2 + 1):
        assert client.get("/sitemap-tags.xml").status_code == 200


def test_pages_sitemap_lists_the_site_pages(client):
    # The starter pages the migration made (About, Contact, the corrections policy).
    _, root = read_xml(client, "/sitemap-pages.xml")
    assert locations(root) == [
        "http://testserver/pages/about/",
        "http://testserver/pages/contact/",
        "http://testserver/pages/corrections-policy/",
    ]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1e3", "200000000000000", "9" * 20])
def test_story_sitemap_child_past_any_archive_is_not_found(client, page):
    assert client.get("/sitemap-stories.xml", {"p": page}).status_code == 404
