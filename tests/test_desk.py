"""The desk: the admin's home page for staff, by role, with a flat query budget."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from stories.importer import import_briefings, read_briefing_file
from stories.models import ImportConflict, ReturnNote, Story

from .factories import BylineFactory, SectionFactory, StoryFactory
from .test_primary_actions import login

pytestmark = pytest.mark.django_db

DESK = reverse("admin:index")
CHANGELIST = reverse("admin:stories_story_changelist")


def panels(response):
    return {panel.kind.title: panel for panel in response.context["panels"]}


def listed(panel):
    return [story.headline for story in panel.stories]


@pytest.fixture
def newsroom(reporter_user, editor_user):
    """Stories in every pile: the reporter's own and others'."""
    mine = BylineFactory(user=reporter_user)
    stories = {
        "my draft": StoryFactory(headline="My draft", created_by=reporter_user),
        "bylined draft": StoryFactory(headline="Bylined draft", bylines=[mine]),
        "other draft": StoryFactory(headline="Other draft", created_by=editor_user),
        "returned": StoryFactory(headline="Returned one", created_by=reporter_user),
        "review": StoryFactory(headline="In review", status=Story.Status.REVIEW),
        "scheduled": StoryFactory(headline="Tomorrow's", scheduled=True),
        "live": StoryFactory(headline="Fresh news", published=True),
        "old": StoryFactory(
            headline="Old news",
            status=Story.Status.PUBLISHED,
            published_at=timezone.now() - timedelta(days=30),
        ),
    }
    ReturnNote.objects.create(
        story=stories["returned"], author=editor_user, text="Check the figures."
    )
    ImportConflict.objects.create(
        story=stories["live"],
        source="briefing.txt",
        reason="changed since the importer last wrote it; left alone",
        found_at=timezone.now(),
    )
    return stories


def test_admin_is_titled_newsroom_desk(editor_user):
    page = login(editor_user).get(DESK).content.decode()
    assert "<title>Desk | Newsroom desk</title>" in page
    assert "Newsroom desk</a></div>" in page or ">Newsroom desk<" in page


def test_editor_sees_every_panel_with_counts(editor_user, newsroom):
    response = login(editor_user).get(DESK)
    assert response.status_code == 200
    found = panels(response)
    assert list(found) == [
        "Awaiting review",
        "Scheduled",
        "My drafts",
        "Returned to me",
        "Recently published",
        "Import conflicts",
    ]
    assert listed(found["Awaiting review"]) == ["In review"]
    assert listed(found["Scheduled"]) == ["Tomorrow's"]
    assert listed(found["My drafts"]) == ["Other draft"]
    assert listed(found["Recently published"]) == ["Fresh news"]
    assert listed(found["Import conflicts"]) == ["Fresh news"]
    assert found["Returned to me"].count == 0
    page = response.content.decode()
    assert "Check the figures" not in page  # the reporter's note, not the editor's
    assert "changed since the importer last wrote it" in page


def test_reporter_sees_own_work_and_not_the_editors_panels(reporter_user, newsroom):
    response = login(reporter_user).get(DESK)
    found = panels(response)
    assert list(found) == [
        "Scheduled",
        "My drafts",
        "Returned to me",
        "Sent for review",
        "Recently published",
    ]
    # A returned draft is listed under "Returned to me" only.
    assert sorted(listed(found["My drafts"])) == ["Bylined draft", "My draft"]
    assert found["My drafts"].count == 2
    returned = found["Returned to me"]
    assert listed(returned) == ["Returned one"]
    page = response.content.decode()
    assert "Check the figures." in page
    assert "returned by ed" in page
    assert "In review" not in page
    assert "Import conflicts" not in page


def test_answered_notes_leave_returned_to_me(reporter_user, newsroom):
    ReturnNote.objects.update(resolved_at=timezone.now())
    found = panels(login(reporter_user).get(DESK))
    assert found["Returned to me"].count == 0
    assert "Returned one" in listed(found["My drafts"])  # back among the drafts


def test_reporter_keeps_sight_of_stories_sent_for_review(reporter_user, newsroom):
    mine = reporter_user.byline
    StoryFactory(headline="Sent by me", status=Story.Status.REVIEW, created_by=reporter_user)
    StoryFactory(headline="Sent with my byline", status=Story.Status.REVIEW, bylines=[mine])
    client = login(reporter_user)
    sent = panels(client.get(DESK))["Sent for review"]
    # Only their own: "In review" (someone else's) is not listed.
    assert sorted(listed(sent)) == ["Sent by me", "Sent with my byline"]
    assert sent.count == 2
    changelist = client.get(sent.url)
    assert sorted(s.headline for s in changelist.context["cl"].result_list) == [
        "Sent by me",
        "Sent with my byline",
    ]


def test_editors_see_all_of_review_not_a_sent_panel(editor_user, newsroom):
    StoryFactory(headline="Sent by me", status=Story.Status.REVIEW, created_by=editor_user)
    found = panels(login(editor_user).get(DESK))
    assert "Sent for review" not in found
    assert sorted(listed(found["Awaiting review"])) == ["In review", "Sent by me"]


def test_scheduled_panel_shows_go_live_times(reporter_user, newsroom):
    page = login(reporter_user).get(DESK).content.decode()
    panel = page[page.index('id="desk-scheduled"') :]
    panel = panel[: panel.index("</section>")]
    when = date_format(timezone.localtime(newsroom["scheduled"].published_at), "DATETIME_FORMAT")
    assert "Tomorrow&#x27;s" in panel
    assert re.search(rf"· goes live {re.escape(when)}", panel)


def test_panel_links_list_the_same_stories(reporter_user, editor_user, newsroom):
    for user in (reporter_user, editor_user):
        client = login(user)
        for panel in client.get(DESK).context["panels"]:
            changelist = client.get(panel.url)
            assert changelist.status_code == 200, panel.url
            assert changelist.context["cl"].result_count == panel.count, panel.kind.title


def test_reporter_cannot_list_conflicts_through_the_filter(reporter_user, newsroom):
    # Not offered to reporters: refused as Django refuses a bad filter value (the plain
    # list with "?e=1"), never narrowed to it.
    response = login(reporter_user).get(CHANGELIST, {"desk": "conflicts"}, follow=True)
    assert response.redirect_chain == [(f"{CHANGELIST}?e=1", 302)]
    assert response.context["cl"].result_count == Story.objects.count()


def test_full_model_list_is_one_link_away(editor_user):
    client = login(editor_user)
    page = client.get(DESK).content.decode()
    assert f'href="{reverse("admin:models")}"' in page
    response = client.get(reverse("admin:models"))
    assert response.status_code == 200
    labels = [app["app_label"] for app in response.context["app_list"]]
    assert "stories" in labels
    assert reverse("admin:stories_section_changelist") in response.content.decode()


def test_desk_is_staff_only(client, django_user_model):
    assert client.get(DESK).status_code == 302
    reader = django_user_model.objects.create_user("reader", password="pw-for-tests-only")
    client.force_login(reader)
    response = client.get(DESK)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def make_many(count, owners, section, start=0):
    """``count`` stories spread over every pile, in bulk."""
    now = timezone.now()
    states = [
        (Story.Status.DRAFT, None),
        (Story.Status.REVIEW, None),
        (Story.Status.PUBLISHED, now - timedelta(hours=2)),
        (Story.Status.PUBLISHED, now + timedelta(days=1)),
    ]
    stories = Story.objects.bulk_create(
        Story(
            headline=f"Bulk story {n}",
            slug=f"bulk-story-{n}",
            body="Body.",
            section=section,
            status=states[n % 4][0],
            published_at=states[n % 4][1],
            created_by=owners[n % len(owners)],
        )
        for n in range(start, start + count)
    )
    ReturnNote.objects.bulk_create(
        ReturnNote(story=story, text="Fix it.") for story in stories[::8]
    )
    ImportConflict.objects.bulk_create(
        ImportConflict(story=story, source="b.txt", reason="edited", found_at=now)
        for story in stories[2::8]
    )


# The budget, measured: session, user, the user's groups' and own permissions (2), the
# counts (2: drafts and review, the published; and 1 of import conflicts for editors), each
# panel's stories (one each: 6 for editors, 5 for reporters, "Sent for review" being theirs
# only) and the sidebar's "My actions" (1).
@pytest.mark.parametrize(("role", "budget"), [("editor", 14), ("reporter", 12)])
def test_desk_query_budget_is_flat_with_1000_stories(
    request, role, budget, reporter_user, editor_user, django_assert_max_num_queries
):
    client = login(request.getfixturevalue(f"{role}_user"))
    section = SectionFactory()
    owners = [reporter_user, editor_user, None]
    make_many(48, owners, section)
    with django_assert_max_num_queries(budget):
        few = client.get(DESK)
    make_many(952, owners, section, start=48)
    assert Story.objects.count() == 1000
    with django_assert_max_num_queries(budget):
        many = client.get(DESK)
    few_counts = [panel.count for panel in few.context["panels"]]
    many_counts = [panel.count for panel in many.context["panels"]]
    assert all(count > 0 for count in few_counts)
    assert all(m > f for m, f in zip(many_counts, few_counts, strict=True))
    assert all(len(panel.stories) == 5 for panel in many.context["panels"])


def test_reimport_conflicts_reach_the_desk_and_clear(seed_path, editor_user):
    briefing = read_briefing_file(seed_path)
    import_briefings([briefing])
    edited = Story.objects.order_by("pk").first()
    edited.deck = "Changed by an editor."
    edited.save()
    result = import_briefings([briefing])
    assert [o.action for o in result.outcomes].count("conflict") == 1
    conflict = ImportConflict.objects.get()
    assert conflict.story == edited
    assert conflict.source == "briefing.txt"
    found = panels(login(editor_user).get(DESK))["Import conflicts"]
    assert listed(found) == [edited.headline]

    # Found again by the next run: still one, not written again.
    import_briefings([briefing])
    assert ImportConflict.objects.get().pk == conflict.pk
    assert ImportConflict.objects.get().found_at == conflict.found_at


def test_import_that_no_longer_conflicts_clears_the_conflict(seed_path):
    briefing = read_briefing_file(seed_path)
    import_briefings([briefing])
    story = Story.objects.order_by("pk").first()
    ImportConflict.objects.create(
        story=story, source="briefing.txt", reason="x", found_at=timezone.now()
    )
    import_briefings([briefing])  # unchanged: no conflict
    assert not ImportConflict.objects.exists()


def test_a_reporters_import_neither_adds_nor_settles_conflicts(seed_path, reporter_user):
    """The panel is the editors' to-do list: a reporter's upload of a briefing that clashes
    with stories others edited does not fill it (and cannot empty it either)."""
    briefing = read_briefing_file(seed_path)
    import_briefings([briefing])
    first, second = Story.objects.order_by("pk")[:2]
    first.deck = "Edited by an editor."
    first.save()
    ImportConflict.objects.create(
        story=second, source="briefing.txt", reason="x", found_at=timezone.now()
    )
    result = import_briefings([briefing], user=reporter_user, status=Story.Status.DRAFT)
    assert "conflict" in [o.action for o in result.outcomes]
    assert list(ImportConflict.objects.values_list("story", flat=True)) == [second.pk]


def test_dry_run_records_no_conflict(seed_path):
    briefing = read_briefing_file(seed_path)
    import_briefings([briefing])
    story = Story.objects.order_by("pk").first()
    story.deck = "Edited."
    story.save()
    import_briefings([briefing], dry_run=True)
    assert not ImportConflict.objects.exists()


def test_editor_dismisses_import_conflicts_a_reporter_cannot(editor_user, reporter_user, newsroom):
    live = newsroom["live"]
    data = {"action": "dismiss_import_conflicts", "_selected_action": [live.pk]}
    login(reporter_user).post(CHANGELIST, data)
    assert ImportConflict.objects.filter(story=live).exists()
    login(editor_user).post(CHANGELIST, data)
    assert not ImportConflict.objects.exists()
    assert panels(login(editor_user).get(DESK))["Import conflicts"].count == 0
