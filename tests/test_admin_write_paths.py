"""Every admin write path, as real Reporter and Editor users submit it, outside a test
transaction: each request commits on its own, as it does behind gunicorn.

The usual ``django_db`` test wraps everything in one transaction, which hid a restore
view that used ``select_for_update()`` outside any transaction (a 500 on PostgreSQL). These
run on SQLite too; run them with DATABASE_URL pointing at PostgreSQL to catch that class.
Forms are posted as the page renders them (``browser_post``), not rebuilt from the form
class, so what a browser really sends is what is tested.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag

from stories.models import Correction, PreviewLink, Story

from .admin_forms import browser_post, confirm, page_form, preview
from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = reverse("admin:stories_story_changelist")
ADD = reverse("admin:stories_story_add")


def login(user):
    client = Client()
    client.force_login(user)
    return client


def change_url(story):
    return reverse("admin:stories_story_change", args=[story.pk])


def revert_url(story, revision):
    return reverse("admin:stories_story_simple_history", args=[story.pk, revision.history_id])


def errors(response):
    assert response.status_code == 200, response.status_code
    return dict(response.context["adminform"].form.errors)


def act(client, action, *stories):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [story.pk for story in stories]}
    )


def changed_fields(story):
    """The fields the newest revision changed, as the history page lists them."""
    newest, previous = story.history.order_by("-history_date", "-history_id")[:2]
    return sorted(change.field for change in newest.diff_against(previous).changes)


# Add and change forms, with their inlines


def test_editor_adds_a_story_with_a_byline_through_the_add_form(editor_user):
    section, byline = SectionFactory(name="World"), BylineFactory(name="Ana Lima")
    response = browser_post(
        login(editor_user),
        ADD,
        {
            "headline": "Port reopens",
            "body": "Ships sail.",
            "section": str(section.pk),
            "new_tags": "Ports",
            "story_bylines-0-byline": str(byline.pk),
        },
    )
    assert response.status_code == 302, errors(response)
    story = Story.objects.get()
    assert [b.name for b in story.ordered_bylines] == ["Ana Lima"]
    assert story.created_by == editor_user
    assert story.history.latest().byline_slugs == [byline.slug]


def test_reporter_adds_and_edits_a_draft(reporter_user):
    section = SectionFactory()
    client = login(reporter_user)
    response = browser_post(
        client, ADD, {"headline": "Mine", "body": "Text.", "section": str(section.pk)}
    )
    assert response.status_code == 302, errors(response)
    story = Story.objects.get()
    assert browser_post(client, change_url(story), {"body": "More."}).status_code == 302
    story.refresh_from_db()
    assert (story.body, story.status, story.published_at) == ("More.", "draft", None)


def test_editor_saves_the_change_form_with_byline_correction_and_preview_link_rows(editor_user):
    story = StoryFactory(published=True)
    byline = BylineFactory(name="Jo Park")
    response = browser_post(
        login(editor_user),
        change_url(story),
        {
            "headline": "Edited",
            "story_bylines-0-byline": str(byline.pk),
            "corrections-0-text": "The port is in Odesa.",
        },
        add_rows=["corrections", "preview_links"],
    )
    assert response.status_code == 302, errors(response)
    story.refresh_from_db()
    assert story.headline == "Edited"
    assert [b.name for b in story.ordered_bylines] == ["Jo Park"]
    assert Correction.objects.get().created_by == editor_user
    assert PreviewLink.objects.get(story=story).created_by == editor_user


def test_unchanged_save_records_no_revision(editor_user, reporter_user):
    # published_at carries microseconds, which the date widget does not show.
    published_at = (timezone.now() - timedelta(hours=1)).replace(microsecond=123456)
    story = StoryFactory(status="published", published_at=published_at, headline="Same")
    before = saved_state(story)
    client = login(editor_user)
    assert browser_post(client, change_url(story)).status_code == 302
    assert saved_state(story) == before
    assert Story.objects.get(pk=story.pk).published_at == published_at
    # A real change is recorded, and only it.
    assert browser_post(client, change_url(story), {"headline": "Other"}).status_code == 302
    assert changed_fields(story) == ["headline"]
    assert saved_state(story)[0] == before[0] + 1
    draft = StoryFactory(created_by=reporter_user)
    before = saved_state(draft)
    assert browser_post(login(reporter_user), change_url(draft)).status_code == 302
    assert saved_state(draft) == before


def saved_state(story):
    """Its revisions, version and last save: what an unchanged save must leave alone."""
    story = Story.objects.get(pk=story.pk)
    return story.history.count(), story.version, story.updated_at


# List actions


def test_list_actions_move_stories_through_the_workflow(editor_user, reporter_user):
    own = StoryFactory(created_by=reporter_user)
    assert act(login(reporter_user), "send_to_review", own).status_code == 302
    own.refresh_from_db()
    assert own.status == Story.Status.REVIEW
    client = login(editor_user)
    assert act(client, "publish_now", own).status_code == 302
    own.refresh_from_db()
    assert own.is_live()
    assert act(client, "unpublish", own).status_code == 302
    own.refresh_from_db()
    assert own.status == Story.Status.UNPUBLISHED
    assert list(own.history.values_list("history_change_reason", flat=True))[:3] == [
        "Unpublished",
        "Published",
        "Sent to review",
    ]


def test_publish_now_publishes_at_now_whatever_date_the_story_carries(editor_user):
    long_ago = timezone.now() - timedelta(days=400)
    was_live = StoryFactory(status=Story.Status.UNPUBLISHED, published_at=long_ago)
    dated_draft = StoryFactory(published_at=long_ago)
    scheduled = StoryFactory(scheduled=True)
    before = timezone.now()
    act(login(editor_user), "publish_now", was_live, dated_draft, scheduled)
    for story in (was_live, dated_draft, scheduled):
        story.refresh_from_db()
        assert story.is_live()
        assert before <= story.published_at <= timezone.now()


def test_editor_may_still_set_a_past_date_on_purpose(editor_user):
    story = StoryFactory()
    response = browser_post(
        login(editor_user),
        change_url(story),
        {"status": "published", "published_at_0": "2020-01-02", "published_at_1": "09:00:00"},
    )
    assert response.status_code == 302, errors(response)
    story.refresh_from_db()
    assert timezone.localdate(story.published_at).isoformat() == "2020-01-02"


# Restoring revisions


def test_editor_restores_a_revision(editor_user):
    story = StoryFactory(headline="Right", tags=["China"])
    client = login(editor_user)
    # An edit: its revision records the tags (the factory's first one has none).
    browser_post(client, change_url(story), {"deck": "A deck."})
    good = story.history.latest()
    browser_post(client, change_url(story), {"headline": "Wrong", "new_tags": "Peru"})
    response = browser_post(client, revert_url(story, good))
    assert response.status_code == 302, errors(response)
    story.refresh_from_db()
    assert story.headline == "Right"
    assert sorted(story.tags.names()) == ["China"]


def test_restoring_a_revision_with_another_slug_redirects_the_address_it_leaves(
    editor_user, client
):
    story = StoryFactory(slug="first-slug", published=True)
    staff = login(editor_user)
    browser_post(staff, change_url(story))
    first = story.history.latest()
    assert browser_post(staff, change_url(story), {"slug": "second-slug"}).status_code == 302
    story.refresh_from_db()
    second_url = story.get_absolute_url()
    response = browser_post(staff, revert_url(story, first))
    assert response.status_code == 302, errors(response)
    story.refresh_from_db()
    assert story.slug == "first-slug"
    moved = client.get(second_url)
    assert moved.status_code == 301
    assert moved["Location"] == story.get_absolute_url()


@pytest.mark.parametrize("owner", ["creator", "byline"])
def test_reporter_restores_a_revision_of_a_story_they_may_edit(reporter_user, editor_user, owner):
    if owner == "creator":
        story = StoryFactory(headline="Right", created_by=reporter_user)
    else:
        story = StoryFactory(headline="Right", bylines=[BylineFactory(user=reporter_user)])
    first = story.history.earliest()
    browser_post(login(editor_user), change_url(story), {"headline": "Wrong"})
    response = browser_post(login(reporter_user), revert_url(story, first))
    assert response.status_code == 302, errors(response)
    story.refresh_from_db()
    assert story.headline == "Right"


def test_reporter_restoring_a_once_published_revision_keeps_the_story_unpublished_and_undated(
    reporter_user, editor_user
):
    # The reporter's story was published (dated long ago), then an editor sent it back to
    # draft and cleared its date. The reporter may restore the published revision's text,
    # never its status or its date.
    story = StoryFactory(headline="Right", created_by=reporter_user)
    long_ago = timezone.now() - timedelta(days=400)
    story.status, story.published_at = Story.Status.PUBLISHED, long_ago
    story.save()
    published = story.history.latest()
    story.headline, story.status, story.published_at = "Wrong", Story.Status.DRAFT, None
    story.save()
    client = login(reporter_user)
    page = client.get(revert_url(story, published)).content.decode()
    assert 'name="headline"' in page  # an editable form, not a read-only page
    response = browser_post(client, revert_url(story, published))
    assert response.status_code == 302, errors(response)
    story.refresh_from_db()
    assert story.headline == "Right"
    assert story.status == Story.Status.DRAFT
    assert story.published_at is None


# The import


def test_import_confirm_writes_the_stories(editor_user, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    SectionFactory(slug="world", name="World")
    client = login(editor_user)
    previewed = preview(client, "Port reopens\nShips sail.\n— Ana Lima\n", status="draft")
    assert previewed.status_code == 200
    assert not Story.objects.exists()
    assert confirm(client, previewed).status_code == 302
    assert Story.objects.get().headline == "Port reopens"


def test_page_form_reads_what_the_change_form_renders(editor_user):
    # The helper itself: the change form's fields as the page has them.
    story = StoryFactory(headline="Seen")
    html = login(editor_user).get(change_url(story)).content.decode()
    assert ["headline", "Seen"] in page_form(html)


# Bylines linked to accounts


def test_editor_links_a_byline_to_a_reporter_who_then_edits_its_stories(editor_user, reporter_user):
    byline = BylineFactory(name="Rita Reporter")
    story = StoryFactory(headline="Bylined", bylines=[byline])
    reporter = login(reporter_user)
    assert browser_post(reporter, change_url(story), {"headline": "Mine"}).status_code == 403
    editor = login(editor_user)
    found = editor.get(
        reverse("admin:autocomplete"),
        {"app_label": "stories", "model_name": "byline", "field_name": "user", "term": "rita"},
    )
    [account] = found.json()["results"]
    byline_url = reverse("admin:stories_byline_change", args=[byline.pk])
    response = browser_post(editor, byline_url, {"user": account["id"]})
    assert response.status_code == 302
    byline.refresh_from_db()
    assert byline.user == reporter_user
    assert browser_post(reporter, change_url(story), {"headline": "Mine"}).status_code == 302
    story.refresh_from_db()
    assert story.headline == "Mine"


# Merging tags


def test_editor_merges_tags_stories_move_and_old_addresses_redirect(editor_user, client):
    both = StoryFactory(published=True, tags=["Ukraine", "Ukraina"])
    old_only = StoryFactory(published=True, tags=["Ukraina"])
    typo_only = StoryFactory(published=True, tags=["Ukriane"])
    untouched = StoryFactory(published=True, tags=["China"])
    tags = {tag.name: tag for tag in Tag.objects.all()}
    editor = login(editor_user)
    selected = [tags[name].pk for name in ("Ukraine", "Ukraina", "Ukriane")]
    tag_changelist = reverse("admin:taggit_tag_changelist")
    ask = editor.post(tag_changelist, {"action": "merge_tags", "_selected_action": selected})
    assert ask.status_code == 200
    fields = page_form(ask.content.decode())
    fields = [pair for pair in fields if pair[0] != "kept"] + [["kept", tags["Ukraine"].pk]]
    data = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    done = editor.post(tag_changelist, data, follow=True)
    assert "3 stories retagged" in done.content.decode()
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["China", "Ukraine"]
    for story in (both, old_only, typo_only):
        assert list(story.tags.names()) == ["Ukraine"]
    assert list(untouched.tags.names()) == ["China"]
    kept_url = reverse("stories:tag", args=[tags["Ukraine"].slug])
    for old in ("Ukraina", "Ukriane"):
        # The page and its feeds: every address the old tag had.
        for name in ("stories:tag", "stories:tag_feed", "stories:tag_atom_feed"):
            response = client.get(reverse(name, args=[tags[old].slug]))
            assert response.status_code == 301, name
            assert response["Location"] == reverse(name, args=[tags["Ukraine"].slug])
        # The same page of the kept tag.
        response = client.get(reverse("stories:tag", args=[tags[old].slug]), {"page": "2"})
        assert (response.status_code, response["Location"]) == (301, f"{kept_url}?page=2")
    assert client.get(reverse("stories:tag_feed", args=["never-a-tag"])).status_code == 404
    page = client.get(kept_url).content.decode()
    assert all(story.headline in page for story in (both, old_only, typo_only))
    # The newest revision records the merge: restoring it does not bring the old tag back.
    assert old_only.history.latest().tag_names == ["Ukraine"]


def test_tag_merge_is_for_editors_and_taggits_merge_page_is_gone(reporter_user, editor_user):
    StoryFactory(tags=["Ukraine", "Ukraina"])
    selected = list(Tag.objects.values_list("pk", flat=True))
    changelist = reverse("admin:taggit_tag_changelist")
    reporter = login(reporter_user)
    reporter.post(
        changelist,
        {"action": "merge_tags", "_selected_action": selected, "post": "yes", "kept": selected[0]},
    )
    assert Tag.objects.count() == 2
    assert login(editor_user).get(changelist + "merge-tags/").status_code != 200


# The desk: notes, reporters' accounts, an import into a new section, comparing revisions


def test_note_is_added_outside_a_test_transaction(editor_user):
    from stories.models import StoryNote

    story = StoryFactory()
    response = login(editor_user).post(
        reverse("admin:stories_story_add_note", args=[story.pk]), {"text": "Call the port."}
    )
    assert response.status_code == 302
    assert StoryNote.objects.get().text == "Call the port."
    story.refresh_from_db()
    assert story.version == 1


def test_reporter_account_is_created_and_deactivated_outside_a_test_transaction(
    editor_user, mailoutbox
):
    from django.contrib.auth.models import User

    byline = BylineFactory(name="Nadia Nova")
    client = login(editor_user)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "nadia",
            "email": "nadia@example.com",
            "byline": str(byline.pk),
            "send_password_link": "on",
        },
    )
    assert response.status_code == 302
    nadia = User.objects.get(username="nadia")
    assert list(nadia.groups.values_list("name", flat=True)) == ["Reporter"]
    assert nadia.byline == byline
    assert [message.to for message in mailoutbox] == [["nadia@example.com"]]
    client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "deactivate_accounts", "_selected_action": [nadia.pk]},
    )
    assert not User.objects.get(pk=nadia.pk).is_active


def test_import_into_a_new_section_outside_a_test_transaction(editor_user, settings, tmp_path):
    from stories.models import Section

    settings.VAR_DIR = tmp_path
    client = login(editor_user)
    previewed = preview(
        client, "Port reopens\nShips sail.\n— Ana Lima\n", section="", new_section="Ports"
    )
    assert previewed.status_code == 200 and not Section.objects.exists()
    assert confirm(client, previewed).status_code == 302
    assert Story.objects.get().section == Section.objects.get(name="Ports", slug="ports")


def test_revisions_are_compared_outside_a_test_transaction(editor_user):
    story = StoryFactory(headline="Port reopens")
    browser_post(login(editor_user), change_url(story), {"headline": "Port reopens today"})
    old, new = story.history.order_by("history_date", "history_id")
    url = reverse("admin:stories_story_compare", args=[story.pk])
    response = login(editor_user).get(f"{url}?old={old.pk}&new={new.pk}")
    assert "Port reopens<ins> today</ins>" in response.content.decode()
