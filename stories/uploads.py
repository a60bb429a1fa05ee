"""Uploads are refused by size before they are written to disk in full.

Django streams every uploaded file to memory or a temporary file before any form sees it, so
a 1 GB upload posted to an image field would be written out whole before the form refused
it. ``SizeCappedUploadHandler`` runs first and stops passing a file's bytes on to Django's
handlers once the file is over the largest size any upload field accepts; the form then
receives an ``OversizedUpload`` that carries the real size and no content, and refuses it
with its usual message ("The image is 1.0 GB; images are limited to 10.0 MB").
"""

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from stories.importer.sources import briefing_limit


def upload_limit():
    """The largest file any form accepts: an image or a briefing."""
    return max(settings.IMAGE_MAX_BYTES, briefing_limit())


class OversizedUpload(UploadedFile):
    """A file that went over the limit: its name and size, none of its bytes."""

    def __init__(self, name, size, content_type, charset=None):
        super().__init__(BytesIO(), name, content_type, size, charset)


class SizeCappedUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.limit = upload_limit()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        # Returning None keeps the chunk from the handlers after this one (the disk).
        return raw_data if self.received <= self.limit else None

    def file_complete(self, file_size):
        if self.received <= self.limit:
            return None  # the next handler completes the file as usual
        return OversizedUpload(self.file_name, self.received, self.content_type, self.charset)
