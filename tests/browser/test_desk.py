"""The desk and the story form's buttons, as a reporter and an editor use them in Chromium."""

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail

from stories.models import ReturnNote, Story

from ..factories import BylineFactory, SectionFactory, StoryFactory
from .test_accessibility import AXE_TAGS, run_axe

pytestmark = [pytest.mark.browser]

PASSWORD = "browser-tests-only-9f3k"


def person(username, role, email):
    user = User.objects.create_user(username, email, PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def newsroom(transactional_db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    reporter = person("rita", "Reporter", "rita@example.org")
    editor = person("edna", "Editor", "edna@example.org")
    story = StoryFactory(
        headline="Harbour cranes idle as strike enters second week",
        section=SectionFactory(name="Business", slug="business"),
        bylines=[BylineFactory(name="Rita Reporter", user=reporter)],
        created_by=reporter,
    )
    return reporter, editor, story


def log_in(open_page, user):
    page = open_page("/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    return page


def panel(page, title):
    return page.get_by_role("region", name=title)


def press(page, name):
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


def test_reporter_and_editor_pass_a_story_through_the_desk(open_page, newsroom):
    reporter, editor, story = newsroom
    headline = story.headline

    # The reporter finds the draft on the desk, under My drafts, and sends it to review.
    desk = log_in(open_page, reporter)
    assert desk.get_by_role("heading", name="Desk").is_visible()
    assert panel(desk, "Awaiting review").count() == 0  # an editor's panel
    panel(desk, "My drafts").get_by_role("link", name=headline).click()
    desk.wait_for_selector("#id_headline")
    for refused in ("Publish now", "Schedule", "Unpublish", "Return to reporter"):
        assert desk.get_by_role("button", name=refused, exact=True).count() == 0
    press(desk, "Send to review")
    assert "Sent to review" in desk.locator(".messagelist").inner_text()
    story.refresh_from_db()
    assert story.status == Story.Status.REVIEW
    assert [m.to for m in mail.outbox] == [["edna@example.org"]]

    # The editor sees it awaiting review and returns it with a note.
    editor_page = log_in(open_page, editor)
    waiting = panel(editor_page, "Awaiting review")
    assert "1" in waiting.get_by_role("heading").inner_text()
    waiting.get_by_role("link", name=headline).click()
    editor_page.wait_for_selector("#id_headline")
    editor_page.get_by_label("Note to the reporter").fill("Add the port authority's figures.")
    press(editor_page, "Return to reporter")
    assert "Returned to the reporter" in editor_page.locator(".messagelist").inner_text()
    note = ReturnNote.objects.get()
    assert (note.author, note.text) == (editor, "Add the port authority's figures.")
    assert "Add the port authority's figures." in mail.outbox[-1].body

    # The reporter sees it returned, with the note, on the desk.
    desk.goto("/admin/")
    returned = panel(desk, "Returned to me")
    assert returned.get_by_role("link", name=headline).is_visible()
    assert "Add the port authority's figures." in returned.inner_text()
    assert "returned by edna" in returned.inner_text()

    # The editor publishes it.
    editor_page.goto("/admin/")
    assert panel(editor_page, "Awaiting review").get_by_role("link", name=headline).count() == 0
    editor_page.goto(f"/admin/stories/story/{story.pk}/change/")
    press(editor_page, "Publish now")
    assert "Published" in editor_page.locator(".messagelist").inner_text()
    story.refresh_from_db()
    assert story.is_live()
    assert mail.outbox[-1].subject == f"Published: {headline}"
    editor_page.goto("/admin/")
    assert panel(editor_page, "Recently published").get_by_role("link", name=headline).is_visible()
    reader = open_page(story.get_absolute_url())
    assert reader.locator("h1").inner_text() == headline


@pytest.mark.axe
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("role", ["reporter", "editor"])
def test_desk_has_no_serious_accessibility_violations(
    open_page, newsroom, axe_script, role, scheme
):
    reporter, editor, story = newsroom
    StoryFactory(headline="Scheduled for tomorrow", scheduled=True)
    StoryFactory(headline="On the site", published=True)
    StoryFactory(headline="Waiting", status=Story.Status.REVIEW)
    ReturnNote.objects.create(story=story, author=editor, text="Shorter, please.")
    page = log_in(open_page, reporter if role == "reporter" else editor)
    page.emulate_media(color_scheme=scheme)
    # Reloaded in the scheme: switched under a shown page, the admin's links fade to their
    # new colour (a 0.15s transition) while the background switches at once, and axe could
    # measure the light link on the dark background mid-fade.
    page.reload()
    violations = run_axe(page, axe_script)
    blocking = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert blocking == [], blocking
    assert page.locator("h1").count() == 1

    # The story form's buttons, too (the rest of the form is Django's and other issues').
    page.goto(f"/admin/stories/story/{story.pk}/change/")
    assert page.locator(".primary-actions button").count() >= 2
    page.evaluate(axe_script)  # through DevTools, as run_axe does: the CSP refuses inline
    violations = page.evaluate(
        """async tags => {
          const results = await axe.run(
            {include: ['.primary-actions']}, {runOnly: {type: 'tag', values: tags}});
          return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help}));
        }""",
        AXE_TAGS,
    )
    blocking = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert blocking == [], blocking
