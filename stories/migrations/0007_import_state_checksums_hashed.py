"""Import records' state checksums hash the story's fields length-prefixed, not as JSON.

JSON escapes every character of a body before it is hashed, which was a fifth of re-importing
an unchanged 10,000-story briefing. A record whose checksum matches its story under the JSON
formula is rewritten under the new one; a record that did not match (the story was edited
since its import) is left as it is, and still does not match. Backwards, the same the other
way round. See stories.importer.plan.state_checksum; both formulas are copied here as they were.
"""

import hashlib
import json
from datetime import UTC

from django.db import migrations

CHUNK = 500


def story_state(story, section_slug, byline_slugs, tag_names):
    published_at = story.published_at.astimezone(UTC).isoformat() if story.published_at else ""
    return (
        story.headline,
        story.slug,
        story.deck,
        story.body,
        section_slug,
        story.status,
        published_at,
        list(byline_slugs),
        sorted(tag_names),
    )


def json_checksum(*state):
    encoded = json.dumps(
        story_state(*state), ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(encoded.encode()).hexdigest()


def hashed_checksum(*state):
    *fields, byline_slugs, tag_names = story_state(*state)
    parts = (*fields, str(len(byline_slugs)), *byline_slugs, str(len(tag_names)), *tag_names)
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(b"%d:" % len(encoded))
        digest.update(encoded)
    return digest.hexdigest()


def convert(apps, old, new):
    ImportRecord = apps.get_model("stories", "ImportRecord")
    StoryByline = apps.get_model("stories", "StoryByline")
    TaggedStory = apps.get_model("stories", "TaggedStory")
    ids = list(ImportRecord.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        records = list(
            ImportRecord.objects.filter(pk__in=ids[start : start + CHUNK]).select_related(
                "story__section"
            )
        )
        story_ids = [record.story_id for record in records]
        byline_slugs = {story_id: [] for story_id in story_ids}
        rows = (
            StoryByline.objects.filter(story_id__in=story_ids)
            .order_by("position", "pk")
            .values_list("story_id", "byline__slug")
        )
        for story_id, slug in rows:
            byline_slugs[story_id].append(slug)
        tag_names = {story_id: [] for story_id in story_ids}
        rows = (
            TaggedStory.objects.filter(content_object_id__in=story_ids)
            .order_by("pk")
            .values_list("content_object_id", "tag__name")
        )
        for story_id, name in rows:
            tag_names[story_id].append(name)
        converted = []
        for record in records:
            story = record.story
            state = (story, story.section.slug, byline_slugs[story.pk], tag_names[story.pk])
            if old(*state) == record.state_checksum:
                record.state_checksum = new(*state)
                converted.append(record)
        ImportRecord.objects.bulk_update(converted, ["state_checksum"])


def to_hashed(apps, schema_editor):
    convert(apps, json_checksum, hashed_checksum)


def to_json(apps, schema_editor):
    convert(apps, hashed_checksum, json_checksum)


class Migration(migrations.Migration):
    dependencies = [("stories", "0006_search_pause")]

    operations = [migrations.RunPython(to_hashed, to_json)]
