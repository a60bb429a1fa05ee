"""The admin's briefing import page in Chromium: its date widget works."""

import pytest
from django.urls import reverse

from ..factories import SectionFactory
from .test_desk import log_in, person

pytestmark = [pytest.mark.browser]


def test_import_page_date_field_has_its_calendar_and_no_script_errors(open_page, transactional_db):
    SectionFactory(name="World", slug="world")
    page = log_in(open_page, person("edna", "Editor", "edna@example.org"))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(reverse("admin:stories_story_import"))
    page.wait_for_load_state("load")
    shortcuts = page.locator(".datetimeshortcuts")
    assert shortcuts.get_by_role("link", name="Today").is_visible()
    calendar = page.locator("#calendarlink0")
    assert calendar.is_visible()
    calendar.click()
    assert page.locator("#calendarbox0").is_visible()
    assert errors == []
