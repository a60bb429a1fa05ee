"""The ninjs representation of a story (stories/api/ninjs.py), which the webhooks send too."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stories.api.ninjs import story_ninjs
from stories.models import Correction, Story

from .factories import BylineFactory, SectionFactory, StoryFactory
from .library import library_image

pytestmark = pytest.mark.django_db


def test_a_live_story_in_ninjs(rf, settings):
    settings.SITE_DOMAIN = "news.example"
    section = SectionFactory(name="World", slug="world")
    one, two = BylineFactory(name="Ada Lovelace"), BylineFactory(name="Grace Hopper")
    story = StoryFactory(
        published=True,
        headline="Talks resume",
        deck="Both sides <agree>",
        body=(
            "<p>Kyiv &amp; Moscow met.</p><h2>Next</h2>"
            "<p>More <strong>talks</strong>.<script>x</script></p>"
        ),
        dateline="KYIV",
        section=section,
        bylines=[one, two],
        tags=["Ukraine", "Diplomacy"],
    )
    Correction.objects.create(story=story, text="An earlier version misspelt a name.")
    request = rf.get("/api/v1/stories/", HTTP_HOST="testserver")

    data = story_ninjs(Story.objects.for_feed().get(pk=story.pk), request)

    assert data["uri"].startswith("tag:news.example,")
    assert data["type"] == "text"
    assert data["pubstatus"] == "usable"
    assert data["version"] == str(story.version)
    assert data["headlines"] == [{"role": "main", "value": "Talks resume"}]
    assert data["descriptions"][0]["value"] == "Both sides <agree>"
    html, plain = data["bodies"]
    assert html["contenttype"] == "text/html"
    assert (
        html["value"]
        == "<p>Kyiv &amp; Moscow met.</p><h2>Next</h2><p>More <strong>talks</strong>.</p>"
    )
    assert plain["value"] == "Kyiv & Moscow met.\n\nNext\n\nMore talks."
    assert html["wordcount"] == plain["wordcount"] == 6
    assert data["by"] == "Ada Lovelace and Grace Hopper"
    assert [p["name"] for p in data["people"]] == ["Ada Lovelace", "Grace Hopper"]
    assert data["subjects"][0] == {
        "name": "World",
        "rel": "section",
        "literal": "world",
        "uri": "http://testserver/sections/world/",
    }
    assert [s["name"] for s in data["subjects"][1:]] == ["Diplomacy", "Ukraine"]
    assert data["places"] == [
        {
            "name": "Ukraine",
            "rel": "about",
            "literal": "UA",
            "uri": "http://testserver/tags/ukraine/",
        }
    ]
    assert data["located"] == "KYIV"
    assert data["url"] == "http://testserver" + story.get_absolute_url()
    assert data["canonical_url"] == "http://news.example" + story.get_absolute_url()
    assert data["corrections"][0]["text"] == "An earlier version misspelt a name."
    assert "embargoed" not in data
    assert data["associations"] == []


def test_without_a_request_links_use_the_published_site(settings):
    settings.SITE_DOMAIN = "news.example"
    settings.HTTPS = True
    story = StoryFactory(published=True)
    data = story_ninjs(story)
    assert data["url"] == data["canonical_url"] == "https://news.example" + story.get_absolute_url()


def test_scheduled_story_is_marked_embargoed_and_unpublished_is_canceled():
    scheduled = StoryFactory(scheduled=True)
    data = story_ninjs(scheduled)
    assert data["embargoed"] == data["firstcreated"]
    assert data["pubstatus"] == "usable"
    unpublished = StoryFactory(status=Story.Status.UNPUBLISHED)
    assert story_ninjs(unpublished)["pubstatus"] == "canceled"
    assert story_ninjs(StoryFactory())["pubstatus"] == "withheld"


def test_lead_image_renditions_are_associations(media_root):
    image = library_image(
        size=(1600, 1000), alt="A harbour", caption="The harbour at dawn", credit="Photo: Jo"
    )
    story = StoryFactory(published=True, lead_image=image)
    (association,) = story_ninjs(story)["associations"]
    assert association["type"] == "picture"
    assert association["by"] == "Photo: Jo"
    assert association["headlines"] == [{"role": "caption", "value": "The harbour at dawn"}]
    assert association["descriptions"] == [{"role": "alt", "value": "A harbour"}]
    cards = [r for r in association["renditions"] if r["name"].startswith("card-")]
    assert cards, association["renditions"]
    widths = [r["width"] for r in cards]
    assert widths == sorted(widths)
    for rendition in cards:
        # The card shape is cut 3:2 around the focal point.
        assert abs(rendition["width"] / rendition["height"] - 1.5) < 0.02
        assert rendition["href"].startswith("https://") or rendition["href"].startswith("http://")
        assert rendition["contenttype"].startswith("image/")
    assert {r["name"].split("-")[0] for r in association["renditions"]} >= {"card", "og"}


def test_a_story_without_a_lead_image_has_no_associations():
    assert story_ninjs(StoryFactory(published=True))["associations"] == []


def test_a_page_of_stories_costs_no_query_per_story():
    for _ in range(5):
        StoryFactory(published=True, bylines=[BylineFactory()], tags=["France", "Wine"])
    stories = list(Story.objects.for_feed())
    with CaptureQueriesContext(connection) as queries:
        for story in stories:
            story_ninjs(story)
    assert len(queries) == 0
