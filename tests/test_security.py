"""Hostile text stays text, and odd addresses never crash the site.

Every field a reader or an editor sees (headline, deck, body, dateline, image texts, byline
name, role and bio, section name and description, tag name, correction) holds HTML, a
``<script>``, a ``</script>``, a ``javascript:`` link and both quote characters. Each page,
feed, JSON-LD block, meta tag and admin screen that shows them is parsed, and must contain
no element, attribute or script that came from them, while showing them as text.
"""

import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from stories.models import Correction, Story
from stories.richtext import paragraphs_html

from .factories import BylineFactory, SectionFactory, StoryFactory
from .hostile import (
    HOSTILE_HTML,
    PAYLOAD,
    assert_inert,
    assert_sanitized_body,
    hostile,
    json_ld,
    markup_in,
    meta_contents,
)

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def hostile_story():
    section = SectionFactory(
        name=hostile("Section"), slug="hostile-section", description=hostile("About", 300)
    )
    byline = BylineFactory(
        name=hostile("Writer"),
        slug="hostile-writer",
        role=hostile("Role"),
        bio=hostile("Bio", 1000),
    )
    story = StoryFactory(
        headline=hostile("Headline", 200),
        slug="hostile-story",
        deck=hostile("Deck", 300),
        dateline=hostile("Dateline"),
        # The body is HTML: the payload as the text of two paragraphs, then raw hostile markup.
        body=paragraphs_html([hostile("First", 1000), hostile("Second", 1000)]) + HOSTILE_HTML,
        section=section,
        bylines=[byline],
        published=True,
    )
    story.tags.add(hostile("Tag"))
    Correction.objects.create(story=story, text=hostile("Fix", 1000))
    return story


def tag_slug(story):
    return story.tags.get().slug


def reader_pages(story):
    return {
        "home": "/",
        "section": story.section.get_absolute_url(),
        "tag": reverse("stories:tag", args=[tag_slug(story)]),
        "byline": story.bylines.get().get_absolute_url(),
        "story": story.get_absolute_url(),
        "search": "/search/?q=Headline",
    }


@pytest.mark.parametrize("page", ["home", "section", "tag", "byline", "story", "search"])
def test_hostile_text_renders_inert_on_reader_pages(client, hostile_story, page):
    response = client.get(reader_pages(hostile_story)[page])
    assert response.status_code == 200
    assert_inert(response.content.decode(), shows=[hostile_story.headline])


def test_hostile_text_renders_inert_in_every_field_of_the_story_page(client, hostile_story):
    page = client.get(hostile_story.get_absolute_url()).content.decode()
    byline = hostile_story.bylines.get()
    assert_inert(
        page,
        shows=[
            hostile_story.headline,
            hostile_story.deck,
            hostile_story.dateline,
            *hostile_story.paragraphs,
            hostile_story.section.name,
            byline.name,
            byline.bio,
            hostile_story.tags.get().name,
            hostile_story.corrections.get().text,
        ],
    )


def test_hostile_text_is_exact_in_json_ld_and_meta_tags(client, hostile_story):
    html = client.get(hostile_story.get_absolute_url()).content.decode()
    blocks = json_ld(html)
    article = next(block for block in blocks if block.get("@type") == "NewsArticle")
    assert article["headline"] == hostile_story.headline
    # The body's words, exactly, and none of its markup.
    assert article["articleBody"] == hostile_story.plain_text
    assert article["articleBody"].startswith(f"{hostile('First', 1000)}\n\n{hostile('Second')}")
    assert "<svg" not in article["articleBody"] and "<p" not in article["articleBody"]
    assert hostile_story.bylines.get().name in [author["name"] for author in article["author"]]
    meta = meta_contents(html)
    assert meta["og:title"] == [hostile_story.headline]
    assert meta["twitter:title"] == [hostile_story.headline]
    assert meta["og:description"] == [hostile_story.deck]
    assert meta["article:section"] == [hostile_story.section.name]
    assert meta["article:tag"] == [hostile_story.tags.get().name]


def test_hostile_text_renders_inert_on_listing_meta_and_json_ld(client, hostile_story):
    for page in ("section", "tag", "byline"):
        html = client.get(reader_pages(hostile_story)[page]).content.decode()
        assert_inert(html)
        assert json_ld(html), page  # breadcrumbs at least, and they parsed


def test_hostile_search_query_renders_inert(client, hostile_story):
    response = client.get("/search/", {"q": PAYLOAD})
    assert response.status_code == 200
    assert_inert(response.content.decode(), shows=[PAYLOAD])


def feed_urls(story):
    section, tag, byline = story.section.slug, tag_slug(story), story.bylines.get().slug
    urls = [reverse("stories:feed"), reverse("stories:atom_feed")]
    for kind, slug in (("section", section), ("tag", tag), ("byline", byline)):
        urls += [reverse(f"stories:{kind}_feed", args=[slug])]
        urls += [reverse(f"stories:{kind}_atom_feed", args=[slug])]
    return urls


def test_hostile_text_in_feeds_is_well_formed_exact_and_builds_no_markup(client, hostile_story):
    byline = hostile_story.bylines.get()
    for url in feed_urls(hostile_story):
        response = client.get(url)
        assert response.status_code == 200, url
        root = ET.fromstring(response.content)  # the payload broke no XML
        assert root.find(".//{*}xss-marker") is None and root.find(".//xss-marker") is None
        if root.tag == f"{ATOM}feed":
            entry = root.find(f"{ATOM}entry")
            assert entry.findtext(f"{ATOM}title") == hostile_story.headline, url
            assert entry.findtext(f"{ATOM}author/{ATOM}name") == byline.name
            html_fields = [entry.findtext(f"{ATOM}summary"), entry.findtext(f"{ATOM}content")]
        else:
            item = root.find("channel/item")
            # RSS titles and descriptions are HTML to feed readers: decoded once, the
            # headline must still be plain text.
            assert unescape(item.findtext("title")) == hostile_story.headline
            assert "<" not in item.findtext("title")
            assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == byline.name
            categories = [element.text for element in item.findall("category")]
            assert hostile_story.tags.get().name in categories
            html_fields = [
                item.findtext("title"),
                item.findtext("description"),
                item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded"),
            ]
        *text_fields, content = html_fields
        for field in text_fields:
            # A feed reader renders these as HTML: no element may appear.
            assert not markup_in(field), (url, field[:120])
        # The body is HTML: only what its sanitizer allows, the payload as text.
        assert_sanitized_body(content)
        assert PAYLOAD in unescape(content)


def test_hostile_text_in_sitemaps_is_well_formed(client, hostile_story):
    for url in ("/sitemap.xml", "/sitemap-news.xml", f"/sitemap-{hostile_story.section.slug}.xml"):
        response = client.get(url)
        if response.status_code == 404:
            continue  # a section sitemap only exists by its own name
        root = ET.fromstring(response.content)
        assert root.find(".//xss-marker") is None
    news = ET.fromstring(client.get("/sitemap-news.xml").content)
    titles = [element.text for element in news.iter() if element.tag.endswith("}title")]
    assert titles == [hostile_story.headline]


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("boss", password="pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:stories_story_changelist",
        "admin:stories_story_change",
        "admin:stories_story_history",
        "admin:stories_section_changelist",
        "admin:stories_byline_changelist",
        "admin:stories_byline_change",
        "admin:taggit_tag_changelist",
    ],
)
def test_hostile_text_renders_inert_in_the_admin(admin_client, hostile_story, url_name):
    if url_name == "admin:stories_byline_change":
        args = [hostile_story.bylines.get().pk]
    elif url_name.endswith(("_change", "_history")):
        args = [hostile_story.pk]
    else:
        args = []
    hostile_story.headline = hostile("Edited", 200)
    hostile_story.save()  # a second revision, so the history lists a change
    response = admin_client.get(reverse(url_name, args=args))
    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html)
    assert PAYLOAD not in html  # only ever escaped


def test_hostile_text_renders_inert_in_a_revision_of_the_history(admin_client, hostile_story):
    revision = hostile_story.history.earliest()
    url = reverse(
        "admin:stories_story_simple_history", args=[hostile_story.pk, revision.history_id]
    )
    response = admin_client.get(url)
    assert response.status_code == 200
    assert_inert(response.content.decode())


def test_hostile_briefing_renders_inert_in_the_import_preview(admin_client):
    headline = "Talks <script>go()</script> and <xss-marker onclick=go()> “quotes” 'x'"
    briefing = (
        f"{headline}\n"
        'A deck with </script><a href="javascript:go()">a link</a> in it.\n'
        "A paragraph with <img src=x onerror=go()> in it, long enough to be a body.\n"
        '— By <b onclick=go()>Evil</b> Name and Ana "Quote" Lima\n'
    )
    upload = SimpleUploadedFile("hostile.txt", briefing.encode(), content_type="text/plain")
    SectionFactory(slug="world")  # the import chooses an existing section
    response = admin_client.post(
        reverse("admin:stories_story_import"),
        {"briefing": upload, "section": "world", "status": "draft"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html, shows=[headline, '<b onclick=go()>Evil</b> Name, Ana "Quote" Lima'])
    assert not Story.objects.exists()  # a preview writes nothing


# --- odd addresses -------------------------------------------------------------------------


ODD_PATHS = [
    "/" + "a" * 5000 + "/",
    "/2025/01/01/" + "x" * 5000 + "/",
    "/sections/" + "s" * 3000 + "/",
    "/tags/" + "t" * 3000 + "/feed/",
    "/2025/01/01/caf%C3%A9-%E5%8C%97%E4%BA%AC/",
    "/sections/%D9%85%D9%88%D8%B3%D9%83%D9%88/",
    "/bylines/%F0%9F%9A%80/",
    "/tags/%FF%FE/",
    "/sections/%00/",
    "/2025/01/01/story%00.html/",
    "/search/?q=%00",
    "/search/?q=" + "%FF" * 10,
    "/search/?page=%00",
    "/search/?q=x&page=99999999999999999999",
    "/?page=-1",
    "/?page=%00",
    "/sections/world/?page=abc",
    "/../settings.py",
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/sections/..%2F..%2Fnewsroom%2Fsettings.py/",
    "/tags/a%2Fb/",
    "/2025/13/45/story/",
    "/9999999999999999999/01/01/story/",
    "/preview/%00/",
    "/preview/" + "A" * 4000 + "/",
    "/preview/..%2F..%2F/",
    "/feed/%00/",
    "/sitemap-%00.xml",
    "/sitemap-..%2F.xml",
    "/media/../newsroom/settings.py",
    "/media/%2e%2e/%2e%2e/newsroom/settings.py",
    "/media/..%2F..%2Fnewsroom%2Fsettings.py",
    "/media/%00",
    "/media//etc/passwd",
    "/media/" + "m" * 5000,
    "/static/../newsroom/settings.py",
    "/admin/%00/",
    "/admin/stories/story/%00/change/",
    "/admin/stories/story/99999999999999999999999/change/",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_odd_addresses_answer_404_or_400_never_500(path, settings, tmp_path):
    # DEBUG is off as in production; media served from a folder of its own.
    settings.DEBUG = False
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    # An odd query string on a page that exists is still that page (search finds nothing).
    allowed = {302, 400, 404} | ({200} if "?" in path else set())
    for who in (Client(raise_request_exception=False), client):
        response = who.get(path)
        assert response.status_code in allowed, (path[:100], response.status_code)
        body = b"".join(response) if response.streaming else response.content
        assert b"SECRET_KEY" not in body


def test_media_traversal_cannot_read_outside_media_root(settings, tmp_path):
    from django.test import Client

    # Django answers a path outside MEDIA_ROOT with 400 (SuspiciousFileOperation), which the
    # test client would otherwise raise.
    client = Client(raise_request_exception=False)
    settings.MEDIA_ROOT = tmp_path / "media"
    # Only files a live story owns are served to readers (stories.reader.media).
    inside = "renditions/stories/inside-480w.webp"
    (settings.MEDIA_ROOT / "renditions" / "stories").mkdir(parents=True)
    (settings.MEDIA_ROOT / inside).write_text("inside")
    from stories.models import Image

    image = Image.objects.create(
        file="stories/inside.jpg",
        alt="Inside",
        renditions={"shapes": {"lead": [{"name": inside, "width": 480, "height": 270}]}},
    )
    Story.objects.filter(pk=StoryFactory(published=True).pk).update(lead_image=image)
    (tmp_path / "outside.txt").write_text("the secret outside")
    assert client.get(f"/media/{inside}").status_code == 200  # serving works at all
    for path in (
        "/media/../outside.txt",
        "/media/%2e%2e/outside.txt",
        "/media/..%2Foutside.txt",
        "/media/stories/../../outside.txt",
        "/media/stories/%2e%2e/%2e%2e/outside.txt",
        "/media/%2Fetc%2Fpasswd",
        "/media//etc/passwd",
        f"/media/{tmp_path}/outside.txt",
    ):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        body = b"".join(response) if response.streaming else response.content
        assert b"secret outside" not in body and b"root:" not in body
