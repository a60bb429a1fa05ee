"""The shared file cache used without Redis, with fewer directory listings.

Django's ``FileBasedCache`` lists its whole folder before every write, to see whether it
holds more than ``MAX_ENTRIES`` files. Reader pages keep their pieces per content
generation, so the first view after an edit writes a dozen or more entries (cards, counts,
meta tags, content), and with thousands of files each listing cost milliseconds: under
the soak's edits, most of a page's time. Here each process lists the folder to cull it at
most once every ``CULL_INTERVAL`` seconds; between two culls the folder may grow past
``MAX_ENTRIES`` by what was written meanwhile, which costs only disk space.
"""

import time

from django.core.cache.backends.filebased import FileBasedCache


class FileCache(FileBasedCache):
    CULL_INTERVAL = 10.0

    def __init__(self, dir, params):
        super().__init__(dir, params)
        self._next_cull = 0.0

    def _cull(self):
        now = time.monotonic()
        if now < self._next_cull:
            return
        self._next_cull = now + self.CULL_INTERVAL
        super()._cull()
