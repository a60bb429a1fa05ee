"""Live editing in a real browser: the side panel previews unsaved text, autosave brings it
back after the page was closed without saving, and two editors see each other."""

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from taggit.models import Tag

from stories.models import EditingPresence, Story, WorkingCopy

from ..factories import BylineFactory, SectionFactory, StoryFactory
from .conftest import PASSWORD, staff_user
from .test_editorial import log_in

pytestmark = [pytest.mark.browser]

WIDE = 1600  # the side panel shows from 1400 px


@pytest.fixture
def reporter(transactional_db):
    return staff_user("live-reporter", "Reporter", [])


@pytest.fixture
def editor(transactional_db):
    user = staff_user("live-editor", "Editor", [])
    User.objects.filter(pk=user.pk).update(first_name="Edith", last_name="Ward")
    user.refresh_from_db()
    return user


@pytest.fixture
def story(reporter):
    return StoryFactory(
        headline="Harbour talks resume",
        body="Saved first paragraph.",
        created_by=reporter,
        section=SectionFactory(name="World", slug="world"),
    )


def log_in_wide(open_page, user):
    page = open_page("/admin/", width=WIDE)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    return page


def change_path(story):
    return f"/admin/stories/story/{story.pk}/change/"


def wait_until(condition, page, timeout_ms=30_000):
    """Poll the database until ``condition()`` holds: what the page sent on its way out
    (beacons) lands while the test still owns the database."""
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the browser's requests never arrived")


def close(page, user):
    """Close the editing page as a user closes the tab; its farewell beacon ends its
    presence (and keeps what was typed), before the test's database is emptied."""
    other = page.context.new_page()
    page.close()
    wait_until(lambda: not EditingPresence.objects.filter(user=user).exists(), other)
    return other


def test_reporter_types_unsaved_text_and_the_side_panel_shows_it(
    reporter, story, open_page, artifacts
):
    page = log_in_wide(open_page, reporter)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(change_path(story))
    frame = page.frame_locator(".live-panel__frame--shown")
    frame.locator("h1").wait_for()
    assert frame.locator("h1").inner_text() == "Harbour talks resume"

    page.locator("#id_headline").fill("Harbour talks collapse")
    type_body(page, "An unsaved paragraph about the harbour.")
    frame = page.frame_locator(".live-panel__frame--shown")
    frame.locator("h1", has_text="Harbour talks collapse").wait_for()
    assert "An unsaved paragraph about the harbour." in frame.locator("article").inner_text()
    assert "Preview of unsaved changes" in frame.locator("main").inner_text()
    # Only one frame is left once the new one has loaded.
    page.wait_for_function("document.querySelectorAll('.live-panel iframe').length === 1")
    assert errors == []
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "live-editing-side-preview.png"))

    # The Preview button opens the same preview in a new tab.
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Preview changes").click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.locator("h1").inner_text() == "Harbour talks collapse"

    tab.close()
    # Closed within seconds of typing: the page's farewell keeps the text as a working copy.
    other = close(page, reporter)
    # The farewell autosave and the presence beacon travel separately: wait for the copy.
    wait_until(
        lambda: WorkingCopy.objects.filter(
            user=reporter, data__headline="Harbour talks collapse"
        ).exists(),
        other,
    )
    story.refresh_from_db()
    assert story.headline == "Harbour talks resume"


def type_body(page, text):
    """Replace the body as a person does, in the rich-text editor over the hidden textarea."""
    editor = page.locator(".ProseMirror[contenteditable]")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)


def test_autosave_brings_unsaved_text_back_after_the_page_is_closed(reporter, story, open_page):
    page = log_in(open_page, reporter)
    page.goto(change_path(story))
    page.locator("#id_headline").fill("Typed and never saved")
    type_body(page, "A paragraph the browser lost.")
    page.locator(".live-tools__status", has_text="Unsaved changes kept").wait_for(timeout=20_000)
    page = close(page, reporter)  # no Save
    assert Story.objects.get(pk=story.pk).headline == "Harbour talks resume"
    assert WorkingCopy.objects.get().data["headline"] == "Typed and never saved"

    page.goto(change_path(story))
    banner = page.locator(".live-restore")
    assert re.search(r"Restore your unsaved changes from \d\d:\d\d", banner.inner_text())
    assert page.locator("#id_headline").input_value() == "Harbour talks resume"
    page.get_by_role("button", name="Restore", exact=True).click()
    assert page.locator("#id_headline").input_value() == "Typed and never saved"
    # The rich-text editor shows the restored body, and what it will post is that body.
    restored = page.locator(".ProseMirror[contenteditable]").inner_text()
    assert restored.strip() == "A paragraph the browser lost."
    assert page.locator("#id_body").input_value() == "<p>A paragraph the browser lost.</p>"
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    assert Story.objects.get(pk=story.pk).headline == "Typed and never saved"
    assert not WorkingCopy.objects.exists()


def test_presence_shows_two_editors_to_each_other(reporter, editor, story, open_page):
    User.objects.filter(pk=reporter.pk).update(first_name="Rita", last_name="Reyes")
    first = log_in(open_page, editor)
    first.clock.install()
    first.goto(change_path(story))
    assert not first.locator(".live-presence__message").count()
    wait_until(lambda: EditingPresence.objects.filter(user=editor).exists(), first)

    second = log_in(open_page, reporter)
    second.goto(change_path(story))
    message = second.locator(".live-presence__message")
    assert re.fullmatch(
        r"Edith Ward is editing this story \(since \d\d:\d\d\)", message.inner_text()
    )

    # The first editor learns of the second at the next heartbeat.
    first.clock.run_for(21_000)
    first.locator(".live-presence__message", has_text="Rita Reyes is editing this story").wait_for()
    close(second, reporter)
    close(first, editor)


def test_stale_copy_is_restored_only_on_request_with_section_tags_and_bylines(
    reporter, editor, story, open_page
):
    ana, tom = BylineFactory(name="Ana Lima"), BylineFactory(name="Tom Okafor")
    story.story_bylines.create(byline=ana, position=0)
    story.tags.add("Ports")
    business = SectionFactory(name="Business", slug="business")
    strikes = Tag.objects.create(name="Strikes", slug="strikes")
    WorkingCopy.objects.create(
        user=reporter,
        story=story,
        base_version=story.version,
        saved_at=timezone.now(),
        data={
            "headline": "My older rewrite",
            "body": "Rewritten body.",
            "section": business.pk,
            "tags": [strikes.pk],
            "new_tags": "",
            "bylines": [tom.pk, ana.pk],
        },
    )
    story.headline = "The editor's newer headline"
    story._history_user = editor
    story.save()  # someone else saves after the copy was made

    page = log_in(open_page, reporter)
    page.goto(change_path(story))
    banner = page.locator(".live-restore")
    assert "saved before Edith Ward’s changes at" in banner.inner_text()
    assert page.locator("#id_headline").input_value() == "The editor's newer headline"
    page.get_by_role("button", name="Restore anyway").click()
    assert page.locator("#id_headline").input_value() == "My older rewrite"
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()

    story = Story.objects.get(pk=story.pk)
    assert story.headline == "My older rewrite" and story.section == business
    assert [tag.name for tag in story.tags.all()] == ["Strikes"]
    assert [byline.name for byline in story.ordered_bylines] == ["Tom Okafor", "Ana Lima"]
    assert not WorkingCopy.objects.exists()


def test_new_story_is_previewed_before_its_first_save(reporter, open_page):
    page = log_in_wide(open_page, reporter)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/admin/stories/story/add/")
    page.locator("#id_headline").fill("A story nobody has saved")
    type_body(page, "Its first paragraph.")
    frame = page.frame_locator(".live-panel__frame--shown")
    frame.locator("h1", has_text="A story nobody has saved").wait_for()
    assert "Its first paragraph." in frame.locator("article").inner_text()
    assert errors == []
    assert not Story.objects.exists()
    page.goto("about:blank")  # the add page's farewell keeps the text
    wait_until(lambda: WorkingCopy.objects.filter(story=None).exists(), page)


def overlaps(box, other):
    return not (
        box["x"] + box["width"] <= other["x"]
        or other["x"] + other["width"] <= box["x"]
        or box["y"] + box["height"] <= other["y"]
        or other["y"] + other["height"] <= box["y"]
    )


@pytest.mark.parametrize("width", [1400, 1500, 1600, 1920])
def test_side_panel_never_covers_the_form(reporter, story, open_page, artifacts, width):
    page = log_in_wide(open_page, reporter)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(change_path(story))
    page.frame_locator(".live-panel__frame--shown").locator("h1").wait_for()
    panel = page.locator(".live-panel").bounding_box()
    for locator in (
        page.locator("#id_headline"),
        page.get_by_role("link", name="History"),
        page.locator("#user-tools"),
    ):
        assert not overlaps(locator.bounding_box(), panel), locator
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"live-editing-panel-{width}.png"), full_page=True)

    # Hiding the panel is remembered on the next page load.
    page.get_by_role("button", name="Hide side preview").click()
    page.reload()
    page.get_by_role("button", name="Show side preview").wait_for()
    assert page.locator(".live-panel").is_hidden()
    close(page, reporter)  # its farewell lands while the test still owns the database
