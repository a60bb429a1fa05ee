# The desk at a million stories (issue 16): drafts and stories in review are a few in a
# hundred of the archive, one or two on each table page. The desk counted them and listed
# the longest waiting from the table, a page read per story (20,000 at 1M); this partial
# index holds only them, by status and last save, with what the desk's counts ask of each
# (its creator), so they are counted and listed from the index alone.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0026_listing_changes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                condition=models.Q(("status__in", ["draft", "review"])),
                fields=["status", "updated_at", "id"],
                include=("created_by",),
                name="story_desk_idx",
            ),
        ),
    ]
