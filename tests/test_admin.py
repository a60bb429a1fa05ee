"""The admin as editors use it: logged in, with real permissions."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from stories.models import Story

from .admin_forms import admin_form_data
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


def test_changelist_search_finds_words_as_they_are_written(client, editor):
    wanted = StoryFactory(headline="Straßenbahn strike in İstanbul")
    StoryFactory(headline="Other story")
    url = reverse("admin:stories_story_changelist")
    for query in ("Straßenbahn", "İstanbul", "istanbul"):
        response = client.get(url, {"q": query})
        assert list(response.context["cl"].result_list) == [wanted], query


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
    add = reverse("admin:stories_story_add")
    response = client.post(
        add,
        admin_form_data(
            client.get(add),
            headline="Council <b>votes</b>",
            body="<p>One.</p>\r\n<p>Two.</p>",
            section=section.pk,
            new_tags="China, Local",
            **{
                "story_bylines-TOTAL_FORMS": "2",
                "story_bylines-0-byline": first.pk,
                "story_bylines-0-position": "1",
                "story_bylines-1-byline": second.pk,
                "story_bylines-1-position": "0",
            },
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    story = Story.objects.for_listing().get()
    assert story.slug == "council-bvotesb"
    assert story.created_by == editor
    assert story.paragraphs == ["One.", "Two."]
    assert [byline.name for byline in story.ordered_bylines] == ["Amy", "Zed"]
    assert sorted(tag.name for tag in story.tags.all()) == ["China", "Local"]


def test_new_tags_are_separated_by_commas_only(client, editor):
    """As the field's help says: "South Sudan" typed alone is one tag (taggit's own parser
    splits a list with no comma at its spaces)."""
    story = StoryFactory()
    url = reverse("admin:stories_story_change", args=[story.pk])
    response = client.post(url, admin_form_data(client.get(url), new_tags="South Sudan"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [tag.name for tag in story.tags.all()] == ["South Sudan"]


def test_change_form_renders_with_slug_prefill_and_byline_inline(client, editor):
    story = StoryFactory(bylines=[BylineFactory()])
    response = client.get(reverse("admin:stories_story_change", args=[story.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "prepopulated_fields" in content or "data-prepopulated-fields" in content
    assert 'name="story_bylines-0-byline"' in content


def test_publishing_with_no_date_means_now(client, editor):
    # Issue 13: "Published" with no date publishes now, as the Publish now button does.
    section = SectionFactory()
    add = reverse("admin:stories_story_add")
    before = timezone.now()
    response = client.post(
        add,
        admin_form_data(
            client.get(add),
            headline="No date",
            body="Body.",
            section=section.pk,
            status="published",
            published_at_0="",
            published_at_1="",
        ),
    )
    assert response.status_code == 302
    story = Story.objects.get()
    assert story.is_live()
    assert before <= story.published_at <= timezone.now()


@pytest.mark.parametrize("model", ["section", "byline"])
def test_sections_and_bylines_are_editable(client, editor, model):
    SectionFactory(name="World")
    BylineFactory(name="Ana Lima")
    response = client.get(reverse(f"admin:stories_{model}_changelist"))
    assert response.status_code == 200
    assert ("World" if model == "section" else "Ana Lima") in response.content.decode()


def add_many_stories(count, section, bylines, tags):
    """Hundreds of stories, written in bulk so the test stays quick."""
    from stories.models import StoryByline, TaggedStory

    stories = Story.objects.bulk_create(
        Story(headline=f"Bulk {n}", slug=f"bulk-{n}", body="Text.", section=section)
        for n in range(count)
    )
    StoryByline.objects.bulk_create(
        StoryByline(story=story, byline=byline, position=position)
        for story in stories
        for position, byline in enumerate(bylines)
    )
    TaggedStory.objects.bulk_create(
        TaggedStory(content_object=story, tag=tag) for story in stories for tag in tags
    )


@pytest.mark.parametrize("role", ["Editor", "Reporter"])
def test_changelist_and_change_form_query_counts_are_flat_with_hundreds_of_stories(
    client, make_staff, django_assert_num_queries, role
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(make_staff("someone", role))
    section = SectionFactory()
    bylines = [BylineFactory() for _ in range(2)]
    story = StoryFactory(section=section, bylines=bylines, tags=["China", "Peru"])
    tags = list(story.tags.all())
    pages = [
        reverse("admin:stories_story_changelist"),
        reverse("admin:stories_story_change", args=[story.pk]),
    ]
    counts = []
    for url in pages:
        assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        counts.append(len(few.captured_queries))
    add_many_stories(300, section, bylines, tags)
    for url, expected in zip(pages, counts, strict=True):
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200


def test_changelist_filters_scheduled_and_byline(client, editor):
    byline = BylineFactory(name="Ana Lima")
    scheduled = StoryFactory(scheduled=True, bylines=[byline])
    StoryFactory(published=True)
    StoryFactory()
    url = reverse("admin:stories_story_changelist")
    response = client.get(url + "?publication=scheduled")
    assert list(response.context["cl"].result_list) == [scheduled]
    response = client.get(url + f"?bylines__id__exact={byline.pk}")
    assert list(response.context["cl"].result_list) == [scheduled]
    response = client.get(url + "?publication=live")
    assert [s.is_live() for s in response.context["cl"].result_list] == [True]


def test_tags_autocomplete_and_counts(client, editor):
    StoryFactory(tags=["China"])
    StoryFactory(tags=["China", "Chile"])
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "stories", "model_name": "story", "field_name": "tags", "term": "Chi"},
    )
    assert sorted(r["text"] for r in response.json()["results"]) == ["Chile", "China"]
    tag_list = client.get(reverse("admin:taggit_tag_changelist"))
    counts = {tag.name: tag.story_count for tag in tag_list.context["cl"].result_list}
    assert counts == {"Chile": 1, "China": 2}


def test_byline_autocomplete_in_the_ordered_inline(client, editor):
    BylineFactory(name="Ana Lima")
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "stories",
            "model_name": "storybyline",
            "field_name": "byline",
            "term": "Ana",
        },
    )
    assert [r["text"] for r in response.json()["results"]] == ["Ana Lima"]


def test_section_and_byline_lists_count_stories(client, editor):
    section = SectionFactory(name="World")
    byline = BylineFactory(name="Ana Lima")
    StoryFactory(section=section, bylines=[byline])
    StoryFactory(section=section)
    sections = client.get(reverse("admin:stories_section_changelist")).context["cl"].result_list
    assert [(s.name, s.story_count) for s in sections] == [("World", 2)]
    bylines = client.get(reverse("admin:stories_byline_changelist")).context["cl"].result_list
    assert [(b.name, b.story_count) for b in bylines] == [("Ana Lima", 1)]


def test_tags_posted_as_names_are_a_form_error_not_a_crash(client, editor):
    story = StoryFactory()
    url = reverse("admin:stories_story_change", args=[story.pk])
    response = client.post(url, admin_form_data(client.get(url), tags=["China"]))
    assert response.status_code == 200
    assert "tags" in response.context["adminform"].form.errors
