"""Unique slugs made from text: for one new row (``unique_slug``) or many at once
(``allocate_slugs``, the importer's), giving the same slugs either way.

A slug is its text slugified and cut to the field's length; when that is taken, the lowest free
``-2``, ``-3``... suffix (cutting the slug shorter to make room). Both functions read the slugs
that could clash in a few queries and then count up from the last number they handed out, so
thousands of headlines that slugify alike ("A!", "A?", "a.") take time linear in their number:
counting from 1 again for each one, as the importer once did, took time quadratic in it.
"""

from functools import reduce
from operator import or_

from django.db.models import Q
from django.utils.text import slugify

# Room kept for a suffix when a slug is cut to fit one: "-" and 11 digits, more rows than any
# table will hold. Every suffixed form of a slug then starts with the slug cut that short.
SUFFIX_ROOM = 12
QUERY_CHUNK = 500
# Slugs whose suffixed forms are read in one query; a flat OR, well inside SQLite's limit on
# the depth of an expression (1,000).
CLASH_CHUNK = 100


def slug_base(model, text, max_length):
    """The slug ``text`` gets when it is free."""
    return slugify(text, allow_unicode=True)[:max_length].strip("-") or model._meta.model_name


def suffixed(base, number, max_length):
    """``base`` with suffix ``-number`` (none for 1), cut to fit ``max_length``."""
    if number == 1:
        return base
    suffix = f"-{number}"
    return base[: max_length - len(suffix)].rstrip("-") + suffix


def clashes(base, max_length):
    """A filter on ``slug`` matching every slug ``base`` or a suffixed form of it could be."""
    if len(base) + SUFFIX_ROOM <= max_length:
        # Never cut: the suffixed forms are base-2, base-3...
        return Q(slug=base) | Q(slug__startswith=f"{base}-")
    return Q(slug__startswith=base[: max_length - SUFFIX_ROOM].rstrip("-"))


def _chunks(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Slugs:
    """The slugs of a model's rows that new slugs must not repeat, read as needed."""

    def __init__(self, model, max_length, exclude_pk, reserved):
        self.max_length = max_length
        self.rows = model._default_manager.all()
        if exclude_pk is not None:
            self.rows = self.rows.exclude(pk=exclude_pk)
        self.taken = set(reserved)
        self.read = set()  # bases whose possible clashes are all in ``taken``

    def read_exact(self, bases):
        for chunk in _chunks(bases, QUERY_CHUNK):
            self.taken.update(self.rows.filter(slug__in=chunk).values_list("slug", flat=True))

    def read_clashes(self, bases):
        bases = sorted(set(bases) - self.read)
        for chunk in _chunks(bases, CLASH_CHUNK):
            condition = reduce(or_, (clashes(base, self.max_length) for base in chunk))
            self.taken.update(self.rows.filter(condition).values_list("slug", flat=True))
        self.read.update(bases)

    def allocate(self, bases):
        next_number = {}
        slugs = []
        for base in bases:
            number = next_number.get(base, 1)
            candidate = suffixed(base, number, self.max_length)
            if candidate in self.taken and base not in self.read:
                # A clash nobody foresaw (another base's suffixed form equals this base):
                # rare, so one query for it alone.
                self.read_clashes([base])
            while candidate in self.taken:
                number += 1
                candidate = suffixed(base, number, self.max_length)
            # Every lower number is taken, and what is taken stays taken: the next row with
            # this base starts counting here.
            next_number[base] = number + 1
            self.taken.add(candidate)
            slugs.append(candidate)
        return slugs


def allocate_slugs(model, texts, *, max_length, exclude_pk=None, reserved=()):
    """Unique slugs for many new rows of ``model`` at once, in a few queries in all.

    The slugs ``unique_slug`` would give the rows one by one, in order.
    """
    bases = [slug_base(model, text, max_length) for text in texts]
    slugs = _Slugs(model, max_length, exclude_pk, reserved)
    slugs.read_exact(set(bases))
    seen, repeated = set(), set()
    for base in bases:
        (repeated if base in seen else seen).add(base)
    # Only bases already used (by a row, or twice here) need their suffixed forms read.
    slugs.read_clashes({base for base in seen if base in slugs.taken} | repeated)
    return slugs.allocate(bases)


def unique_slug(model, text, *, max_length, exclude_pk=None, reserved=()):
    """A slug for ``text`` that no other row of ``model`` (nor ``reserved``) uses yet; one query."""
    base = slug_base(model, text, max_length)
    slugs = _Slugs(model, max_length, exclude_pk, reserved)
    slugs.read_clashes([base])
    return slugs.allocate([base])[0]
