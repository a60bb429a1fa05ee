"""Previews: staff at the public address, and shareable links for people without accounts."""

import base64
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stories.models import PreviewLink

from .admin_forms import admin_form_data, browser_post
from .factories import StoryFactory

pytestmark = pytest.mark.django_db

BANNER = "Preview — not published"


def login(user):
    client = Client()
    client.force_login(user)
    return client


def assert_private_preview(response):
    assert response.status_code == 200
    assert BANNER in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in response.content.decode()
    # A story that is not live may have no date yet: no meta tag says "None".
    assert 'content="None"' not in response.content.decode()


@pytest.mark.parametrize("trait", ["draft", "scheduled", "unpublished"])
def test_story_preview_for_editor_at_the_public_address(client, editor_user, trait):
    kwargs = {"scheduled": True} if trait == "scheduled" else {"status": trait}
    story = StoryFactory(headline="Embargoed", **kwargs)
    assert client.get(story.get_absolute_url()).status_code == 404  # readers
    assert_private_preview(login(editor_user).get(story.get_absolute_url()))


def test_story_preview_after_preview_readers_still_get_404(client, editor_user):
    story = StoryFactory()
    login(editor_user).get(story.get_absolute_url())
    response = client.get(story.get_absolute_url())
    assert response.status_code == 404
    assert BANNER not in response.content.decode()


def test_story_preview_only_for_staff_who_may_edit_it(reporter_user, make_staff):
    own = StoryFactory(created_by=reporter_user)
    other = StoryFactory(created_by=make_staff("otto", "Reporter"))
    client = login(reporter_user)
    assert_private_preview(client.get(own.get_absolute_url()))
    assert client.get(other.get_absolute_url()).status_code == 404


def test_story_preview_not_for_non_staff_with_permissions(editor_user):
    editor_user.is_staff = False
    editor_user.save()
    story = StoryFactory()
    assert login(editor_user).get(story.get_absolute_url()).status_code == 404


def test_story_live_page_for_staff_has_no_banner_and_normal_headers(editor_user):
    story = StoryFactory(published=True)
    response = login(editor_user).get(story.get_absolute_url())
    assert response.status_code == 200
    assert BANNER not in response.content.decode()
    assert "no-store" not in response.get("Cache-Control", "")
    assert not response.has_header("X-Robots-Tag")


def test_story_admin_shows_preview_link_for_unpublished_and_view_on_site_for_live(editor_user):
    client = login(editor_user)
    draft, live = StoryFactory(), StoryFactory(published=True)
    draft_page = client.get(reverse("admin:stories_story_change", args=[draft.pk])).content.decode()
    assert f'href="{draft.get_absolute_url()}">Preview</a>' in draft_page
    assert "View on site" not in draft_page
    live_page = client.get(reverse("admin:stories_story_change", args=[live.pk])).content.decode()
    assert "View on site" in live_page


def make_link_through_admin(client, story):
    url = reverse("admin:stories_story_change", args=[story.pk])
    data = admin_form_data(client.get(url))
    data["preview_links-TOTAL_FORMS"] = "1"
    data["preview_links-0-story"] = str(story.pk)
    expires = timezone.localtime() + timedelta(hours=48)
    data["preview_links-0-expires_at_0"] = expires.strftime("%Y-%m-%d")
    data["preview_links-0-expires_at_1"] = expires.strftime("%H:%M:%S")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:500]
    return story.preview_links.get()


def test_shared_preview_link_made_by_editor_works_for_anyone(client, editor_user):
    story = StoryFactory(headline="For the lawyer")
    link = make_link_through_admin(login(editor_user), story)
    assert link.created_by == editor_user
    response = client.get(link.get_absolute_url())
    assert_private_preview(response)
    assert "For the lawyer" in response.content.decode()
    assert "please do not share it further" in response.content.decode()


def test_shared_preview_link_defaults_to_48_hours(editor_user):
    link = PreviewLink.objects.create(story=StoryFactory(), created_by=editor_user)
    remaining = link.expires_at - timezone.now()
    assert timedelta(hours=47, minutes=59) < remaining <= timedelta(hours=48)


def assert_gone(response, reason):
    assert response.status_code == 410
    page = response.content.decode()
    assert "This preview link no longer works" in page
    assert reason in page
    assert BANNER not in page
    assert response["Cache-Control"] == "private, no-store"


def test_shared_preview_link_gone_when_expired_or_revoked_unknown_when_tampered(client):
    story = StoryFactory(headline="Secret headline")
    past = timezone.now() - timedelta(seconds=1)
    expired = PreviewLink.objects.create(story=story, expires_at=past)
    revoked = PreviewLink.objects.create(story=story, is_revoked=True)
    assert_gone(client.get(expired.get_absolute_url()), "It expired")
    assert_gone(client.get(revoked.get_absolute_url()), "withdrawn")
    assert "Secret headline" not in client.get(revoked.get_absolute_url()).content.decode()
    good = PreviewLink.objects.create(story=story)
    url = good.get_absolute_url()
    assert client.get(url).status_code == 200
    tampered = url.replace("/preview/", "/preview/x")
    assert client.get(tampered).status_code == 404
    other = StoryFactory()
    forged = reverse("stories:shared_preview", args=[f"[{good.pk},{other.pk}]"])
    assert client.get(forged).status_code == 404
    # The key alone (what the database holds) is no address without the site's secret.
    assert client.get(reverse("stories:shared_preview", args=[good.key])).status_code == 404


def test_shared_preview_token_names_no_id_and_is_unguessable():
    story = StoryFactory()
    links = [PreviewLink.objects.create(story=story) for _ in range(3)]
    tokens = [link.get_absolute_url().split("/")[-2] for link in links]
    assert len(set(tokens)) == 3
    for link, token in zip(links, tokens, strict=True):
        key, signature = token.split(".")
        assert key == link.key and len(key) == 32  # 24 random bytes
        # Nothing but random bytes and a signature: no JSON, no ids to read or change.
        assert len(base64.urlsafe_b64decode(key)) == 24
        assert len(base64.urlsafe_b64decode(signature + "=")) == 32
    assert PreviewLink.from_token(tokens[0]) == links[0]


def test_revoking_a_preview_link_is_final(client, editor_user):
    story = StoryFactory()
    staff = login(editor_user)
    link = make_link_through_admin(staff, story)
    url = reverse("admin:stories_story_change", args=[story.pk])
    browser_post(staff, url, {"preview_links-0-is_revoked": "on"})
    link.refresh_from_db()
    assert link.is_revoked
    page = staff.get(url).content.decode()
    assert (
        'name="preview_links-0-is_revoked"' in page
        and "disabled" in page.split('name="preview_links-0-is_revoked"')[1].split(">")[0]
    )
    # A hand-made post that unticks it changes nothing.
    response = browser_post(staff, url, {"preview_links-0-is_revoked": []})
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.is_revoked
    assert client.get(link.get_absolute_url()).status_code == 410
    link.is_revoked = False
    with pytest.raises(ValueError, match="stays revoked"):
        link.save()


def test_add_another_preview_link_with_the_default_expiry_makes_a_link(editor_user):
    story = StoryFactory()
    staff = login(editor_user)
    url = reverse("admin:stories_story_change", args=[story.pk])
    response = browser_post(staff, url, add_rows=["preview_links"])
    assert response.status_code == 302
    link = story.preview_links.get()
    remaining = link.expires_at - timezone.now()
    assert timedelta(hours=47) < remaining <= timedelta(hours=48)
    # Saving again with the row as shown makes no second link.
    assert browser_post(staff, url).status_code == 302
    assert story.preview_links.count() == 1


def test_preview_link_row_shows_the_absolute_address_with_a_copy_button(editor_user):
    story = StoryFactory()
    link = PreviewLink.objects.create(story=story)
    page = login(editor_user).get(reverse("admin:stories_story_change", args=[story.pk]))
    html = page.content.decode()
    address = f"http://testserver{link.get_absolute_url()}"
    assert f'<input type="text" readonly class="vTextField preview-link" value="{address}"' in html
    assert '<button type="button" class="button copy-link" hidden>Copy</button>' in html
    # With the CSP nonce the change form's scripts carry (for the body editor's import map).
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert f'<script src="/static/stories/copy-link.js" nonce="{nonce}"></script>' in html
    assert "onclick" not in html
    assert finders.find("stories/copy-link.js")


def test_shared_preview_link_is_read_only_and_for_one_story(client):
    story, other = StoryFactory(), StoryFactory()
    link = PreviewLink.objects.create(story=story)
    assert client.post(link.get_absolute_url()).status_code == 405
    assert client.get(other.get_absolute_url()).status_code == 404


def test_shared_preview_of_a_story_now_live_sends_to_its_page(client):
    story = StoryFactory(published=True)
    link = PreviewLink.objects.create(story=story)
    response = client.get(link.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"] == story.get_absolute_url()


def test_shared_preview_revoked_by_editor_in_admin_stops_working(client, editor_user):
    story = StoryFactory()
    staff = login(editor_user)
    link = make_link_through_admin(staff, story)
    url = reverse("admin:stories_story_change", args=[story.pk])
    data = admin_form_data(staff.get(url), **{"preview_links-0-is_revoked": "on"})
    assert staff.post(url, data).status_code == 302
    assert client.get(link.get_absolute_url()).status_code == 410


def test_reporter_cannot_make_shared_preview_links(reporter_user):
    story = StoryFactory(created_by=reporter_user)
    client = login(reporter_user)
    url = reverse("admin:stories_story_change", args=[story.pk])
    response = client.get(url)
    models = [inline.formset.model for inline in response.context["inline_admin_formsets"]]
    assert PreviewLink not in models
    data = admin_form_data(response)
    data.update(
        {
            "preview_links-TOTAL_FORMS": "1",
            "preview_links-INITIAL_FORMS": "0",
            "preview_links-0-story": str(story.pk),
        }
    )
    client.post(url, data)
    assert not PreviewLink.objects.exists()


def test_previews_are_never_served_from_the_cache_to_readers(client, editor_user, settings):
    settings.MIDDLEWARE = [
        "django.middleware.cache.UpdateCacheMiddleware",
        *settings.MIDDLEWARE,
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    story = StoryFactory()
    link = PreviewLink.objects.create(story=story)
    assert_private_preview(login(editor_user).get(story.get_absolute_url()))
    assert_private_preview(client.get(link.get_absolute_url()))
    assert client.get(story.get_absolute_url()).status_code == 404
    link.is_revoked = True
    link.save()
    assert client.get(link.get_absolute_url()).status_code == 410
