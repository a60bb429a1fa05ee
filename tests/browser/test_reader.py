"""What a reader gets in a real browser: the stories, keyboard access, layouts, speed."""

import os
import re

import pytest
from django.urls import reverse

from stories.models import Story

pytestmark = [pytest.mark.browser]


def live_stories():
    return list(Story.objects.live().for_listing())


def story_links(page):
    return page.locator("main a[href]").evaluate_all(
        "links => links.map(a => [new URL(a.href).pathname, a.textContent.trim()])"
    )


def test_reader_sees_imported_stories_on_home_section_and_tag_pages(seeded, open_page, printed):
    stories = live_stories()
    assert stories, "the seed briefing should give live stories"
    page = open_page("/")
    on_home = story_links(page)
    for story in stories:
        assert [story.get_absolute_url(), printed(story.headline)] in on_home

    for section in {story.section for story in stories}:
        page.get_by_role("navigation", name="Sections", exact=True).get_by_role(
            "link", name=section.name
        ).click()
        page.wait_for_url(f"**{section.get_absolute_url()}")
        assert page.locator("h1").inner_text() == section.name
        listed = story_links(page)
        for story in stories:
            if story.section == section:
                assert [story.get_absolute_url(), printed(story.headline)] in listed

    story = stories[0]
    tag = story.sorted_tags[0]
    page.goto(story.get_absolute_url())
    page.locator(".tags").get_by_role("link", name=tag.name, exact=True).click()
    page.wait_for_url(f"**{reverse('stories:tag', args=[tag.slug])}")
    assert page.locator("h1").inner_text() == tag.name
    tagged = [s for s in stories if tag in s.tags.all()]
    listed = story_links(page)
    for other in tagged:
        assert [other.get_absolute_url(), printed(other.headline)] in listed


def test_keyboard_alone_reaches_a_story_from_the_home_page(seeded, open_page, printed):
    urls = {story.get_absolute_url(): story for story in live_stories()}
    page = open_page("/")

    page.keyboard.press("Tab")
    skip = page.evaluate("document.activeElement.textContent.trim()")
    assert skip == "Skip to content"
    box = page.locator(".skip-link").bounding_box()
    assert box and box["y"] >= 0 and box["width"] > 0, "the skip link shows when focused"
    assert_focus_is_visible(page)

    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"

    # From the main content, the next stop is the lead story's link: no trip through the menu.
    page.keyboard.press("Tab")
    href = page.evaluate("new URL(document.activeElement.href).pathname")
    assert href in urls
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{href}")
    assert page.locator("h1").inner_text() == printed(urls[href].headline)


def assert_focus_is_visible(page):
    outline = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
    )
    assert outline[0] != "none" and outline[1] >= 2, outline


# Skies over hills in the newsroom's pictures: the README shows cards with their crops.
PICTURE_COLOURS = [
    ((70, 110, 160), (200, 170, 120), (40, 60, 45)),
    ((150, 60, 40), (240, 190, 110), (60, 40, 40)),
    ((40, 80, 120), (150, 200, 220), (30, 70, 60)),
    ((90, 90, 110), (220, 220, 210), (70, 60, 50)),
    ((20, 40, 90), (120, 140, 200), (20, 30, 30)),
    ((120, 150, 90), (230, 230, 170), (80, 100, 50)),
]


def landscape(index, size=(1600, 1000)):
    """A JPEG of a sky fading to the horizon over a dark hill, its colours by ``index``."""
    from io import BytesIO

    from PIL import Image as PillowImage
    from PIL import ImageDraw

    top, horizon, hill = PICTURE_COLOURS[index % len(PICTURE_COLOURS)]
    width, height = size
    picture = PillowImage.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    for y in range(height):
        mix = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, horizon, strict=True)),
        )
    crest = height * (0.55 + 0.1 * (index % 3))
    peak = (width * 0.4, crest - height * 0.15)
    draw.polygon(
        [(0, height), (0, crest), peak, (width, crest), (width, height)],
        fill=hill,
    )
    buffer = BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture
def pictured(seeded, media_root):
    """Lead pictures on most live stories, made as the image library makes them."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from stories.editorial.saving import save_image
    from stories.models import Image

    for index, story in enumerate(live_stories()):
        if index % 4 == 3:
            continue  # some stories have no picture
        image = Image(
            file=SimpleUploadedFile(f"landscape-{index}.jpg", landscape(index)),
            alt=f"Hills under an evening sky ({index + 1})",
            credit="Newsroom",
        )
        save_image(image)
        Story.objects.filter(pk=story.pk).update(lead_image=image)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("page_type", ["home", "story"])
def test_screenshots_of_home_and_story(
    seeded, pictured, open_page, page_type, width, scheme, artifacts
):
    # The story with the most to show: a deck, then the longest body.
    story = max(live_stories(), key=lambda story: (bool(story.deck), len(story.body)))
    path = "/" if page_type == "home" else story.get_absolute_url()
    page = open_page(path, width=width, color_scheme=scheme)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert is_dark(background) == (scheme == "dark"), background
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    target = artifacts / "screenshots" / f"{page_type}-{width}-{scheme}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 0
    if os.environ.get("NEWSROOM_DOCS_SCREENSHOTS") and (page_type, width, scheme) in README_SHOTS:
        save_for_readme(page, artifacts.parent / "docs" / f"{page_type}.png")


# `make docs-screenshots` refreshes the two pictures in the README from these.
README_SHOTS = {("home", 1280, "light"), ("story", 390, "dark")}


def save_for_readme(page, target):
    """What fits in the window, in 256 colours: small enough to commit."""
    from PIL import Image

    page.screenshot(path=str(target))
    with Image.open(target) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(target, optimize=True)


def is_dark(css_color):
    red, green, blue = (int(n) for n in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255 < 0.4


def test_every_page_fits_a_320_px_phone_without_sideways_scrolling(seeded, open_page, reader_pages):
    for name, path in reader_pages.items():
        page = open_page(path, width=320, height=640)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 320, f"{name} is {overflow} px wide at 320 px"
        assert page.locator("h1").count() == 1, name


def test_story_text_keeps_a_readable_measure_on_wide_screens(seeded, open_page):
    page = open_page(live_stories()[0].get_absolute_url(), width=1600)
    per_line = page.evaluate(
        """() => {
          const counts = [];
          for (const p of document.querySelectorAll('.story__body p')) {
            const range = document.createRange();
            range.selectNodeContents(p);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (tops.size >= 4) counts.push(p.textContent.length / tops.size);
          }
          return counts;
        }"""
    )
    assert per_line, "the seed should have paragraphs of four lines or more"
    average = sum(per_line) / len(per_line)
    # Full lines run a little longer than this average, which the last line shortens.
    assert 55 <= average <= 78, average
    line_height = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('.story__body p'));"
        " return parseFloat(s.lineHeight) / parseFloat(s.fontSize); })()"
    )
    assert 1.5 <= line_height <= 1.8


@pytest.mark.parametrize("page_type", ["home", "story"])
def test_pages_load_only_first_party_assets_and_size_their_images(
    seeded, open_page, page_type, reader_pages
):
    page = open_page(None)
    requests, sizes = [], {}
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: sizes.__setitem__(response.url, len(response.body())))
    page.goto(reader_pages[page_type], wait_until="load")
    origin = page.evaluate("location.origin")
    assert requests and all(url.startswith(origin) for url in requests), requests
    assert page.locator("script[src]").count() == 0
    stylesheets = [url for url in requests if url.endswith(".css")]
    assert len(stylesheets) == 1
    # Cards with pictures, the footer, phones and print: about 5 KB over the wire compressed.
    assert sizes[stylesheets[0]] < 20_000, "keep the stylesheet small"
    assert page.locator("img:not([width]), img:not([height])").count() == 0
    assert page.locator("img:not([alt])").count() == 0


def test_print_hides_navigation_and_search(seeded, open_page):
    page = open_page(live_stories()[0].get_absolute_url())
    page.emulate_media(media="print")
    assert page.locator(".section-nav").is_hidden()
    assert page.locator("form[role=search]").is_hidden()
    assert page.locator(".story__body").is_visible()
    page.emulate_media(media="screen")
    assert page.locator("form[role=search]").is_visible()


def test_masthead_search_box_sends_the_query_to_the_search_page(seeded, open_page):
    page = open_page("/")
    search = page.get_by_role("search")
    box = search.get_by_role("searchbox", name="Search stories")
    box.fill("Kim & “summit”")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url.split("?", 1)[1] == "q=Kim+%26+%E2%80%9Csummit%E2%80%9D"
    assert page.url.split("?", 1)[0].endswith("/search/")


def test_print_shows_the_story_address_and_leaves_out_footer_and_related(seeded, open_page):
    story = live_stories()[0]
    page = open_page(story.get_absolute_url())
    address = page.locator(".story__address")
    assert address.is_hidden()
    assert page.locator(".story-related").is_visible()
    assert page.locator(".site-footer").is_visible()
    page.emulate_media(media="print")
    assert address.is_visible()
    assert address.get_by_role("link").inner_text() == f"{page.url.split('#')[0]}"
    assert page.locator(".story-related").is_hidden()
    assert page.locator(".site-footer").is_hidden()
    colours = page.evaluate(
        "() => [getComputedStyle(document.body).color,"
        " getComputedStyle(document.body).backgroundColor]"
    )
    assert colours == ["rgb(0, 0, 0)", "rgb(255, 255, 255)"]
