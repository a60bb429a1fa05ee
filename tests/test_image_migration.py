"""Migrations 0017 and 0018: lead images and byline photos stored on their rows move into the
image library, with real files in a temporary MEDIA_ROOT, revisions included, and back."""

from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from PIL import Image as PillowImage

from stories.images import make_renditions

BEFORE = [("stories", "0016_webhooks")]
AFTER = [("stories", "0018_image_library_columns")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def jpeg(size, colour):
    buffer = BytesIO()
    PillowImage.new("RGB", size, colour).save(buffer, "JPEG")
    return ContentFile(buffer.getvalue())


def stored_with_renditions(field_file, name, content):
    """Store a file as the old upload code did: the original, then its renditions."""
    field_file.save(name, content, save=False)
    return [{**r, "source": field_file.name} for r in make_renditions(field_file)]


@pytest.fixture
def old_schema(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    # Leave the database as every other test expects it.
    call_command("migrate", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_lead_images_and_byline_photos_move_into_the_library_and_back(old_schema, media_root):
    apps = old_schema
    Section = apps.get_model("stories", "Section")
    Story = apps.get_model("stories", "Story")
    Byline = apps.get_model("stories", "Byline")
    HistoricalStory = apps.get_model("stories", "HistoricalStory")
    section = Section.objects.create(name="World", slug="world")
    now = timezone.now()

    story = Story(
        headline="Harbour reopens",
        slug="harbour-reopens",
        body="Text.",
        section=section,
        status="published",
        published_at=now,
        lead_image_alt="Boats in the harbour",
        lead_image_caption="The harbour at dawn.",
        lead_image_credit="Ana Lima",
    )
    story.lead_image_renditions = stored_with_renditions(
        story.lead_image, "stories/2026/01/" + "a" * 32 + ".jpg", jpeg((1600, 900), "navy")
    )
    story.save()
    # A second story with the same file (a copy of a revision, say): one library image.
    twin = Story.objects.create(
        headline="Harbour, again",
        slug="harbour-again",
        body="Text.",
        section=section,
        lead_image=story.lead_image.name,
        lead_image_alt="",  # written without the form: the caption describes it
        lead_image_caption="Boats again.",
        lead_image_renditions=story.lead_image_renditions,
    )
    plain = Story.objects.create(headline="No image", slug="no-image", body="T.", section=section)
    byline = Byline(name="Ana Lima", slug="ana-lima")
    byline.photo_renditions = stored_with_renditions(
        byline.photo, "bylines/2026/01/" + "b" * 32 + ".png", jpeg((300, 300), "teal")
    )
    byline.save()

    def revision(of, image_name):
        return HistoricalStory.objects.create(
            id=of.pk,
            headline=of.headline,
            slug=of.slug,
            body=of.body,
            section_id=section.pk,
            status=of.status,
            lead_image=image_name,
            lead_image_alt="Then",
            created_at=now,
            updated_at=now,
            history_date=now,
            history_type="~",
        )

    current = revision(story, story.lead_image.name)
    replaced = revision(story, "stories/2025/12/" + "c" * 32 + ".jpg")  # deleted long ago
    old_lead = [{k: r[k] for k in ("name", "width", "height")} for r in story.lead_image_renditions]

    apps = migrate(AFTER)
    Image = apps.get_model("stories", "Image")
    Story = apps.get_model("stories", "Story")
    Byline = apps.get_model("stories", "Byline")
    HistoricalStory = apps.get_model("stories", "HistoricalStory")
    assert Image.objects.count() == 2
    lead = Image.objects.get(file=story.lead_image.name)
    assert (lead.alt, lead.caption, lead.credit) == (
        "Boats in the harbour",
        "The harbour at dawn.",
        "Ana Lima",
    )
    assert (lead.width, lead.height, lead.focal_x, lead.focal_y) == (1600, 900, 0.5, 0.5)
    # The uncropped renditions are the files it had; the crops are made from the original.
    assert lead.renditions["shapes"]["lead"] == old_lead
    for shape in ("card", "wide", "og"):
        made = lead.renditions["shapes"][shape]
        assert made and all((media_root / r["name"]).exists() for r in made)
    assert Story.objects.get(pk=story.pk).lead_image_id == lead.pk
    assert Story.objects.get(pk=twin.pk).lead_image_id == lead.pk
    assert Story.objects.get(pk=plain.pk).lead_image_id is None
    photo = Byline.objects.get(pk=byline.pk).photo
    assert photo.file.name == byline.photo.name and photo.alt == "Photo of Ana Lima"
    assert HistoricalStory.objects.get(pk=current.pk).lead_image_id == lead.pk
    assert HistoricalStory.objects.get(pk=replaced.pk).lead_image_id is None
    assert search_triggers() == expected_triggers()  # the search index still follows writes

    # The real models read the migrated rows: the page's image and a revision's.
    call_command("migrate", verbosity=0)
    from stories.models import Story as LiveStory

    migrated = LiveStory.objects.get(pk=story.pk)
    assert len(migrated.responsive_lead_image.srcset.split(", ")) == len(old_lead)
    assert migrated.lead_image.rendition("og")["width"] == 1200
    assert migrated.history.get(pk=current.pk).instance.lead_image == migrated.lead_image

    apps = migrate(BEFORE)
    Story = apps.get_model("stories", "Story")
    Byline = apps.get_model("stories", "Byline")
    HistoricalStory = apps.get_model("stories", "HistoricalStory")
    back = Story.objects.get(pk=story.pk)
    assert back.lead_image.name == story.lead_image.name
    assert (back.lead_image_alt, back.lead_image_caption, back.lead_image_credit) == (
        "Boats in the harbour",
        "The harbour at dawn.",
        "Ana Lima",
    )
    assert back.lead_image_renditions == story.lead_image_renditions
    assert Story.objects.get(pk=plain.pk).lead_image == ""
    back_byline = Byline.objects.get(pk=byline.pk)
    assert back_byline.photo.name == byline.photo.name
    assert back_byline.photo_renditions == byline.photo_renditions
    assert HistoricalStory.objects.get(pk=current.pk).lead_image == story.lead_image.name
    assert search_triggers() == expected_triggers()


def search_triggers():
    if connection.vendor != "sqlite":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {
            name
            for (name,) in cursor.fetchall()
            if name.endswith(("_fts_insert", "_fts_update", "_fts_delete", "_fts_rename"))
        }


def expected_triggers():
    from stories.search_index import SQLITE_TRIGGERS

    return set(SQLITE_TRIGGERS) if connection.vendor == "sqlite" else set()
