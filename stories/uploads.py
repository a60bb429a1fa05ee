"""Uploads are refused by size before they are written to disk in full.

Django streams every uploaded file to memory or a temporary file before any form sees it, so
a 1 GB upload posted to an image field would be written out whole before the form refused
it. ``SizeCappedUploadHandler`` runs first and stops passing a file's bytes on to Django's
handlers once the file is over what its field accepts (``FIELD_LIMITS``), or the request's
files together are over the largest single limit; the form then receives an
``OversizedUpload`` that carries the size and no content, and refuses it with its usual
message ("The image is 1.0 GB; images are limited to 10.0 MB"). Requests from anyone but
signed-in staff, the only people with a form that takes a file, keep no file data at all.
"""

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers

from stories.importer.sources import briefing_limit


def image_limit():
    return settings.IMAGE_MAX_BYTES


# The largest file each upload field accepts, by the field's name in its form: the limit the
# form itself checks, read when asked (tests change the settings). A file sent under any
# other name is kept empty.
FIELD_LIMITS = {
    "file": image_limit,  # the image library's upload (ImageAdminForm)
    "briefing": briefing_limit,
}


def field_limit(field_name):
    """The most bytes a file posted as ``field_name`` may carry (0 for unknown fields)."""
    name = field_name.rsplit("-", 1)[-1]  # without a formset's prefix ("images-0-file")
    return FIELD_LIMITS[name]() if name in FIELD_LIMITS else 0


def request_limit():
    """The most bytes all files of one request together may carry: the largest field limit."""
    return max(limit() for limit in FIELD_LIMITS.values())


class OversizedUpload(UploadedFile):
    """A file that went over the limit: its name and size, none of its bytes."""

    def __init__(self, name, size, content_type, charset=None):
        super().__init__(BytesIO(), name, content_type, size, charset)


class SizeCappedUploadHandler(FileUploadHandler):
    def handle_raw_input(self, *args, **kwargs):
        # The request is parsed when something first reads request.POST: at the earliest
        # CsrfViewMiddleware.process_view, after AuthenticationMiddleware set request.user.
        user = getattr(self.request, "user", None)
        self.from_staff = bool(user and user.is_authenticated and user.is_staff)
        self.request_received = 0
        self.request_limit = request_limit()

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.received = 0
        self.limit = field_limit(field_name) if self.from_staff else 0
        self.cut = self.limit == 0 or self.request_received >= self.request_limit
        if self.cut:
            # Nothing of this file will be passed on: keep the handlers after this one from
            # even opening a temporary file for it.
            raise StopFutureHandlers

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        self.request_received += len(raw_data)
        # Once cut, a file stays cut; returning None keeps the chunk from the handlers after
        # this one (memory, then the disk).
        self.cut = (
            self.cut or self.received > self.limit or self.request_received > self.request_limit
        )
        return None if self.cut else raw_data

    def file_complete(self, file_size):
        if not self.cut:
            return None  # the next handler completes the file as usual
        # Cut for the request's total, a file may be under its own limit: it is reported at
        # the size the request's files reached, which is over every limit.
        size = self.received if self.received > self.limit else self.request_received
        return OversizedUpload(self.file_name, size, self.content_type, self.charset)
