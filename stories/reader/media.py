"""Who may fetch an uploaded file, and how long it may be kept.

Uploaded files are named unguessably (``images.unguessable_name``), and when Django serves
them (media on local disk) each request is also checked against the library image that owns
the file:

- a rendition of an image that readers see somewhere (the lead image of a live story, or the
  photo of a byline with a live story: ``Image.objects.used_publicly()``) is public, and its
  name never changes for new content (a recrop gets new names), so it may be kept for a year;
- an original is for the staff only (pages and metadata link renditions, so no reader needs
  it: it is the source the renditions are made from);
- the files of an image that only drafts, scheduled or unpublished stories (or bylines with
  no live story) use, or that nothing uses yet, answer 404 to readers, as those stories do:
  a shared library image is public as soon as one live page shows it, and not before. The
  staff who may look at the library see them, never kept by a shared cache;
- a file no image owns any more (a replaced file the cleanup missed) answers 404 to everyone.

A file is traced back to its image by its name: the file field is indexed, and a rendition's
name is its original's without the extension, then ``-<width>w.webp`` (the uncropped shape)
or ``-<shape>-<token>-<width>w.webp`` (``.jpg`` for the social card). Stems are hex tokens
under folders, with no hyphen.
"""

import re

from stories.images import rendition_names
from stories.models import Image

RENDITION = re.compile(
    r"renditions/(?P<stem>[^-]+)(?:-[a-z]+-[0-9a-f]+)?-\d+w(?:_[A-Za-z0-9]{7})?\.(?:webp|jpg)"
)
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
    if "\x00" in path:
        return None  # no file is named so, and PostgreSQL refuses the lookup
    match = RENDITION.fullmatch(path)
    originals = [match["stem"] + extension for extension in EXTENSIONS] if match else [path]
    for image in Image.objects.filter(file__in=originals).only("file", "renditions"):
        if match and path not in rendition_names(image.renditions):
            continue  # an old rendition this image no longer uses
        if match and image.is_public():
            return PUBLIC_CACHE
        if user.is_staff and user.has_perm("stories.view_image"):
            return PRIVATE_CACHE
    return None
