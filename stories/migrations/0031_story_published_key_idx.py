# The tag page at a million stories: a tag's page reads the tag's story keys from its links
# and asks of each story whether it is live and when it was published, to sort them
# (stories.delivery.pagination.keys_sorted_apart). Those lookups read the story table, a
# page from disk per story once the archive outgrows PostgreSQL's buffers (13,000 for the
# most used tag at 1M). This partial index of published stories carries their dates, so
# PostgreSQL answers them from the index alone (index-only, the visibility map set by
# autovacuum); SQLite keeps the index without the included date (models.W040 is silenced).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0030_listing_counts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                condition=models.Q(("status", "published")),
                fields=["id"],
                include=("published_at",),
                name="story_published_key_idx",
            ),
        ),
    ]
