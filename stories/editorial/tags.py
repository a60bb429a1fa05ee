"""Merging tags: the stories of the merged tags move to the one kept, and the merged tags'
addresses redirect to it."""

from django.db import transaction

from stories.models import Story, TaggedStory, TagSlugRedirect

from .revisions import record_relations


def merge_tags(kept, merged):
    """Move every story tagged with one of ``merged`` to ``kept``, then delete ``merged``.

    Returns the number of stories that were retagged.
    """
    merged = [tag for tag in merged if tag.pk != kept.pk]
    with transaction.atomic():
        story_ids = set(
            TaggedStory.objects.filter(tag__in=merged).values_list("content_object_id", flat=True)
        )
        TaggedStory.objects.filter(tag__in=merged).delete()
        already = set(
            TaggedStory.objects.filter(tag=kept, content_object_id__in=story_ids).values_list(
                "content_object_id", flat=True
            )
        )
        TaggedStory.objects.bulk_create(
            TaggedStory(tag=kept, content_object_id=story_id)
            for story_id in sorted(story_ids - already)
        )
        # Addresses that already pointed at a merged tag now point at the kept one.
        TagSlugRedirect.objects.filter(slug=kept.slug).delete()
        TagSlugRedirect.objects.filter(tag__in=merged).update(tag=kept)
        TagSlugRedirect.objects.bulk_create(
            TagSlugRedirect(slug=tag.slug, tag=kept) for tag in merged
        )
        for tag in merged:
            tag.delete()
        for story in Story.objects.filter(pk__in=story_ids):
            record_relations(story)  # restoring the newest revision keeps the merge
    return len(story_ids)
