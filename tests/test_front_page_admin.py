"""The desk's "Front page" screen (stories/editorial/front_page.py), used as an editor and
refused to a reporter."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.models import FrontPage, FrontPagePin, SectionTopStory

from .admin_forms import admin_form_data
from .factories import SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

SCREEN = "/admin/stories/frontpage/1/change/"


def live_story(**fields):
    return StoryFactory(
        status="published", published_at=timezone.now() - timedelta(hours=2), **fields
    )


def lead_of(client, url="/"):
    html = client.get(url).content.decode()
    lead = html.split('<section class="lead"', 1)[1].split("</section>", 1)[0]
    return lead


def test_editor_finds_the_front_page_screen_from_the_desk(client, editor_user):
    client.force_login(editor_user)
    assert (
        'href="/admin/stories/frontpage/">Front page</a>' in client.get("/admin/").content.decode()
    )
    response = client.get(reverse("admin:stories_frontpage_changelist"))
    assert response.status_code == 302 and response["Location"] == SCREEN
    page = client.get(SCREEN)
    assert page.status_code == 200
    # Home's stories and the sections' top stories on the one screen.
    assert [inline.formset.prefix for inline in page.context["inline_admin_formsets"]] == [
        "pins",
        "section_top_stories",
    ]


def test_editor_pins_a_lead_and_readers_see_it_at_once(client, editor_user, page_cache):
    world = SectionFactory(slug="world", name="World")
    live_story(headline="The newest story", section=world)
    chosen = live_story(headline="The story editors chose", section=world)
    chosen.published_at = timezone.now() - timedelta(days=2)
    chosen.save()
    client.get("/")  # cached for readers
    assert "The newest story" in lead_of(client)
    client.force_login(editor_user)
    form = client.get(SCREEN)
    response = client.post(
        SCREEN,
        admin_form_data(
            form,
            **{
                "pins-0-story": chosen.pk,
                "pins-0-position": "1",
                "section_top_stories-0-section": world.pk,
                "section_top_stories-0-story": chosen.pk,
            },
        ),
    )
    assert response.status_code == 302, response.context and [
        f.errors for f in response.context["inline_admin_formsets"][0].formset.forms
    ]
    assert FrontPagePin.objects.get().story == chosen
    assert SectionTopStory.objects.get().story == chosen
    front_page = FrontPage.objects.get()
    assert front_page.updated_by == editor_user
    client.logout()
    assert "The story editors chose" in lead_of(client)
    assert "The story editors chose" in lead_of(client, "/sections/world/")
    # The screen says what readers see now.
    client.force_login(editor_user)
    screen = client.get(SCREEN).content.decode()
    assert "Lead: The story editors chose <span class='quiet'>(pinned)</span>" in screen
    assert "The newest story <span class='quiet'>(newest)</span>" in screen


@pytest.mark.parametrize("state", ["draft", "review", "unpublished"])
def test_editor_cannot_pin_a_story_readers_may_not_see(client, editor_user, state):
    hidden = StoryFactory(status=state, published_at=timezone.now())
    client.force_login(editor_user)
    response = client.post(
        SCREEN, admin_form_data(client.get(SCREEN), **{"pins-0-story": hidden.pk})
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not FrontPagePin.objects.exists()


def test_a_pinned_story_unpublished_since_stays_pinned_while_the_screen_is_saved(
    client, editor_user
):
    world = SectionFactory(slug="world")
    pulled = live_story(headline="Pulled after pinning", section=world)
    other = live_story(headline="Pinned next", section=world)
    FrontPage.load().pins.create(story=pulled, position=1)
    pulled.status = "unpublished"
    pulled.save()
    client.force_login(editor_user)
    form = client.get(SCREEN)
    screen = form.content.decode()
    # The editor still sees which story the row holds, and that readers do not.
    assert "Pulled after pinning" in screen and "<strong>Not published</strong>" in screen
    # The extra row is numbered after the rows there.
    assert 'name="pins-1-position" value="2"' in screen
    response = client.post(SCREEN, admin_form_data(form, **{"pins-1-story": other.pk}))
    assert response.status_code == 302
    assert [pin.story for pin in FrontPagePin.objects.order_by("position")] == [pulled, other]
    client.logout()
    assert "Pinned next" in lead_of(client)


def test_editor_may_pin_a_scheduled_story_and_sees_when_it_shows(client, editor_user):
    scheduled = StoryFactory(scheduled=True, headline="Embargoed until tomorrow")
    client.force_login(editor_user)
    response = client.post(
        SCREEN,
        admin_form_data(client.get(SCREEN), **{"pins-0-story": scheduled.pk}),
    )
    assert response.status_code == 302
    screen = client.get(SCREEN).content.decode()
    assert "<strong>Scheduled</strong>: shown from" in screen
    assert "Embargoed until tomorrow" not in client.get("/").content.decode()


def test_a_section_top_story_from_another_section_is_refused(client, editor_user):
    world, sport = SectionFactory(name="World"), SectionFactory(name="Sport")
    story = live_story(headline="Cup final", section=sport)
    client.force_login(editor_user)
    response = client.post(
        SCREEN,
        admin_form_data(
            client.get(SCREEN),
            **{
                "section_top_stories-0-section": world.pk,
                "section_top_stories-0-story": story.pk,
            },
        ),
    )
    assert response.status_code == 200
    assert "“Cup final” is in Sport, not World." in response.content.decode()
    assert not SectionTopStory.objects.exists()


def test_story_search_offers_only_live_and_scheduled_stories(client, editor_user):
    live = live_story(headline="Harbour live")
    scheduled = StoryFactory(scheduled=True, headline="Harbour scheduled")
    for state in ("draft", "review", "unpublished"):
        StoryFactory(status=state, headline=f"Harbour {state}")
    client.force_login(editor_user)
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "stories",
            "model_name": "frontpagepin",
            "field_name": "story",
            "term": "Harbour",
        },
    )
    assert sorted(r["id"] for r in response.json()["results"]) == sorted(
        [str(live.pk), str(scheduled.pk)]
    )


def test_reporters_cannot_curate_by_any_path(client, editor_user, reporter_user):
    story = live_story(headline="A reporter's favourite")
    client.force_login(editor_user)
    form = admin_form_data(client.get(SCREEN), **{"pins-0-story": story.pk})
    client.force_login(reporter_user)
    assert client.get(reverse("admin:stories_frontpage_changelist")).status_code == 403
    assert client.get(SCREEN).status_code == 403
    # The editor's form, posted with the reporter's session: refused, nothing pinned.
    assert client.post(SCREEN, form).status_code == 403
    assert not FrontPagePin.objects.exists()
    # Nor does the desk, or its list of models, offer it.
    assert "Front page" not in client.get(reverse("admin:models")).content.decode()
    assert "/admin/stories/frontpage/" not in client.get("/admin/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_curation_is_saved_outside_a_test_transaction(client, editor_user):
    """As on a server, in autocommit (PostgreSQL: DATABASE_URL)."""
    FrontPage.objects.all().delete()  # as after a flush: the screen makes its row again
    first, second = live_story(headline="First pick"), live_story(headline="Second pick")
    client.force_login(editor_user)
    response = client.get(reverse("admin:stories_frontpage_changelist"), follow=True)
    data = admin_form_data(
        response,
        **{
            "pins-TOTAL_FORMS": "2",
            "pins-0-story": second.pk,
            "pins-0-position": "1",
            "pins-1-story": first.pk,
            "pins-1-position": "2",
        },
    )
    assert client.post(SCREEN, data).status_code == 302
    assert [pin.story for pin in FrontPagePin.objects.all()] == [second, first]
    # Swapping by the order numbers, as editors do.
    data = admin_form_data(client.get(SCREEN), **{"pins-0-position": "2", "pins-1-position": "1"})
    assert client.post(SCREEN, data).status_code == 302
    assert [pin.story for pin in FrontPagePin.objects.all()] == [first, second]
    client.logout()
    assert "First pick" in lead_of(client)


def test_the_screen_refuses_more_home_pins_than_places(client, editor_user, settings):
    """A form posted by hand with a pin past the lead and the top stories is refused, not
    saved with the extra pins hidden until an earlier one stops being live."""
    places = 1 + settings.FRONT_PAGE_TOP_STORIES
    stories = [live_story(headline=f"Pick {number}") for number in range(places + 2)]
    client.force_login(editor_user)
    pins = {"pins-TOTAL_FORMS": str(len(stories))}
    for number, story in enumerate(stories):
        pins |= {f"pins-{number}-story": story.pk, f"pins-{number}-position": str(number + 1)}
    data = admin_form_data(client.get(SCREEN), **pins)
    response = client.post(SCREEN, data)
    assert response.status_code == 200
    assert f"Please submit at most {places} forms." in response.content.decode()
    assert not FrontPagePin.objects.exists()
    # As many as there are places is saved.
    data["pins-TOTAL_FORMS"] = str(places)
    assert client.post(SCREEN, data).status_code == 302
    assert FrontPagePin.objects.count() == places
