import django.db.models.deletion
from django.db import migrations, models

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


def renamed_in_state(model_name, old_name, new_name, field):
    """``old_name`` becomes ``new_name`` in the state only: its column already has the final
    name (0017 gave it), so there is nothing to rename in the database."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.RenameField(model_name=model_name, old_name=old_name, new_name=new_name),
            migrations.AlterField(model_name=model_name, name=new_name, field=field),
        ]
    )


class Migration(migrations.Migration):
    """The image library, second step: the old image columns go (0017 moved their content into
    the library), and the library's foreign keys take their names."""

    dependencies = [
        ("stories", "0017_image_library"),
    ]

    operations = [
        # Backwards, the search triggers come back last (see drop_search_triggers).
        migrations.RunPython(migrations.RunPython.noop, create_search_triggers),
        migrations.RemoveIndex(model_name="byline", name="byline_photo_idx"),
        migrations.RemoveIndex(model_name="story", name="story_lead_image_idx"),
        migrations.RemoveField(model_name="byline", name="photo"),
        migrations.RemoveField(model_name="byline", name="photo_renditions"),
        migrations.RemoveField(model_name="story", name="lead_image"),
        migrations.RemoveField(model_name="story", name="lead_image_alt"),
        migrations.RemoveField(model_name="story", name="lead_image_caption"),
        migrations.RemoveField(model_name="story", name="lead_image_credit"),
        migrations.RemoveField(model_name="story", name="lead_image_renditions"),
        migrations.RemoveField(model_name="historicalstory", name="lead_image"),
        migrations.RemoveField(model_name="historicalstory", name="lead_image_alt"),
        migrations.RemoveField(model_name="historicalstory", name="lead_image_caption"),
        migrations.RemoveField(model_name="historicalstory", name="lead_image_credit"),
        migrations.RemoveField(model_name="historicalstory", name="lead_image_renditions"),
        migrations.RunPython(migrations.RunPython.noop, drop_search_triggers),
        renamed_in_state(
            "story",
            "library_lead_image",
            "lead_image",
            models.ForeignKey(
                blank=True,
                help_text="From the image library: its alt text, caption and credit come with it.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lead_of_stories",
                to="stories.image",
            ),
        ),
        renamed_in_state(
            "historicalstory",
            "library_lead_image",
            "lead_image",
            models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="From the image library: its alt text, caption and credit come with it.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="stories.image",
            ),
        ),
        renamed_in_state(
            "byline",
            "library_photo",
            "photo",
            models.ForeignKey(
                blank=True,
                help_text="A head shot from the image library.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="photo_of_bylines",
                to="stories.image",
            ),
        ),
    ]
