"""The README's pictures of the desk: the desk page, the story editor and the live preview.

Always taken into ``artifacts/screenshots/`` (so a failure shows what the page looked like);
``make docs-screenshots`` also writes them to ``docs/`` for the README.
"""

import os

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from stories.models import Story

from .conftest import SEED
from .test_reader import save_for_readme

pytestmark = [pytest.mark.browser]

PASSWORD = "browser-tests-only-7c2q"


@pytest.fixture
def desk_day(transactional_db):
    """The seed briefing imported, one story sent to review, one in draft, an editor."""
    call_command("import_briefing", str(SEED), stdout=open(os.devnull, "w"))
    editor = User.objects.create_user("edna", "edna@example.org", PASSWORD, is_staff=True)
    editor.first_name, editor.last_name = "Edna", "Editor"
    editor.save()
    editor.groups.add(Group.objects.get(name="Editor"))
    first, second = Story.objects.order_by("pk")[:2]
    Story.objects.filter(pk=first.pk).update(status=Story.Status.REVIEW)
    Story.objects.filter(pk=second.pk).update(status=Story.Status.DRAFT, created_by=editor)
    return editor, first


def log_in(open_page, user, width):
    page = open_page("/admin/", width=width, height=1000)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    return page


def keep(page, artifacts, name):
    target = artifacts / "screenshots" / f"desk-{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    assert target.stat().st_size > 0
    if os.environ.get("NEWSROOM_DOCS_SCREENSHOTS"):
        save_for_readme(page, artifacts.parent / "docs" / f"{name}.png")


def test_screenshots_of_the_desk_the_editor_and_the_preview(open_page, desk_day, artifacts):
    editor, story = desk_day
    page = log_in(open_page, editor, width=1280)
    assert page.get_by_role("region", name="Awaiting review").is_visible()
    keep(page, artifacts, "desk")

    # The editor, wide enough for the side preview beside the form.
    page = log_in(open_page, editor, width=1600)
    page.goto(page.url.rstrip("/") + f"/stories/story/{story.pk}/change/")
    page.wait_for_selector("#id_headline")
    page.locator(".ProseMirror[contenteditable]").click()
    page.keyboard.press("End")
    page.keyboard.type(" Officials said talks would resume next week.")
    preview = page.frame_locator("iframe").first
    preview.get_by_text("talks would resume next week").first.wait_for(timeout=15_000)
    page.evaluate("window.scrollTo(0, 0)")  # the headline and the toolbar, not the caret
    keep(page, artifacts, "editor")

    # The preview of unsaved text, as the Preview button opens it in a tab.
    with page.context.expect_page() as new_tab:
        page.get_by_role("button", name="Preview changes").first.click()
    tab = new_tab.value
    tab.set_viewport_size({"width": 1280, "height": 1000})
    tab.get_by_text("talks would resume next week").first.wait_for(timeout=15_000)
    keep(tab, artifacts, "preview")
