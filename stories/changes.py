"""Content changes: the one signal every write path sends, bulk writes included.

Model saves and deletes send Django's own signals; bulk writes send none. So the querysets of
the models readers see (``stories.models.ContentQuerySet``) and the importer's
``insert_rows`` call ``announce()`` after each bulk write. ``stories.delivery.dependencies``
listens to this signal and to Django's, and invalidates the surrogate keys each change
affects: there is no write path that can forget to.
"""

from django.dispatch import Signal

content_changed = Signal()


def announce(model, keys=None, pks=None):
    """Rows of ``model`` were (or are about to be) written, updated or deleted in bulk.
    ``keys``: the surrogate keys of the pages showing them (``stories.delivery.surrogates``),
    if the writer knows them; else ``pks``: which rows, so the listener works the keys out;
    with neither, every cached page and piece is invalidated."""
    content_changed.send(sender=model, keys=keys, pks=pks)
