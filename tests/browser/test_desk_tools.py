"""The desk in a real browser: an editor compares two revisions of a story, and adds an
editorial note that readers then never see."""

import pytest

from stories.editorial.revisions import record_relations
from stories.models import StoryNote

from ..factories import BylineFactory, SectionFactory, StoryFactory
from .conftest import staff_user
from .test_editorial import log_in

pytestmark = [pytest.mark.browser]


@pytest.fixture
def editor(transactional_db):
    return staff_user("desk-chief", "Editor", [])


def test_editor_compares_two_revisions_and_sees_inserted_and_deleted_words(editor, open_page):
    story = StoryFactory(
        headline="Harbour cranes return to Odesa",
        body="Three cranes arrived on Monday.\n\nDock workers cheered.",
        section=SectionFactory(name="World", slug="world"),
        bylines=[BylineFactory(name="Ana Lima")],
    )
    record_relations(story)
    story.body = "Five cranes arrived on Monday.\n\nDock workers cheered."
    story.save()
    story.body = "Five cranes arrived on Tuesday.\n\nDock workers cheered loudly."
    story.save()

    page = log_in(open_page, editor)
    page.goto(f"/admin/stories/story/{story.pk}/history/")
    # Oldest in the "Older" column, newest in the "Newer" one: any two, as on a wiki.
    page.locator('input[name="old"]').last.check()
    page.locator('input[name="new"]').first.check()
    page.get_by_role("button", name="Compare selected revisions").click()
    page.wait_for_load_state()

    body = page.locator('.word-diff[data-field="body"]')
    assert [text.strip() for text in body.locator("del").all_inner_texts()] == ["Three", "Monday"]
    assert [text.strip() for text in body.locator("ins").all_inner_texts()] == [
        "Five",
        "Tuesday",
        "loudly",
    ]
    assert "Dock workers cheered" in body.inner_text()
    assert page.locator("#changed-fields").count() == 0  # only the body changed
    assert "No other field changed." in page.locator("#content-main").inner_text()


def test_editor_adds_a_note_and_the_reader_page_does_not_show_it(editor, open_page):
    story = StoryFactory(
        headline="Ferry timetable changes for winter",
        section=SectionFactory(name="Local", slug="local"),
        published=True,
    )
    note = "Zq check the winter fares with the operator before Friday"

    page = log_in(open_page, editor)
    page.goto(f"/admin/stories/story/{story.pk}/change/")
    page.get_by_label("New note").fill(note)
    page.get_by_role("button", name="Add note").click()
    page.wait_for_load_state()
    assert "Note added." in page.locator(".messagelist").inner_text()
    assert note in page.locator("#story-notes").inner_text()
    assert StoryNote.objects.get().author == editor

    reader = open_page(None)
    response = reader.goto(story.get_absolute_url())
    assert response.status == 200
    assert reader.locator("h1").inner_text() == story.headline
    html = reader.content()
    assert "Zq check" not in html and "winter fares" not in html
    # Staff looking at the story on the site see what readers see: no notes either.
    page.goto(story.get_absolute_url())
    assert "winter fares" not in page.content()


@pytest.mark.axe
def test_desk_pages_have_no_serious_accessibility_violations(editor, open_page, axe_script):
    from .test_accessibility import AXE_TAGS

    story = StoryFactory(headline="Cranes", section=SectionFactory(name="World", slug="world"))
    story.body = "Changed text."
    story.save()
    old, new = story.history.order_by("history_date", "history_id")
    StoryNote.objects.create(story=story, author=editor, text="Check the figures.")
    page = log_in(open_page, editor)
    # The whole page for the desk's own pages; the notes' part of the story form (the rest
    # of that form, select2 and all, is the change form's own; changelists are Django's).
    for path, part in (
        (f"/admin/stories/story/{story.pk}/history/", "document"),
        (f"/admin/stories/story/{story.pk}/history/compare/?old={old.pk}&new={new.pk}", "document"),
        (f"/admin/stories/story/{story.pk}/change/", "#story-notes"),
        ("/admin/stories/story/import/", "document"),
        ("/admin/auth/user/add/", "document"),
    ):
        page.goto(path)
        page.evaluate(axe_script)
        violations = page.evaluate(
            """async ([part, tags]) => {
              const context = part === "document" ? document : document.querySelector(part);
              const results = await axe.run(context, {runOnly: {type: "tag", values: tags}});
              return results.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}));
            }""",
            [part, AXE_TAGS],
        )
        blocking = [v for v in violations if v["impact"] in {"serious", "critical"}]
        assert blocking == [], f"{path}: {blocking}"
