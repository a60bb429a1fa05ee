"""Structured data (JSON-LD, read back with json) and meta tags on reader pages."""

import json
import re
from datetime import datetime

import pytest
from django.contrib.staticfiles import finders

from stories.reader import meta

from .factories import BylineFactory, StoryFactory

pytestmark = pytest.mark.django_db

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def json_ld(response):
    return [json.loads(block) for block in JSON_LD.findall(response.content.decode())]


def by_type(response):
    return {data["@type"]: data for data in json_ld(response)}


@pytest.fixture
def meta_tags(parse_html):
    """``meta_tags(response)``: each meta tag's property (or name) → its contents."""

    def read(response):
        tags = {}
        for element in parse_html(response).find_all("meta"):
            key = element["attrs"].get("property") or element["attrs"].get("name")
            if key:
                tags.setdefault(key, []).append(element["attrs"].get("content"))
        return tags

    return read


def is_iso_with_zone(text):
    return datetime.fromisoformat(text).tzinfo is not None


def test_story_page_has_news_article_json_ld(client, discovery_newsroom):
    story = discovery_newsroom["live"]
    url = f"http://testserver{story.get_absolute_url()}"
    article = by_type(client.get(story.get_absolute_url()))["NewsArticle"]
    assert article["@context"] == "https://schema.org"
    assert article["headline"] == "Live story about harbours"
    assert article["description"] == "A deck about ports."
    assert article["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}
    assert article["url"] == url
    assert is_iso_with_zone(article["datePublished"])
    assert is_iso_with_zone(article["dateModified"])
    assert datetime.fromisoformat(article["datePublished"]) == story.published_at.replace(
        microsecond=0
    )
    assert article["author"] == [
        {
            "@type": "Person",
            "name": "William Roberts",
            "url": "http://testserver/bylines/william-roberts/",
        },
        {"@type": "Person", "name": "Ana Lima", "url": "http://testserver/bylines/ana-lima/"},
    ]
    publisher = article["publisher"]
    assert publisher["@type"] == "NewsMediaOrganization"
    assert publisher["name"] == "Newsroom"
    assert publisher["logo"]["url"] == "http://testserver/static/img/logo.png"
    assert finders.find("img/logo.png")
    assert article["articleSection"] == "World"
    assert article["keywords"] == ["China", "Taiwan"]
    assert "image" not in article
    assert "correction" not in article


def test_story_page_has_breadcrumbs(client, discovery_newsroom):
    story = discovery_newsroom["live"]
    crumbs = by_type(client.get(story.get_absolute_url()))["BreadcrumbList"]
    items = crumbs["itemListElement"]
    assert [(item["position"], item["name"], item["item"]) for item in items] == [
        (1, "Newsroom", "http://testserver/"),
        (2, "World", "http://testserver/sections/world/"),
        (3, story.headline, f"http://testserver{story.get_absolute_url()}"),
    ]


def test_json_ld_cannot_be_broken_out_of(client):
    hostile = '</script><script>alert("x")</script><!--'
    story = StoryFactory(
        published=True,
        headline=f"Headline {hostile}",
        deck=f"Deck {hostile}",
        bylines=[BylineFactory(name=f"Name {hostile}")],
        tags=[f"Tag {hostile}"],
    )
    response = client.get(story.get_absolute_url())
    content = response.content.decode()
    assert "<script>alert" not in content
    assert content.count("</script>") == len(JSON_LD.findall(content))
    article = by_type(response)["NewsArticle"]
    assert article["headline"] == f"Headline {hostile}"
    assert article["author"][0]["name"] == f"Name {hostile}"
    assert article["keywords"] == [f"Tag {hostile}"]


def test_json_ld_script_escapes_markup_and_line_separators():
    script = str(meta.json_ld_script({"text": "<a>&\u2028</script>"}))
    body = script.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert "<" not in body and ">" not in body and "&" not in body and "\u2028" not in body
    assert json.loads(body) == {"text": "<a>&\u2028</script>"}


def test_news_article_includes_corrections_image_and_honest_modified_date(client, media_root):
    from datetime import timedelta

    from stories.models import Correction

    from .library import library_image

    story = StoryFactory(published=True)
    story.lead_image = library_image((900, 500), "navy", alt="A navy rectangle")
    story.save()
    article = by_type(client.get(story.get_absolute_url()))["NewsArticle"]
    assert "correction" not in article
    # A later save that is not marked substantive does not move dateModified.
    assert article["dateModified"] == article["datePublished"]
    [image] = article["image"]
    # The social (1.91:1) crop, never the original (which keeps the upload's full size); a
    # 900-pixel image is not enlarged to the 1,200 pixels link previews ask for.
    [og] = story.lead_image.renditions_for("og")
    assert (og["width"], og["height"]) == (900, 471)
    assert image == "http://testserver/media/" + og["name"]

    corrected_at = story.published_at + timedelta(minutes=5)
    Correction.objects.create(
        story=story, text="An earlier version misspelt a name.", published_at=corrected_at
    )
    article = by_type(client.get(story.get_absolute_url()))["NewsArticle"]
    assert article["correction"] == [
        {
            "@type": "CorrectionComment",
            "text": "An earlier version misspelt a name.",
            "datePublished": meta.iso(corrected_at),
        }
    ]
    assert article["dateModified"] == meta.iso(corrected_at)


def test_story_page_meta_tags(client, discovery_newsroom, meta_tags, parse_html):
    story = discovery_newsroom["live"]
    response = client.get(story.get_absolute_url())
    url = f"http://testserver{story.get_absolute_url()}"
    tags = meta_tags(response)
    assert tags["description"] == ["A deck about ports."]
    assert tags["og:type"] == ["article"]
    assert tags["og:title"] == ["Live story about harbours"]
    assert tags["og:description"] == ["A deck about ports."]
    assert tags["og:url"] == [url]
    assert tags["og:site_name"] == ["Newsroom"]
    assert tags["article:section"] == ["World"]
    assert tags["article:tag"] == ["China", "Taiwan"]
    assert is_iso_with_zone(tags["article:published_time"][0])
    assert tags["twitter:card"] == ["summary"]
    assert tags["twitter:title"] == ["Live story about harbours"]
    [canonical] = parse_html(response).find_all("link", rel="canonical")
    assert canonical["attrs"]["href"] == url
    [title] = parse_html(response).find_all("title")
    assert title["text"] == "Live story about harbours · Newsroom"


def test_description_falls_back_to_the_first_paragraph(client, meta_tags):
    story = StoryFactory(published=True, deck="", body="<p>The opening paragraph.</p><p>More.</p>")
    tags = meta_tags(client.get(story.get_absolute_url()))
    assert tags["description"] == ["The opening paragraph."]
    assert by_type(client.get(story.get_absolute_url()))["NewsArticle"]["description"] == (
        "The opening paragraph."
    )


def test_home_has_website_and_organization_data(client, discovery_newsroom, parse_html):
    response = client.get("/")
    data = by_type(response)
    assert data["WebSite"]["url"] == "http://testserver/"
    assert data["NewsMediaOrganization"]["logo"]["url"].endswith("/static/img/logo.png")
    [canonical] = parse_html(response).find_all("link", rel="canonical")
    assert canonical["attrs"]["href"] == "http://testserver/"
    assert "secretword" not in response.content.decode().casefold()


@pytest.mark.parametrize(
    ("url", "page_type", "name"),
    [
        ("/sections/world/", "CollectionPage", "World"),
        ("/tags/china/", "CollectionPage", "China"),
        ("/bylines/william-roberts/", "ProfilePage", "William Roberts"),
    ],
)
def test_listing_pages_have_page_data_and_breadcrumbs(
    client, discovery_newsroom, url, page_type, name, meta_tags
):
    response = client.get(url)
    data = by_type(response)
    assert data[page_type]["name"] == name
    assert data[page_type]["url"] == f"http://testserver{url}"
    crumbs = data["BreadcrumbList"]["itemListElement"]
    assert [item["item"] for item in crumbs] == ["http://testserver/", f"http://testserver{url}"]
    if page_type == "ProfilePage":
        assert data[page_type]["mainEntity"] == {
            "@type": "Person",
            "name": name,
            "url": f"http://testserver{url}",
            "description": "Reports.",
        }
    tags = meta_tags(response)
    assert tags["og:title"] == [name]
    assert tags["description"][0]


def test_listing_canonical_keeps_the_page_number_only(client, parse_html):
    for _ in range(21):
        StoryFactory(published=True)
    response = client.get("/", {"page": "2", "utm_source": "x"})
    [canonical] = parse_html(response).find_all("link", rel="canonical")
    assert canonical["attrs"]["href"] == "http://testserver/?page=2"


def test_search_page_is_not_indexed(client, meta_tags):
    assert meta_tags(client.get("/search/", {"q": "x"}))["robots"] == ["noindex"]
