"""Every reader page type at phone, tablet and desktop widths, light and dark: nothing scrolls
sideways, nothing sits on top of anything else, and axe-core (target size included) finds no
serious or critical problem.

Page types are data: a new one (a flat page, a footer page, a curated front) is one line in
``PAGE_TYPES``, naming how to find its address in the newsroom ``reader_newsroom`` builds.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.models import Correction, FrontPage, SitePage, Story

from ..factories import BylineFactory, SectionFactory, StoryFactory
from ..library import library_image
from .test_accessibility import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.axe]

WIDTHS = [320, 390, 768, 1280]
SCHEMES = ["light", "dark"]


@dataclass
class Newsroom:
    """What the pages are made of: enough stories for a second page everywhere."""

    section: object
    byline: object
    tag: str
    story_with_image: object
    search_word: str


# name -> the page's address in the newsroom below. One line per page type.
PAGE_TYPES = {
    "home": lambda n: "/",
    "home page 2": lambda n: "/?page=2",
    "section": lambda n: n.section.get_absolute_url(),
    "section page 2": lambda n: n.section.get_absolute_url() + "?page=2",
    "tag": lambda n: reverse("stories:tag", args=[n.tag]),
    "byline": lambda n: n.byline.get_absolute_url(),
    "story with image and corrections": lambda n: n.story_with_image.get_absolute_url(),
    "search with results": lambda n: f"/search/?q={n.search_word}",
    "search with results, page 2": lambda n: f"/search/?q={n.search_word}&page=2",
    "search with no results": lambda n: "/search/?q=zzzz-no-such-thing",
    "search with no query": lambda n: "/search/",
    "not found": lambda n: "/no/such/page/",
    "site page": lambda n: "/pages/about/",
}

# Long words do not break by themselves: names and headlines like these overflowed phones.
LONG_HEADLINE = (
    "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz repealed in Schwerin"
)
LONG_TAG = "Nordrhein-Westfalen-Landtagswahlkampffinanzierung"


@pytest.fixture
def reader_newsroom(transactional_db, media_root):
    """Six sections (the menu wraps on phones), bylines with photos and long bios, a story with
    a lead image and corrections, long unbroken words, and more than a page of stories in a
    section, a tag, a byline and a search."""
    sections = [
        SectionFactory(name=name, slug=name.lower().replace(" ", "-"))
        for name in ("World", "Politics", "Business", "Science and technology", "Sport", "Culture")
    ]
    photo = library_image(size=(600, 600), colour="sienna", alt="", name="head.jpg")
    byline = BylineFactory(
        name="Alexandra Konstantinopoulou-Wetherby",
        slug="alexandra",
        photo=photo,
        bio="Covers the harbour, the courts and the council. " * 4,
    )
    other = BylineFactory(name="Sam Li", slug="sam-li")
    lead = library_image(
        size=(1600, 1000),
        colour="steelblue",
        alt="Cranes over the harbour at dusk",
        caption="The harbour at dusk, seen from the old customs house. " * 2,
        credit="Jo Photographer / Agency",
    )
    now = timezone.now()
    stories = []
    for n in range(45):
        stories.append(
            StoryFactory(
                published=True,
                published_at=now - timedelta(hours=n + 1),
                section=sections[0] if n % 2 else sections[n % len(sections)],
                headline=LONG_HEADLINE if n == 3 else f"Harbour story number {n} makes the news",
                deck="A deck long enough to wrap onto a second line on a phone screen." * (n % 2),
                bylines=[byline, other] if n % 3 == 0 else [byline],
                tags=["harbour", LONG_TAG] if n % 2 else ["harbour"],
                lead_image=lead if n % 4 == 0 else None,
            )
        )
    story = stories[0]
    Correction.objects.create(story=story, text="An earlier version misnamed the harbour master.")
    Correction.objects.create(
        story=story, kind=Correction.Kind.CLARIFICATION, text="The cranes are new, not repaired."
    )
    # An editor's choice leads the home page (a story with no picture, so the lead card's
    # fallback is laid out too) and the section's page (one with a picture).
    FrontPage.load().pins.create(story=stories[1], position=1)
    FrontPage.load().section_top_stories.update_or_create(
        section=sections[0], defaults={"story": stories[12]}
    )
    SitePage.objects.update_or_create(
        slug="about",
        defaults={
            "title": "About the Newsroom",
            "body": "<p>" + "Who we are, what we cover and how to reach the desk. " * 12 + "</p>",
            "in_footer": True,
        },
    )
    assert Story.objects.live().count() == 45
    return Newsroom(
        section=sections[0],
        byline=byline,
        tag="harbour",
        story_with_image=story,
        search_word="harbour",
    )


# Where a page runs wider than the window: the document, then any element's box past either
# edge (unless a scrolling or clipping box of its own holds it, which is then measured).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) {
    problems.push(`document is ${document.documentElement.scrollWidth} px wide`);
  }
  const clipped = el => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1 || !el.checkVisibility()) continue;
    if ((box.right > width + 1 || box.left < -1) && !clipped(el)) {
      const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
      problems.push(`${name} spans ${Math.round(box.left)}..${Math.round(box.right)} px`);
    }
  }
  return problems;
}"""

# Text and controls drawn over one another: the line boxes of every visible element that holds
# text of its own or is a control or picture, compared pairwise (never an element with one
# inside it), allowing a pixel for rounding.
OVERLAPS = """() => {
  const controls = 'a, button, input, select, textarea, label, img, svg, video';
  const ownText = el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const items = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!(el.matches(controls) || ownText(el)) || !el.checkVisibility()) continue;
    const rects = [...el.getClientRects()].filter(r => r.width > 1 && r.height > 1);
    if (rects.length) items.push([el, rects]);
  }
  const name = el => {
    const text = (el.textContent || el.getAttribute('alt') || '').trim().slice(0, 30);
    return `${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''} "${text}"`;
  };
  const problems = [];
  for (let i = 0; i < items.length; i++) {
    const [a, aRects] = items[i];
    for (let j = i + 1; j < items.length; j++) {
      const [b, bRects] = items[j];
      if (a.contains(b) || b.contains(a)) continue;
      for (const r of aRects) for (const s of bRects) {
        const across = Math.min(r.right, s.right) - Math.max(r.left, s.left);
        const down = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
        if (across > 1 && down > 1) {
          const size = `${Math.round(across)}x${Math.round(down)} px`;
          problems.push(`${name(a)} overlaps ${name(b)} by ${size}`);
        }
      }
    }
  }
  return [...new Set(problems)];
}"""


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_reader_pages_fit_do_not_overlap_and_pass_axe(
    reader_newsroom, open_page, width, scheme, axe_script
):
    problems = {}
    page = open_page(None, width=width, height=800, color_scheme=scheme)
    for page_type, address in PAGE_TYPES.items():
        path = address(reader_newsroom)
        page.goto(path)
        found = page.evaluate(OVERFLOW) + page.evaluate(OVERLAPS)
        violations = run_axe(page, axe_script)
        found += [v for v in violations if v["impact"] in {"serious", "critical"}]
        if found:
            problems[f"{page_type} ({path})"] = found
    assert problems == {}, f"at {width} px, {scheme}: {problems}"


def test_the_layout_checks_catch_overflow_overlap_and_small_targets(
    reader_newsroom, open_page, axe_script
):
    """The checks above can fail: a page made too wide, two headlines on top of each other and
    a tiny lone link are each caught."""
    page = open_page("/", width=390)
    assert page.evaluate(OVERFLOW) == []
    assert page.evaluate(OVERLAPS) == []
    add_style(page, "main { min-width: 500px }")
    assert page.evaluate(OVERFLOW)

    page = open_page("/", width=390)
    add_style(page, ".story-card { margin-top: -6rem }")
    assert page.evaluate(OVERLAPS)

    page = open_page("/", width=390)
    add_style(
        page,
        ".section-nav a { display: block; width: 10px; height: 10px; padding: 0; overflow: hidden }"
        ".section-nav ul { gap: 0 }",
    )
    assert "target-size" in {v["id"] for v in run_axe(page, axe_script)}


def add_style(page, css):
    # A constructed style sheet: the site's Content Security Policy refuses <style> tags.
    page.evaluate(
        """css => { const sheet = new CSSStyleSheet(); sheet.replaceSync(css);
                    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }""",
        css,
    )
