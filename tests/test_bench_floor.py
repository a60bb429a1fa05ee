"""The benchmark's floor (bench/floor/, issue 16) renders what our story page and section
listing render, byte for byte once whitespace is set aside: `make bench` measures our pages
against it, and the comparison means nothing if either shows more than the other. When our
pages gain content, the floor must render it too (this test says so)."""

import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from stories.models import Correction, FrontPage, SectionTopStory

from .factories import BylineFactory, SectionFactory, StoryFactory
from .library import library_image

pytestmark = pytest.mark.django_db
BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture
def floor_site(settings):
    """The benchmark's settings: the site's, with the floor's URLconf and templates."""
    sys.path.insert(0, str(BENCH))
    try:
        from floor import settings as floor_settings
    finally:
        sys.path.remove(str(BENCH))
    settings.ROOT_URLCONF = floor_settings.ROOT_URLCONF
    settings.TEMPLATES = floor_settings.TEMPLATES


def normalized(response):
    assert response.status_code == 200
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html))).strip()


@pytest.fixture
def full_story(media_root):
    section = SectionFactory(name="World", slug="world", description="News from abroad.")
    photo = library_image((600, 600), "olive", alt="A head shot")
    writer = BylineFactory(name="Ana Lima", slug="ana-lima", bio="Reports & writes.", photo=photo)
    story = StoryFactory(
        headline="Harbours “reopen” & ships <return>",
        deck="A deck with <markup>.",
        body="<p>First paragraph about ships.</p><h2>Sub</h2><p>Second <em>one</em>.</p>",
        dateline="KYIV",
        published=True,
        section=section,
        bylines=[writer, BylineFactory(name="Ben Chen", slug="ben-chen")],
        tags=["Ukraine", "Shipping", "ports"],
    )
    story.lead_image = library_image((1200, 675), "navy", alt="Ships", caption="Ships.")
    story.save()
    for kind, hours in (("correction", 2), ("clarification", 5)):
        Correction.objects.create(
            story=story,
            kind=kind,
            text=f"A {kind} <with> markup.",
            published_at=story.published_at + timedelta(hours=hours),
        )
    return story


def test_the_floor_story_page_renders_what_ours_renders(client, floor_site, full_story):
    # "More in World" and "Related" (by shared tags, from another section, with an image).
    StoryFactory(published=True, section=full_story.section, bylines=[BylineFactory()])
    related = StoryFactory(
        published=True,
        section=SectionFactory(name="Business", slug="business"),
        tags=["Shipping", "ports"],
        bylines=[BylineFactory(), BylineFactory()],
    )
    related.lead_image = library_image((900, 600), "maroon", alt="Cranes")
    related.save()
    ours = normalized(client.get(full_story.get_absolute_url()))
    floor = normalized(client.get(f"/floor/story/{full_story.slug}/"))
    # Everything a story page can show is there, so the comparison covers it.
    for part in (
        "story__image",
        "story__corrections",
        "dateline",
        "byline-box__photo",
        'id="more-in-heading"',
        'id="related-heading"',
        "story-card__image",
        ">Corrected</a>",
        "site-footer__groups",
    ):
        assert part in ours
    assert 'type="application/ld+json"' in ours and 'property="og:image"' in ours
    assert floor == ours


def test_the_floor_listing_renders_what_our_section_page_renders(client, floor_site, full_story):
    for number in range(24):  # two pages, so the pagination shows too
        story = StoryFactory(published=True, section=full_story.section, bylines=[BylineFactory()])
        if number % 3 == 0:  # cards with images: eager in the first row, lazy after it
            story.lead_image = library_image((900, 600), "teal", alt=f"Picture {number}")
            story.save()
    for page in ("", "?page=2"):
        ours = normalized(client.get(f"/sections/world/{page}"))
        floor = normalized(client.get(f"/floor/sections/world/{page}"))
        assert 'class="pagination"' in ours and ours.count('class="story-card') >= 5
        assert 'loading="lazy"' in ours
        assert floor == ours
    # The editors' top story leads page 1, even when older than the page's stories.
    SectionTopStory.objects.create(
        front_page=FrontPage.load(), section=full_story.section, story=full_story
    )
    ours = normalized(client.get("/sections/world/"))
    floor = normalized(client.get("/floor/sections/world/"))
    assert 'story-card__excerpt">First paragraph about ships.<' in ours
    assert floor == ours
