import django.core.validators
import django.db.models.deletion
import stories.images
import stories.text
from django.conf import settings
from django.db import migrations, models

from stories.images import CENTRE, remake_renditions
from stories.search_index import SQLITE_TRIGGERS


# On SQLite, taking a foreign key column out of a table, or putting a NOT NULL column back
# (what migrating backwards does), rebuilds the table, and the full-text search triggers on
# it and on the tables beside it would stop the rebuild. They are dropped first and made
# again after, from their definitions (migrations 0003 and 0006).
SEARCH_PAUSED = "WHEN NOT EXISTS (SELECT 1 FROM stories_search_pause)"


def drop_search_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def create_search_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        drop_search_triggers(apps, schema_editor)
        for name, (event, statements) in SQLITE_TRIGGERS.items():
            schema_editor.execute(
                f"CREATE TRIGGER {name} {event} {SEARCH_PAUSED} BEGIN {statements} END"
            )

# The new foreign keys take the columns their final fields will have ("lead_image_id",
# "photo_id"), so 0014 renames them in the state only: on SQLite, renaming a foreign key's
# column rebuilds the table, and that would drop the full-text search triggers on it.


def library_image(Image, cache, name, **described):
    """The library image for the stored file ``name``, made once for every row that has it
    (two stories may share a file: a restored revision). Its crops are made from the file;
    its uncropped renditions are the ones the row already had."""
    if name in cache:
        return cache[name]
    renditions = described.pop("renditions") or []
    image = Image(file=name, focal_x=CENTRE[0], focal_y=CENTRE[1], **described)
    lead = [{k: r[k] for k in ("name", "width", "height")} for r in renditions]
    focal = [image.focal_x, image.focal_y]
    try:
        size, shapes = remake_renditions(image.file, focal, ["card", "wide", "og"])
    except (FileNotFoundError, OSError):
        # The file is gone from storage: keep what the row had, so nothing else breaks.
        size, shapes = (None, None), {}
    image.width, image.height = size
    image.renditions = {"source": name, "focal": focal, "shapes": {"lead": lead, **shapes}}
    image.save()
    cache[name] = image
    return image


def into_library(apps, schema_editor):
    db = schema_editor.connection.alias
    Image = apps.get_model("stories", "Image")
    Story = apps.get_model("stories", "Story")
    Byline = apps.get_model("stories", "Byline")
    HistoricalStory = apps.get_model("stories", "HistoricalStory")
    cache = {}
    for story in Story.objects.using(db).exclude(lead_image="").order_by("pk"):
        story.library_lead_image = library_image(
            Image,
            cache,
            story.lead_image.name,
            # Alt text is required in the library; the story form asked for it too, but a
            # row written another way may lack it: its caption, else its headline, describes it.
            alt=(story.lead_image_alt or story.lead_image_caption or story.headline)[:300],
            caption=story.lead_image_caption,
            credit=story.lead_image_credit,
            renditions=story.lead_image_renditions,
            uploaded_by_id=story.created_by_id,
        )
        story.save(update_fields=["library_lead_image"])
    for byline in Byline.objects.using(db).exclude(photo="").order_by("pk"):
        byline.library_photo = library_image(
            Image,
            cache,
            byline.photo.name,
            alt=f"Photo of {byline.name}"[:300],
            caption="",
            credit="",
            renditions=byline.photo_renditions,
            uploaded_by_id=None,
        )
        byline.save(update_fields=["library_photo"])
    # Revisions point at the library image of the file they had, where there still is one;
    # a revision whose file was replaced (and deleted) since restores with no lead image.
    ids = {name: image.pk for name, image in cache.items()}
    for revision in HistoricalStory.objects.using(db).exclude(lead_image="").iterator():
        image_id = ids.get(revision.lead_image)
        if image_id is not None:
            HistoricalStory.objects.using(db).filter(pk=revision.pk).update(
                library_lead_image_id=image_id
            )


def out_of_library(apps, schema_editor):
    """Back to the columns: each story and byline gets its library image's file, text and
    uncropped renditions (the crops' files stay in storage, unused)."""
    db = schema_editor.connection.alias
    Story = apps.get_model("stories", "Story")
    Byline = apps.get_model("stories", "Byline")
    HistoricalStory = apps.get_model("stories", "HistoricalStory")

    def lead(image):
        made = (image.renditions or {}).get("shapes", {}).get("lead", [])
        return [{**r, "source": image.file.name} for r in made]

    for story in Story.objects.using(db).exclude(library_lead_image=None).select_related(
        "library_lead_image"
    ):
        image = story.library_lead_image
        story.lead_image = image.file.name
        story.lead_image_alt = image.alt
        story.lead_image_caption = image.caption
        story.lead_image_credit = image.credit
        story.lead_image_renditions = lead(image)
        story.save(
            update_fields=[
                "lead_image",
                "lead_image_alt",
                "lead_image_caption",
                "lead_image_credit",
                "lead_image_renditions",
            ]
        )
    for byline in Byline.objects.using(db).exclude(library_photo=None).select_related(
        "library_photo"
    ):
        byline.photo = byline.library_photo.file.name
        byline.photo_renditions = lead(byline.library_photo)
        byline.save(update_fields=["photo", "photo_renditions"])
    Image = apps.get_model("stories", "Image")
    names = dict(Image.objects.using(db).values_list("pk", "file"))
    for revision in HistoricalStory.objects.using(db).exclude(library_lead_image=None):
        HistoricalStory.objects.using(db).filter(pk=revision.pk).update(
            lead_image=names.get(revision.library_lead_image_id, "")
        )


class Migration(migrations.Migration):
    """The image library: images become records of their own (file, alt text, caption, credit,
    focal point, renditions for each shape), and the lead images and byline photos stored on
    stories and bylines move into it. 0014 removes the old columns."""

    dependencies = [
        ("stories", "0016_webhooks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Backwards, the search triggers come back last (see drop_search_triggers).
        migrations.RunPython(migrations.RunPython.noop, create_search_triggers),
        migrations.CreateModel(
            name="Image",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "file",
                    stories.images.CheckedImageField(
                        help_text=(
                            "JPEG, PNG, WebP or GIF. Resized and cropped copies are made once, "
                            "on save."
                        ),
                        upload_to=stories.images.library_image_name,
                        verbose_name="image",
                    ),
                ),
                (
                    "alt",
                    models.CharField(
                        help_text="What the image shows, for readers who cannot see it.",
                        max_length=300,
                        validators=[stories.text.single_line_text],
                        verbose_name="alt text",
                    ),
                ),
                (
                    "caption",
                    models.CharField(
                        blank=True, max_length=300, validators=[stories.text.single_line_text]
                    ),
                ),
                (
                    "credit",
                    models.CharField(
                        blank=True,
                        help_text="Photographer and agency, as printed.",
                        max_length=200,
                        validators=[stories.text.single_line_text],
                    ),
                ),
                (
                    "focal_x",
                    models.FloatField(
                        default=0.5,
                        help_text="0 is the left edge, 1 the right. Crops keep this point in view.",
                        validators=[
                            django.core.validators.MinValueValidator(0),
                            django.core.validators.MaxValueValidator(1),
                        ],
                        verbose_name="focal point (across)",
                    ),
                ),
                (
                    "focal_y",
                    models.FloatField(
                        default=0.5,
                        help_text="0 is the top edge, 1 the bottom.",
                        validators=[
                            django.core.validators.MinValueValidator(0),
                            django.core.validators.MaxValueValidator(1),
                        ],
                        verbose_name="focal point (down)",
                    ),
                ),
                ("width", models.PositiveIntegerField(editable=False, null=True)),
                ("height", models.PositiveIntegerField(editable=False, null=True)),
                ("renditions", models.JSONField(blank=True, default=dict, editable=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="uploaded_images",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "permissions": [("change_any_image", "Can change and delete anyone's images")],
                "indexes": [models.Index(fields=["file"], name="image_file_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("focal_x__gte", 0),
                            ("focal_x__lte", 1),
                            ("focal_y__gte", 0),
                            ("focal_y__lte", 1),
                        ),
                        name="image_focal_point_inside",
                        violation_error_message="The focal point must lie inside the image.",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="story",
            name="library_lead_image",
            field=models.ForeignKey(
                blank=True,
                db_column="lead_image_id",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lead_of_stories",
                to="stories.image",
            ),
        ),
        migrations.AddField(
            model_name="historicalstory",
            name="library_lead_image",
            field=models.ForeignKey(
                blank=True,
                db_column="lead_image_id",
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="stories.image",
            ),
        ),
        migrations.AddField(
            model_name="byline",
            name="library_photo",
            field=models.ForeignKey(
                blank=True,
                db_column="photo_id",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="photo_of_bylines",
                to="stories.image",
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_search_triggers),
        migrations.RunPython(into_library, out_of_library),
    ]
