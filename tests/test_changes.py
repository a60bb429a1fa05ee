"""Every write path starts a new content generation, bulk writes included (stories.changes)."""

import pytest
from django.apps import apps
from taggit.models import Tag

from stories.delivery.generation import current_generation
from stories.importer.bulk import insert_rows
from stories.models import (
    ApiKey,
    Byline,
    ContentQuerySet,
    Correction,
    DatabaseIdentity,
    EditingPresence,
    FrontPage,
    FrontPagePin,
    Image,
    ImportConflict,
    ImportRecord,
    ListingChange,
    ListingChangeNote,
    PreviewLink,
    ReturnNote,
    Section,
    SectionTopStory,
    SitePage,
    Story,
    StoryByline,
    StoryNote,
    StorySlugRedirect,
    TaggedStory,
    TagSlugRedirect,
    WebhookDelivery,
    WebhookStoryState,
    WebhookSubscriber,
    WebhookWorker,
    WorkingCopy,
)

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

# What readers see: a write to any of these must start a new generation.
# The site's pages (About, Contact) are linked from every page's footer.
CONTENT_MODELS = [
    Section,
    Byline,
    Story,
    StoryByline,
    TaggedStory,
    Correction,
    Image,
    FrontPagePin,
    SectionTopStory,
    SitePage,
]
# What they do not: the importer's memory, redirects (written with the story they follow),
# preview links (never cached), the database identity, revisions, the desk's return notes
# and import conflicts (staff only), working copies and presence (the editor's, never
# shown to readers), API keys, webhooks (the worker's), editorial notes (staff only:
# adding one must not empty the reader caches), the front page's row (the desk's screen;
# readers' pages read its pins, which are content), the listings' latest changes (worked
# out from content on write: stories.listings).
OTHER_MODELS = [
    ImportRecord,
    StorySlugRedirect,
    PreviewLink,
    TagSlugRedirect,
    DatabaseIdentity,
    Story.history.model,
    ReturnNote,
    ImportConflict,
    WorkingCopy,
    EditingPresence,
    ApiKey,
    WebhookSubscriber,
    WebhookDelivery,
    WebhookStoryState,
    WebhookWorker,
    StoryNote,
    FrontPage,
    ListingChange,
    ListingChangeNote,
]


def test_every_model_is_content_or_said_not_to_be():
    # A new model must be placed: in CONTENT_MODELS (and given a ContentQuerySet), or not.
    assert set(apps.get_app_config("stories").get_models()) == {*CONTENT_MODELS, *OTHER_MODELS}


@pytest.mark.parametrize("model", CONTENT_MODELS, ids=lambda model: model.__name__)
def test_content_models_use_the_announcing_queryset(model):
    assert isinstance(model._default_manager.all(), ContentQuerySet)


def new_rows(model, count=2):
    """Unsaved rows of ``model``, and a field to change with the value to change it to."""
    if model is Section:
        rows = [Section(name=f"Desk {n}", slug=f"desk-{n}") for n in range(count)]
        return rows, "name", "Renamed"
    if model is Byline:
        rows = [Byline(name=f"Writer {n}", slug=f"writer-{n}") for n in range(count)]
        return rows, "name", "Renamed"
    if model is Image:
        rows = [Image(file=f"images/{n}.jpg", alt=f"Picture {n}") for n in range(count)]
        return rows, "alt", "Renamed"
    if model is SitePage:
        rows = [SitePage(title=f"Page {n}", slug=f"page-{n}") for n in range(count)]
        return rows, "title", "Renamed"
    section = SectionFactory()
    if model is Story:
        rows = [
            Story(headline=f"Story {n}", slug=f"story-{n}", body="Text.", section=section)
            for n in range(count)
        ]
        return rows, "headline", "Renamed"
    stories = StoryFactory.create_batch(count, section=section)
    if model is StoryByline:
        byline = BylineFactory()
        return [StoryByline(story=story, byline=byline) for story in stories], "position", 3
    if model is TaggedStory:
        tag = Tag.objects.create(name="Before")
        rows = [TaggedStory(content_object=story, tag=tag) for story in stories]
        return rows, "tag", Tag.objects.create(name="After")
    if model is Correction:
        return [Correction(story=story, text="A fix.") for story in stories], "text", "Fixed."
    if model is FrontPagePin:
        front_page = FrontPage.load()
        return (
            [FrontPagePin(front_page=front_page, story=story) for story in stories],
            "position",
            4,
        )
    if model is SectionTopStory:
        front_page = FrontPage.load()
        rows = [
            SectionTopStory(front_page=front_page, section=SectionFactory(), story=story)
            for story in stories
        ]
        return rows, "story", stories[0]
    raise AssertionError(f"no rows for {model}")


def bulk_create(model, rows, field, value):
    model.objects.bulk_create(rows)


def bulk_update(model, rows, field, value):
    for row in rows:
        setattr(row, field, value)
    model.objects.bulk_update(rows, [field])


def update(model, rows, field, value):
    model.objects.filter(pk__in=[row.pk for row in rows]).update(**{field: value})


def delete(model, rows, field, value):
    model.objects.filter(pk__in=[row.pk for row in rows]).delete()


@pytest.mark.parametrize("model", CONTENT_MODELS, ids=lambda model: model.__name__)
@pytest.mark.parametrize("write", [bulk_create, bulk_update, update, delete])
def test_every_bulk_write_of_content_starts_a_new_generation(model, write):
    rows, field, value = new_rows(model)
    if write is not bulk_create:
        model.objects.bulk_create(rows)
    before = current_generation()
    assert current_generation() == before  # nothing changed yet
    write(model, rows, field, value)
    assert current_generation() != before


def test_bulk_writes_through_a_related_manager_start_a_new_generation():
    story = StoryFactory(bylines=[BylineFactory(), BylineFactory()])
    before = current_generation()
    story.story_bylines.all().delete()
    assert current_generation() != before


def test_importer_row_inserts_start_a_new_generation():
    story, byline = StoryFactory(), BylineFactory()
    before = current_generation()
    insert_rows(StoryByline, [{"story_id": story.pk, "byline_id": byline.pk, "position": 0}])
    assert current_generation() != before


def test_bulk_writes_that_change_nothing_keep_the_generation():
    StoryFactory()
    before = current_generation()
    Story.objects.filter(pk=-1).update(headline="Nobody")
    Story.objects.filter(pk=-1).delete()
    Story.objects.bulk_create([])
    assert current_generation() == before
