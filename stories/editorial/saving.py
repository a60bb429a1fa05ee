"""Saving a story, a byline or a library image as editors do: the row, and what an editor's
save implies besides.

``Story.save()``, ``Byline.save()`` and ``Image.save()`` fill only fields of their own row (a
slug, the version). The rest is done here, by name, on every editorial write path: the change
forms (``StoryAdmin.save_model``, which restoring a revision goes through too,
``BylineAdmin.save_model`` and ``ImageAdmin.save_model``) and the story list's actions.

- ``save_image``: a new upload is stored clean and its renditions made, once, when it is
  saved (the cropped ones again when its focal point moves); the files the row no longer
  uses are deleted after the transaction commits.
- ``remember_old_address``: a published story whose slug changed still answers at its old
  address, with a redirect.

The importer needs neither: it stores no images and never changes a stored story's slug.
"""

from stories.images import refresh_library_image
from stories.models import Image, Story, StorySlugRedirect


def remember_old_address(story, moved_from):
    """After ``story`` is saved: the slug it had before (``story.moved_from()``, asked before
    the save; None if it did not move) now redirects to it."""
    if moved_from is not None:
        StorySlugRedirect.objects.update_or_create(slug=moved_from, defaults={"story": story})


def keep_existing_lead_image(story):
    """A restored revision may name a library image deleted since (only images no story
    uses may be deleted): the story then keeps the image it has now rather than point at
    nothing."""
    if (
        story.lead_image_id is not None
        and not Image.objects.filter(pk=story.lead_image_id).exists()
    ):
        story.lead_image_id = (
            Story.objects.filter(pk=story.pk).values_list("lead_image_id", flat=True).first()
        )


def save_story(story):
    """Save ``story`` with its old address remembered."""
    keep_existing_lead_image(story)
    moved_from = story.moved_from()
    story.save()
    remember_old_address(story, moved_from)


def save_byline(byline):
    byline.save()


def save_image(image):
    """Save a library image with its upload stored clean and its renditions up to date;
    the files it replaced are deleted once the transaction commits."""
    change = refresh_library_image(image)
    image.save()
    change.saved()
