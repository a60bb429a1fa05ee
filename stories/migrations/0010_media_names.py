import stories.images
from django.db import migrations, models


class Migration(migrations.Migration):
    """Uploads get unguessable names, and the media view finds a file's row by its name.

    Files already stored keep their names (the rows still point at them). The new upload_to
    changes no column, so it is recorded in the state only: on SQLite, AlterField would
    rebuild the tables that the full-text search triggers name.
    """

    dependencies = [
        ("stories", "0009_text_validators"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="byline",
                    name="photo",
                    field=stories.images.CheckedImageField(
                        blank=True,
                        help_text="A head shot: JPEG, PNG, WebP or GIF.",
                        upload_to=stories.images.byline_photo_name,
                    ),
                ),
                migrations.AlterField(
                    model_name="story",
                    name="lead_image",
                    field=stories.images.CheckedImageField(
                        blank=True,
                        help_text=(
                            "JPEG, PNG, WebP or GIF. Resized copies are made once, when it is saved."
                        ),
                        upload_to=stories.images.story_image_name,
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="byline",
            index=models.Index(
                fields=["photo"], name="byline_photo_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                fields=["lead_image"], name="story_lead_image_idx"
            ),
        ),
    ]
