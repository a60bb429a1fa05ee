"""A reporter writes a story body in the real rich-text editor (django-prose-editor in
Chromium) under the site's CSP: a subhead and a link, saved and then shown on the page."""

import pytest
from django.contrib.auth.models import Group, User

from ..factories import SectionFactory, StoryFactory

pytestmark = [pytest.mark.browser]

PASSWORD = "browser-tests-only-7d2q"


@pytest.fixture
def reporter(transactional_db):
    user = User.objects.create_user("rich-reporter", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Reporter"))
    return user


def watch_console(page):
    """Console errors (CSP violations are reported there), uncaught exceptions and failed
    loads; the browser's own favicon request, which no page asks for, aside."""
    problems = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    return problems


def test_reporter_writes_a_subhead_and_a_link_in_the_editor(reporter, open_page):
    story = StoryFactory(
        headline="Harbour reopens after the storm",
        body="<p>Old text.</p>",
        section=SectionFactory(name="World", slug="world"),
        created_by=reporter,
    )
    page = open_page(None)
    problems = watch_console(page)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(reporter.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/stories/story/{story.pk}/change/")

    editor = page.locator(".prose-editor .tiptap.ProseMirror")
    editor.wait_for()
    # The toolbar offers the allowed formatting and nothing else.
    names = page.locator(".prose-menubar button[data-name]").evaluate_all(
        "buttons => buttons.map(button => button.dataset.name)"
    )
    assert set(names) == {
        "heading2", "heading3", "paragraph", "bulletList", "orderedList",
        "orderedListProperties", "blockquote", "bold", "italic", "link", "unlink",
    }  # fmt: skip
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type("The port opened at dawn.")
    page.keyboard.press("Enter")
    page.keyboard.type("What comes next")
    # The subhead from the toolbar's block-type menu.
    page.locator(".prose-menubar__selected").click()
    page.locator(".prose-menubar button[data-name=heading2]").click()
    editor.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("Read the notice.")
    page.keyboard.press("ArrowLeft")
    for _ in range(len("notice")):
        page.keyboard.press("Shift+ArrowLeft")
    page.locator(".prose-menubar button[data-name=link]").click()
    dialog = page.locator("dialog.prose-editor-dialog[open]")
    dialog.get_by_label("URL").fill("https://port.example/notice")
    dialog.get_by_role("button", name="Update").click()
    assert "<h2>What comes next</h2>" in page.locator("#id_body").input_value()
    assert page.locator(".body-length").inner_text() == "11 words, about 1 min read"
    # The headline counts its characters against its limit as it is typed.
    page.locator("#id_headline").fill("Harbour reopens")
    assert page.locator("#id_headline_count").inner_text() == "15 of 200 characters"

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    assert "changed successfully" in page.locator(".messagelist").inner_text()

    story.refresh_from_db()
    assert story.body == (
        "<p>The port opened at dawn.</p><h2>What comes next</h2>"
        '<p>Read the <a href="https://port.example/notice" rel="noopener">notice</a>.</p>'
    ), story.body
    assert story.body_plain == "The port opened at dawn.\n\nWhat comes next\n\nRead the notice."
    # The reporter's preview of the draft: the story page as readers will see it.
    page.goto(story.get_absolute_url())
    body = page.locator(".story__body")
    assert body.locator("h2").inner_text() == "What comes next"
    link = body.locator("a")
    assert link.inner_text() == "notice"
    assert link.get_attribute("href") == "https://port.example/notice"
    assert link.get_attribute("rel") == "noopener"
    assert not problems, problems


@pytest.fixture
def editor(transactional_db):
    user = User.objects.create_user("rich-editor", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Editor"))
    return user


def test_editor_is_warned_before_moving_a_live_story(editor, open_page):
    story = StoryFactory(headline="Live and linked", slug="live-and-linked", published=True)
    page = open_page(None)
    problems = watch_console(page)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(editor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/stories/story/{story.pk}/change/")
    warning = page.locator("#id_slug_warning")
    assert warning.is_hidden()
    page.locator("#id_slug").fill("moved-elsewhere")
    assert warning.is_visible()
    assert "/live-and-linked/" in warning.inner_text() and "redirect" in warning.inner_text()
    page.locator("#id_slug").fill("live-and-linked")
    assert warning.is_hidden()
    # Headline and deck take the form's width (the admin's default input is 20em).
    widths = page.evaluate(
        "['id_headline', 'id_deck', 'id_dateline'].map("
        "id => document.getElementById(id).getBoundingClientRect().width)"
    )
    assert abs(widths[0] - widths[1]) < 2 and widths[0] > 2 * widths[2], widths
    assert not problems, problems
