"""Saving a story in the admin without changing anything, in a real browser: no revision, the
same version and ``updated_at``, and a re-import of its briefing still finds it unchanged.
A real edit still records one."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from stories.models import Story

from ..factories import BylineFactory, StoryFactory
from .conftest import SEED
from .test_editorial import log_in, save

pytestmark = [pytest.mark.browser]


def open_change_form(page, story):
    page.goto(reverse("admin:stories_story_change", args=[story.pk]))
    # The rich-text editor has replaced the body's textarea.
    page.locator(".ProseMirror[contenteditable]").wait_for()


def saved_state(story):
    story = Story.objects.get(pk=story.pk)
    return story.history.count(), story.version, story.updated_at


def reimport():
    out = StringIO()
    call_command("import_briefing", str(SEED), stdout=out)
    return out.getvalue()


def test_an_imported_story_saved_unchanged_records_nothing_and_reimports_unchanged(
    seeded, editor, open_page
):
    story = Story.objects.order_by("pk").first()
    before = saved_state(story)
    page = log_in(open_page, editor)
    open_change_form(page, story)
    save(page)
    assert page.locator(".messagelist").inner_text().count("changed successfully") == 1

    assert saved_state(story) == before
    assert "CONFLICT" not in reimport()


def test_a_story_made_in_the_admin_saved_unchanged_records_nothing_but_an_edit_does(
    editor, open_page
):
    story = StoryFactory(
        status="draft",
        body='<h2>Talks</h2>\n<p>One <strong>two</strong>, <a href="https://example.org/">'
        "three</a>.</p>\n<ul><li><p>four</p></li></ul>",
        bylines=[BylineFactory(name="Ana Lima"), BylineFactory(name="Ben Okafor")],
        tags=["Peru", "Chile"],
    )
    before = saved_state(story)
    page = log_in(open_page, editor)
    open_change_form(page, story)
    save(page)
    assert saved_state(story) == before

    open_change_form(page, story)
    page.locator("#id_deck").fill("A deck written in the browser.")
    save(page)
    revisions, version, updated_at = saved_state(story)
    assert (revisions, version) == (before[0] + 1, before[1] + 1)
    assert updated_at > before[2]
