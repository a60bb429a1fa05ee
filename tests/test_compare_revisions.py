"""Compare revisions: any two of a story's revisions, word by word, with the other fields."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from stories.editorial.revisions import record_relations
from stories.models import Story

from .admin_forms import browser_post
from .factories import BylineFactory, SectionFactory, StoryFactory
from .library import library_image

pytestmark = pytest.mark.django_db

LONG_TAIL = " ".join(f"word{number}" for number in range(120))  # past any repr's truncation


def login(user):
    client = Client()
    client.force_login(user)
    return client


def change_url(story):
    return reverse("admin:stories_story_change", args=[story.pk])


def compare_url(story, old, new):
    url = reverse("admin:stories_story_compare", args=[story.pk])
    return f"{url}?old={old.pk}&new={new.pk}"


def revisions(story):
    return list(story.history.order_by("history_date", "history_id"))


@pytest.fixture
def edited_story(editor_user):
    """A story saved three times in the admin: its bylines, tags and section changed too."""
    world, sport = SectionFactory(name="World", slug="world"), SectionFactory(name="Sport")
    ana, pedro = BylineFactory(name="Ana Lima"), BylineFactory(name="Pedro Ruiz")
    story = StoryFactory(
        headline="Port of Odesa reopens",
        deck="Grain ships sail",
        body=f"<p>Ships left Odesa on Monday.</p><p>Second paragraph {LONG_TAIL} end.</p>",
        section=world,
        bylines=[ana],
        tags=["Ukraine"],
    )
    record_relations(story)  # as the admin does once the bylines and tags are saved
    client = login(editor_user)
    browser_post(client, change_url(story), {"dateline": "ODESA"})
    response = browser_post(
        client,
        change_url(story),
        {
            "headline": "Port of Odesa reopens at last",
            "deck": "Grain <ships> & barges sail",
            "body": f"<p>Ships left Odesa on Tuesday.</p><p>Second paragraph {LONG_TAIL} end.</p>"
            '<p>A <strong>new</strong> paragraph &amp; <a href="https://x.example/">more</a>.</p>',
            "section": str(sport.pk),
            "story_bylines-0-byline": str(pedro.pk),
            "new_tags": "Grain",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    return story


def test_compare_shows_inserted_and_deleted_words_escaped_and_whole(editor_user, edited_story):
    first, _, last = revisions(edited_story)
    response = login(editor_user).get(compare_url(edited_story, first, last))
    assert response.status_code == 200
    page = response.content.decode()
    headline, deck, body = response.context["comparison"].words
    assert [headline.label, deck.label, body.label] == ["Headline", "Deck", "Body"]
    assert "Port of Odesa reopens<ins> at last</ins>" in page
    assert "Grain<del> ships</del><ins> &lt;ships&gt; &amp; barges</ins> sail" in page
    assert "Ships left Odesa on<del> Monday</del><ins> Tuesday</ins>." in page
    # The body is compared as readers read it: words, not tags (it is becoming HTML).
    assert "<ins>\n\nA new paragraph &amp; more.</ins>" in page
    assert f"Second paragraph {LONG_TAIL} end." in page  # unchanged text shown whole


def test_compare_lists_other_changed_fields_with_readable_labels(editor_user, edited_story):
    first, _, last = revisions(edited_story)
    comparison = (
        login(editor_user).get(compare_url(edited_story, first, last)).context["comparison"]
    )
    assert {change.label: (change.old, change.new) for change in comparison.fields} == {
        "Section": ("World", "Sport"),
        "Dateline": ("—", "ODESA"),
        "Bylines": ("Ana Lima", "Pedro Ruiz"),
        "Tags": ("Ukraine", "Grain, Ukraine"),
    }


def test_compare_takes_the_revisions_in_either_order_and_any_pair(editor_user, edited_story):
    first, middle, last = revisions(edited_story)
    client = login(editor_user)
    forward = client.get(compare_url(edited_story, first, last)).context["comparison"]
    backward = client.get(compare_url(edited_story, last, first)).context["comparison"]
    assert (backward.old, backward.new) == (forward.old, forward.new) == (first, last)
    only_dateline = client.get(compare_url(edited_story, first, middle)).context["comparison"]
    assert [change.label for change in only_dateline.fields] == ["Dateline"]
    assert not any(diff.changed for diff in only_dateline.words)
    same = client.get(compare_url(edited_story, last, last))
    assert same.context["comparison"].is_identical
    assert "These revisions have the same text and fields." in same.content.decode()


def test_compare_refuses_revisions_of_other_stories_and_bad_input(editor_user, edited_story):
    other = StoryFactory()
    first, _, last = revisions(edited_story)
    (foreign,) = revisions(other)
    client = login(editor_user)
    base = reverse("admin:stories_story_compare", args=[edited_story.pk])
    assert client.get(compare_url(edited_story, first, foreign)).status_code == 404
    assert client.get(compare_url(other, first, last)).status_code == 404
    for query in ("", f"?old={first.pk}", f"?old=x&new={last.pk}", f"?old=-1&new={last.pk}"):
        assert client.get(base + query).status_code == 404, query


def test_compare_is_for_staff_who_may_view_the_story(edited_story, make_staff):
    first, _, last = revisions(edited_story)
    url = compare_url(edited_story, first, last)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    reader = User.objects.create_user("reader", password="x")
    assert login(reader).get(url).status_code == 302  # the admin's login page
    staff_without_rights = User.objects.create_user("temp", password="x", is_staff=True)
    assert login(staff_without_rights).get(url).status_code == 403
    # Reporters may view every story in the desk (not change it), so they may compare.
    assert login(make_staff("rita", "Reporter")).get(url).status_code == 200


def test_history_page_offers_two_radio_columns_and_compare_with_previous(editor_user, edited_story):
    first, middle, last = revisions(edited_story)
    url = reverse("admin:stories_story_history", args=[edited_story.pk])
    page = login(editor_user).get(url).content.decode()
    compare = reverse("admin:stories_story_compare", args=[edited_story.pk])
    assert f'action="{compare}"' in page
    assert re.search(rf'name="old" value="{middle.pk}"[^>]*checked', page)
    assert re.search(rf'name="new" value="{last.pk}"[^>]*checked', page)
    assert f'name="old" value="{first.pk}"' in page
    assert f"{compare}?old={middle.pk}&amp;new={last.pk}" in page
    assert f"{compare}?old={first.pk}&amp;new={middle.pk}" in page
    assert " style=" not in page


def history_queries(client, story):
    url = reverse("admin:stories_story_history", args=[story.pk])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_history_and_compare_query_counts_are_flat(editor_user, django_assert_max_num_queries):
    story = StoryFactory(body="One two three.")
    client = login(editor_user)
    for number in range(2):
        story.body = f"One two three {number}."
        story.save()
    history_queries(client, story)  # the first also reads the content types into memory
    few = history_queries(client, story)
    for number in range(10):
        story.body = f"One two three {number} more."
        story.save()
    assert history_queries(client, story) == few
    old, new = revisions(story)[0], revisions(story)[-1]
    # session, user, story and its bylines, the user's and groups' permissions, the two
    # revisions, their sections (no byline query: these revisions recorded none); one fewer
    # on PostgreSQL after other tests of this module
    with django_assert_max_num_queries(8):
        assert client.get(compare_url(story, old, new)).status_code == 200


def test_compare_of_a_deleted_section_or_byline_still_renders(editor_user):
    gone = SectionFactory(name="Gone")
    story = StoryFactory(section=gone)
    story.section = SectionFactory(name="Kept")
    story.save()
    Story.history.filter(id=story.pk).update(byline_slugs=["left-the-paper"], tag_names=None)
    old, new = revisions(story)
    comparison = login(editor_user).get(compare_url(story, old, new)).context["comparison"]
    assert {change.label: (change.old, change.new) for change in comparison.fields}["Section"] == (
        "Gone",
        "Kept",
    )
    assert "Bylines" not in [change.label for change in comparison.fields]


def test_compare_names_a_changed_lead_image_by_its_alt_text(editor_user, media_root):
    story = StoryFactory()
    story.lead_image = library_image(alt="A harbour at dawn")
    story.save()
    first, last = revisions(story)
    comparison = login(editor_user).get(compare_url(story, first, last)).context["comparison"]
    changes = {change.label: (change.old, change.new) for change in comparison.fields}
    assert changes["Lead image"] == ("—", "“A harbour at dawn”")


def test_a_revision_address_that_is_not_a_number_is_not_found(editor_user, edited_story):
    client = login(editor_user)
    url = reverse("admin:stories_story_change", args=[edited_story.pk])
    assert client.get(f"{url.removesuffix('change/')}history/abc/").status_code == 404
