"""WCAG 2.2 AA in the browser: axe-core on every reader page type, in both colour schemes."""

import pytest

from stories.models import Story

pytestmark = [pytest.mark.browser, pytest.mark.axe]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def run_axe(page, axe_script):
    # Evaluated through the DevTools protocol, not as a <script> tag: the site's Content
    # Security Policy (rightly) refuses inline scripts, and must stay on while axe looks.
    page.evaluate(axe_script)
    return page.evaluate(
        """async tags => {
          // WCAG 2.2's target size (24 by 24 px, or room around) is off by default in axe 4.
          const results = await axe.run(document, {
            runOnly: {type: 'tag', values: tags}, rules: {'target-size': {enabled: true}},
          });
          const ran = [results.passes, results.violations, results.incomplete, results.inapplicable]
            .flat().some(rule => rule.id === 'target-size');
          if (!ran) throw new Error('axe did not check target-size');
          return results.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary),
          }));
        }""",
        AXE_TAGS,
    )


def assert_accessible(page, axe_script, name):
    violations = run_axe(page, axe_script)
    blocking = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert blocking == [], f"{name}: {blocking}"
    assert page.locator("h1").count() == 1, f"{name}: one <h1> per page"
    assert page.locator("html").get_attribute("lang"), f"{name}: a language"
    for landmark in ("banner", "navigation", "main", "contentinfo", "search"):
        assert page.get_by_role(landmark).count() >= 1, f"{name}: a {landmark} landmark"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("page_type", ["home", "section", "tag", "byline", "story", "not-found"])
def test_reader_pages_have_no_serious_accessibility_violations(
    reader_pages, open_page, page_type, scheme, axe_script
):
    page = open_page(reader_pages[page_type], color_scheme=scheme)
    assert_accessible(page, axe_script, f"{page_type} ({scheme})")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_paginated_listing_has_no_serious_accessibility_violations(
    transactional_db, open_page, scheme, axe_script
):
    from ..factories import SectionFactory, StoryFactory

    section = SectionFactory(name="World", slug="world")
    for _ in range(45):
        StoryFactory(published=True, section=section)
    page = open_page("/?page=2", color_scheme=scheme)
    assert page.get_by_role("navigation", name="Pages").is_visible()
    assert_accessible(page, axe_script, f"home page 2 ({scheme})")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_page_has_no_serious_accessibility_violations(seeded, open_page, scheme, axe_script):
    story = Story.objects.live().first()
    word = max(story.headline.split(), key=len)
    for query in (word, "zzzz-no-such-thing"):
        page = open_page(f"/search/?q={query}", color_scheme=scheme)
        assert_accessible(page, axe_script, f"search for {query!r} ({scheme})")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_site_page_and_footer_have_no_serious_accessibility_violations(
    transactional_db, open_page, scheme, axe_script
):
    from stories.models import SitePage

    from ..factories import StoryFactory

    StoryFactory(published=True)
    SitePage.objects.create(
        title="About us", slug="about", body="<p>Who we are, <a href='/'>home</a>.</p>"
    )
    page = open_page("/pages/about/", color_scheme=scheme)
    footer = page.get_by_role("contentinfo")
    assert footer.get_by_role("link", name="About us").is_visible()
    assert footer.get_by_role("link", name="RSS feed").is_visible()
    assert_accessible(page, axe_script, f"about page ({scheme})")
