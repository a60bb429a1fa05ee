"""Who may fetch an uploaded file, and how long it may be kept.

Uploaded files are named unguessably (``images.unguessable_name``), and when Django serves
them (media on local disk) each request is also checked against the row that owns the file:

- a rendition of a live story's lead image, or of the photo of a byline with a live story,
  is public, and its name never changes for new content, so it may be kept for a year;
- an original is for the staff only (pages and metadata link renditions, so no reader needs
  it: it is the source the renditions are made from);
- the files of a draft, a scheduled or an unpublished story, and of a byline with no live
  story, answer 404 to readers, as the story itself does, and are shown to the staff who may
  see the story or byline in the admin, never kept by a shared cache;
- a file no row owns any more (a replaced image the cleanup missed) answers 404 to everyone.

A file is traced back to its row by its name: the image fields are indexed, and a
rendition's name is its original's without the extension plus ``-<width>w.webp``.
"""

import re

from django.db.models import Exists, OuterRef

from stories.models import Byline, Story, StoryByline, is_live_condition

RENDITION = re.compile(r"renditions/(?P<stem>.+)-\d+w(?:_[A-Za-z0-9]{7})?\.webp")
# Extensions an original may have: the allowed formats', in any case older uploads kept.
EXTENSIONS = [
    variant
    for extension in (".jpg", ".jpeg", ".png", ".webp", ".gif")
    for variant in (extension, extension.upper())
]
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-cache"


def media_access(user, path):
    """``PUBLIC_CACHE`` if anyone may fetch ``path``, ``PRIVATE_CACHE`` if only ``user`` may
    (staff), or None: the file must not be served to this user."""
    match = RENDITION.fullmatch(path)
    originals = [match["stem"] + extension for extension in EXTENSIONS] if match else [path]
    for row in owners(originals):
        renditions = {rendition["name"] for rendition in row.renditions}
        if match and path not in renditions:
            continue  # an old rendition this row no longer uses
        if match and row.is_public():
            return PUBLIC_CACHE
        if row.visible_to(user):
            return PRIVATE_CACHE
    return None


def owners(names):
    """The stories and bylines whose image is one of ``names`` (one indexed query each)."""
    folder = names[0].split("/", 1)[0]
    if folder == "stories":
        stories = Story.objects.filter(lead_image__in=names).only(
            "status", "published_at", "created_by", "lead_image_renditions"
        )
        return [StoryMedia(story) for story in stories]
    if folder == "bylines":
        bylines = Byline.objects.filter(photo__in=names).annotate(
            has_live_story=Exists(
                StoryByline.objects.filter(is_live_condition("story__"), byline=OuterRef("pk"))
            )
        )
        return [BylineMedia(byline) for byline in bylines.only("photo_renditions")]
    return []


class StoryMedia:
    def __init__(self, story):
        self.story = story
        self.renditions = story.lead_image_renditions

    def is_public(self):
        return self.story.is_live()

    def visible_to(self, user):
        # As the story page's preview: staff who may edit it; a live story's original also
        # to the staff who may look at it in the admin.
        return user.is_staff and (
            self.story.editable_by(user)
            or (self.story.is_live() and user.has_perm("stories.view_story"))
        )


class BylineMedia:
    def __init__(self, byline):
        self.byline = byline
        self.renditions = byline.photo_renditions

    def is_public(self):
        # A byline is public once a live story carries it (its page answers 404 before).
        return self.byline.has_live_story

    def visible_to(self, user):
        return user.is_staff and user.has_perm("stories.view_byline")
