"""Saving a story or a byline as editors do: the row, and what an editor's save implies besides.

``Story.save()`` and ``Byline.save()`` fill only fields of their own row (a slug, the
version). The rest is done here, by name, on every editorial write path: the change forms
(``StoryAdmin.save_model``, which restoring a revision goes through too, and
``BylineAdmin.save_model``) and the story list's actions.

- ``refresh_renditions``: a new upload is stored clean and its renditions made, once, when
  it is saved; the files the row no longer uses are deleted after the transaction commits.
- ``remember_old_address``: a published story whose slug changed still answers at its old
  address, with a redirect.

The importer needs neither: it stores no images and never changes a stored story's slug.
"""

from stories.images import IMAGE_FIELDS, refresh_image
from stories.models import StorySlugRedirect


def refresh_renditions(instance):
    """Before ``instance`` (a story or a byline) is saved: its images stored and their
    renditions up to date. Returns the function to call once the row is written, which
    deletes the replaced files when the transaction commits (a rollback keeps them)."""
    changes = [
        refresh_image(instance, field_name, renditions_name)
        for field_name, renditions_name in IMAGE_FIELDS[type(instance)]
    ]

    def saved():
        for change in changes:
            change.saved()

    return saved


def remember_old_address(story, moved_from):
    """After ``story`` is saved: the slug it had before (``story.moved_from()``, asked before
    the save; None if it did not move) now redirects to it."""
    if moved_from is not None:
        StorySlugRedirect.objects.update_or_create(slug=moved_from, defaults={"story": story})


def save_story(story):
    """Save ``story`` with its renditions refreshed and its old address remembered."""
    images_saved = refresh_renditions(story)
    moved_from = story.moved_from()
    story.save()
    remember_old_address(story, moved_from)
    images_saved()


def save_byline(byline):
    """Save ``byline`` with its photo's renditions refreshed."""
    images_saved = refresh_renditions(byline)
    byline.save()
    images_saved()
