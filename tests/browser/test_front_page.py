"""The desk's "Front page" screen in Chromium: an editor pins a lead, and readers see it on
the home page at once (the page cache and cached pieces on, as in production)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from stories.models import FrontPagePin

from ..factories import SectionFactory, StoryFactory

pytestmark = [pytest.mark.browser]

PASSWORD = "browser-tests-only-9f3k"


@pytest.fixture
def newsroom(transactional_db, settings):
    settings.PAGE_CACHE_SECONDS = 300
    settings.FRAGMENT_CACHE_SECONDS = 300
    editor = User.objects.create_user("front-editor", password=PASSWORD, is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    world = SectionFactory(name="World", slug="world")
    now = timezone.now()
    for hours in range(6):
        StoryFactory(
            headline=f"Fresh story {hours}",
            section=world,
            status="published",
            published_at=now - timedelta(hours=hours + 1),
        )
    chosen = StoryFactory(
        headline="Ferry link to the islands reopens",
        section=world,
        status="published",
        published_at=now - timedelta(days=3),
    )
    return editor, chosen


def lead_text(page):
    return page.locator("section.lead .story-card__headline").inner_text()


def test_editor_pins_a_lead_and_the_home_page_shows_it_at_once(open_page, newsroom):
    editor, chosen = newsroom
    reader = open_page("/")
    assert lead_text(reader) == "Fresh story 0"
    reader.reload()  # now from the page cache

    desk = open_page("/admin/")
    desk.get_by_label("Username").fill(editor.username)
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Log in").click()
    desk.wait_for_url("**/admin/")
    desk.goto("/admin/stories/frontpage/")
    desk.wait_for_url("**/admin/stories/frontpage/1/change/")
    assert "Lead: Fresh story 0" in desk.locator(".front-page-now").inner_text()
    # The first home row: search for the story and choose it.
    desk.locator("#pins-group .select2-selection").first.click()
    desk.locator('.select2-search__field[aria-controls="select2-id_pins-0-story-results"]').fill(
        "ferry"
    )
    desk.locator(".select2-results__option", has_text=chosen.headline).click()
    desk.get_by_role("button", name="Save and continue editing").click()
    desk.wait_for_selector(".messagelist")
    assert FrontPagePin.objects.get().story == chosen
    assert "Lead: Ferry link to the islands reopens" in desk.locator(".front-page-now").inner_text()

    reader.reload()
    assert lead_text(reader) == "Ferry link to the islands reopens"
    # The story it displaced is now the first of the top stories.
    tops = reader.locator("section.top-stories .story-card__headline").all_inner_texts()
    assert tops[0] == "Fresh story 0"
