# Indexes for a million stories (issue 16). Every ordering index ends with the primary key,
# the tie-break of every list, so the keys of a deep page (the deferred join), a sitemap
# child's keyset and a listing's count are read from the index alone; the desk's story list
# (every status, newest first) and its date filter get an index of their own; the newest
# save (sitemaps' lastmod) is one index lookup, and the index of live stories carries what
# a sitemap lists of each (slug, creation and last save), so a story sitemap child and the
# latest change of every section, tag and byline are read without the table. The two indexes of live stories these
# replace were the same without the key.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0023_site_pages_related_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="story", name="story_live_idx"),
        migrations.RemoveIndex(model_name="story", name="story_section_live_idx"),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                fields=["status", "-published_at", "-id"],
                name="story_live_order_idx",
                include=["updated_at", "created_at", "slug"],
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                fields=["section", "status", "-published_at", "-id"],
                name="story_section_order_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(fields=["-published_at", "-id"], name="story_published_idx"),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(fields=["updated_at"], name="story_updated_idx"),
        ),
    ]
