"""Bylines and tags in story revisions: recorded with each revision, restored with it.

simple-history keeps a story's own columns; this module keeps its ordered byline ids and
tag names on the same historical row (``RevisionRelations``) and puts them back when an
editor restores that revision.
"""

from django.db import transaction

from stories.models import Byline, StoryByline


def current_relations(story):
    byline_slugs = list(
        StoryByline.objects.filter(story=story)
        .order_by("position", "pk")
        .values_list("byline__slug", flat=True)
    )
    return byline_slugs, sorted(story.tags.names(), key=str.casefold)


def snapshot_on_save(sender, instance, history_instance, **kwargs):
    """``pre_create_historical_record``: a save records the relations as they are now."""
    if instance.pk is None:
        return
    history_instance.byline_slugs, history_instance.tag_names = current_relations(instance)


def record_relations(story):
    """Bring the newest revision up to date after the relations were saved.

    The admin saves the story (making the revision) before its bylines inline and tags.
    """
    latest = story.history.order_by("-history_date", "-history_id").first()
    if latest is None:
        return
    latest.byline_slugs, latest.tag_names = current_relations(story)
    latest.save(update_fields=["byline_slugs", "tag_names"])


def describe(revision):
    """What restoring ``revision`` does to bylines and tags, for the revert page."""
    if revision.byline_slugs is None and revision.tag_names is None:
        return "This revision did not record bylines or tags; restoring it leaves them as they are."
    slugs = revision.byline_slugs or []
    names = dict(Byline.objects.filter(slug__in=slugs).values_list("slug", "name"))
    bylines = ", ".join(names[slug] for slug in slugs if slug in names) or "none"
    tags = ", ".join(revision.tag_names or []) or "none"
    return f"Restoring also sets the bylines ({bylines}) and tags ({tags}) this revision had."


def restore_relations(story, revision):
    """Put back the bylines and tags ``revision`` recorded (bylines deleted since are skipped)."""
    with transaction.atomic():
        if revision.byline_slugs is not None:
            ids = dict(
                Byline.objects.filter(slug__in=revision.byline_slugs).values_list("slug", "pk")
            )
            StoryByline.objects.filter(story=story).delete()
            StoryByline.objects.bulk_create(
                StoryByline(story=story, byline_id=ids[slug], position=position)
                for position, slug in enumerate(
                    slug for slug in dict.fromkeys(revision.byline_slugs) if slug in ids
                )
            )
        if revision.tag_names is not None:
            story.tags.set(revision.tag_names, clear=True)
        record_relations(story)
