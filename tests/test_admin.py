"""The admin as editors use it: logged in, with real permissions."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from stories.models import Story

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = User.objects.create_user("desk", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["stories", "taggit"],
        )
    )
    client.force_login(user)
    return user


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("admin:stories_story_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_story_permissions_is_refused(client):
    user = User.objects.create_user("intern", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:stories_story_changelist")).status_code == 403


def test_changelist_shows_headline_section_status_date_and_bylines(client, editor):
    byline = BylineFactory(name="William Roberts")
    StoryFactory(headline="Kim arrives", published=True, bylines=[byline])
    response = client.get(reverse("admin:stories_story_changelist"))
    content = response.content.decode()
    assert response.status_code == 200
    for column in ("Headline", "Section", "Status", "Published at", "Bylines"):
        assert column in content
    assert "Kim arrives" in content
    assert "William Roberts" in content


def test_changelist_query_count_is_flat(client, editor, django_assert_num_queries):
    section = SectionFactory()
    bylines = [BylineFactory() for _ in range(3)]
    StoryFactory(section=section, bylines=bylines[:1], tags=["China"])
    url = reverse("admin:stories_story_changelist")
    response = client.get(url)
    assert response.status_code == 200
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(60):
        StoryFactory(section=SectionFactory(), bylines=bylines, tags=["China", "Peru"])
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "query",
    ["q=Fujian", "q=Roberts", "status__exact=published", "tags__id__exact=TAG"],
)
def test_changelist_search_and_filters(client, editor, query):
    byline = BylineFactory(name="William Roberts")
    wanted = StoryFactory(
        headline="Beijing sets Fujian", published=True, bylines=[byline], tags=["China"]
    )
    StoryFactory(headline="Other story", tags=["Peru"])
    if "TAG" in query:
        query = query.replace("TAG", str(wanted.tags.get().pk))
    response = client.get(reverse("admin:stories_story_changelist") + "?" + query)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]


def test_section_filter(client, editor):
    world = SectionFactory(slug="world")
    wanted = StoryFactory(section=world)
    StoryFactory()
    response = client.get(
        reverse("admin:stories_story_changelist") + f"?section__id__exact={world.pk}"
    )
    assert list(response.context["cl"].result_list) == [wanted]


def test_editor_adds_story_with_ordered_bylines(client, editor):
    section = SectionFactory()
    first, second = BylineFactory(name="Zed"), BylineFactory(name="Amy")
    response = client.post(
        reverse("admin:stories_story_add"),
        {
            "headline": "Council <b>votes</b>",
            "slug": "",
            "deck": "",
            "body": "One.\r\n\r\nTwo.",
            "section": section.pk,
            "tags": "China, Local",
            "status": "draft",
            "published_at_0": "",
            "published_at_1": "",
            "story_bylines-TOTAL_FORMS": "2",
            "story_bylines-INITIAL_FORMS": "0",
            "story_bylines-0-byline": first.pk,
            "story_bylines-0-position": "1",
            "story_bylines-1-byline": second.pk,
            "story_bylines-1-position": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    story = Story.objects.for_listing().get()
    assert story.slug == "council-bvotesb"
    assert story.created_by == editor
    assert story.paragraphs == ["One.", "Two."]
    assert [byline.name for byline in story.ordered_bylines] == ["Amy", "Zed"]
    assert sorted(tag.name for tag in story.tags.all()) == ["China", "Local"]


def test_change_form_renders_with_slug_prefill_and_byline_inline(client, editor):
    story = StoryFactory(bylines=[BylineFactory()])
    response = client.get(reverse("admin:stories_story_change", args=[story.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "prepopulated_fields" in content or "data-prepopulated-fields" in content
    assert 'name="story_bylines-0-byline"' in content


def test_publishing_requires_a_date(client, editor):
    section = SectionFactory()
    response = client.post(
        reverse("admin:stories_story_add"),
        {
            "headline": "No date",
            "slug": "",
            "deck": "",
            "body": "Body.",
            "section": section.pk,
            "tags": "",
            "status": "published",
            "published_at_0": "",
            "published_at_1": "",
            "story_bylines-TOTAL_FORMS": "0",
            "story_bylines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "published story needs a publication date" in response.content.decode()
    assert not Story.objects.exists()


@pytest.mark.parametrize("model", ["section", "byline"])
def test_sections_and_bylines_are_editable(client, editor, model):
    SectionFactory(name="World")
    BylineFactory(name="Ana Lima")
    response = client.get(reverse(f"admin:stories_{model}_changelist"))
    assert response.status_code == 200
    assert ("World" if model == "section" else "Ana Lima") in response.content.decode()
