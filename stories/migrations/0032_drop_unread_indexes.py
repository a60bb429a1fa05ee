# Indexes nothing reads, each one more B-tree entry to write for every story, link and
# revision an import or an edit writes: at a million stories, dropping them took a new
# story's server CPU from 0.58 to 0.53 ms (bench/SCALE.md).
#
# - The story's section, a story-byline link's story, a tagging's story and its tag: each
#   is the first column of another index that answers the same lookups
#   (story_section_order_idx, unique_story_byline, unique_story_tag,
#   tagged_story_recent_idx), foreign-key and cascade checks included.
# - A revision's slug (two on PostgreSQL: the plain and the LIKE one), section, author and
#   lead image, which simple-history indexed because the story table does: revisions are
#   read by story and by history id only.
#
# Only the indexes go (the fields' state says db_index=False): AlterField would remake
# these tables on SQLite, and with them the search index's triggers.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, index, column): the names Django gave them when it made the tables.
DROPPED = [
    ("stories_story", "stories_story_section_id_b7acc406", "section_id"),
    ("stories_storybyline", "stories_storybyline_story_id_75c82d2e", "story_id"),
    ("stories_taggedstory", "stories_taggedstory_content_object_id_cb1c04cf", "content_object_id"),
    ("stories_taggedstory", "stories_taggedstory_tag_id_1d853705", "tag_id"),
    ("stories_historicalstory", "stories_historicalstory_slug_3384d53a", "slug"),
    ("stories_historicalstory", "stories_historicalstory_section_id_2c6ee7d0", "section_id"),
    ("stories_historicalstory", "stories_historicalstory_created_by_id_d0c8ba40", "created_by_id"),
    ("stories_historicalstory", "stories_historicalstory_lead_image_id_255631ab", "lead_image_id"),
]
# PostgreSQL's second index of a varchar column Django indexes, for LIKE 'prefix%'.
DROPPED_LIKE = ("stories_historicalstory", "stories_historicalstory_slug_3384d53a_like", "slug")


def drop_indexes(apps, schema_editor):
    for _, index, _ in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {DROPPED_LIKE[1]}")


def make_indexes(apps, schema_editor):
    for table, index, column in DROPPED:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({column})")
    if schema_editor.connection.vendor == "postgresql":
        table, index, column = DROPPED_LIKE
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({column} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0031_story_published_key_idx"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, make_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="historicalstory",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalstory",
                    name="lead_image",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        help_text=(
                            "From the image library: its alt text, caption and credit come with it."
                        ),
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="stories.image",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalstory",
                    name="section",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="stories.section",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalstory",
                    name="slug",
                    field=models.SlugField(
                        allow_unicode=True,
                        blank=True,
                        db_index=False,
                        help_text=(
                            "The last part of the story's address. Made from the headline "
                            "when left empty."
                        ),
                        max_length=200,
                    ),
                ),
                migrations.AlterField(
                    model_name="story",
                    name="section",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="stories",
                        to="stories.section",
                    ),
                ),
                migrations.AlterField(
                    model_name="storybyline",
                    name="story",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="story_bylines",
                        to="stories.story",
                    ),
                ),
                migrations.AlterField(
                    model_name="taggedstory",
                    name="content_object",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tagged_items",
                        to="stories.story",
                    ),
                ),
                migrations.AlterField(
                    model_name="taggedstory",
                    name="tag",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="%(app_label)s_%(class)s_items",
                        to="taggit.tag",
                    ),
                ),
            ],
        ),
    ]
