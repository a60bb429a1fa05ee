"""Content changes: the one signal every write path sends, bulk writes included.

Model saves and deletes send Django's own signals; bulk writes send none. So the querysets of
the models readers see (``stories.models.ContentQuerySet``) and the importer's
``insert_rows`` call ``announce()`` after each bulk write. ``stories.delivery.generation``
listens to this signal and to Django's, and starts a new content generation on each: there
is no write path that can forget to.
"""

from django.dispatch import Signal

content_changed = Signal()


def announce(model):
    """Rows of ``model`` were written, updated or deleted in bulk."""
    content_changed.send(sender=model)
