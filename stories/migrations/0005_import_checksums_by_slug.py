"""Import records' state checksums name sections and bylines by slug instead of id.

A record whose checksum matches its story under the old formula (ids) is rewritten under
the new one (slugs); a record that did not match (the story was edited since its import)
is left as it is, and still does not match. Backwards, the same the other way round: it
works because both formulas are here, as they were. See stories.importer.plan.state_checksum.
"""

import hashlib
import json
from datetime import UTC

from django.db import migrations


def checksum(*parts):
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def story_checksum(story, section, bylines, tag_names):
    published_at = story.published_at.astimezone(UTC).isoformat() if story.published_at else ""
    return checksum(
        story.headline,
        story.slug,
        story.deck,
        story.body,
        section,
        story.status,
        published_at,
        list(bylines),
        sorted(tag_names),
    )


def convert(apps, to_slugs):
    """Rewrite each record that matches its story under one formula (ids if ``to_slugs``,
    else slugs) under the other."""
    ImportRecord = apps.get_model("stories", "ImportRecord")
    StoryByline = apps.get_model("stories", "StoryByline")
    TaggedStory = apps.get_model("stories", "TaggedStory")
    records = ImportRecord.objects.select_related("story__section").iterator(chunk_size=500)
    for record in records:
        story = record.story
        rows = StoryByline.objects.filter(story=story).order_by("position", "pk")
        byline_rows = list(rows.values_list("byline_id", "byline__slug"))
        tags = list(
            TaggedStory.objects.filter(content_object=story)
            .order_by("pk")
            .values_list("tag__name", flat=True)
        )
        by_id = story_checksum(story, story.section_id, [row[0] for row in byline_rows], tags)
        by_slug = story_checksum(
            story, story.section.slug, [row[1] for row in byline_rows], tags
        )
        old, new = (by_id, by_slug) if to_slugs else (by_slug, by_id)
        if old == record.state_checksum:
            record.state_checksum = new
            record.save(update_fields=["state_checksum"])


def by_slug(apps, schema_editor):
    convert(apps, to_slugs=True)


def by_id(apps, schema_editor):
    convert(apps, to_slugs=False)


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0004_revision_relations"),
    ]

    operations = [
        migrations.RunPython(by_slug, by_id),
    ]
