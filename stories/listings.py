"""Each section's, tag's and byline's latest change, kept on write (``ListingChange``).

The sitemaps list every listing with a live story, with its stories' latest change (their
newest save or publication). At a million stories that was a grouped read of 3,000,000 tag
links (2.4-5.7 s), 1,000,000 byline links and every story for the sections: no index can
give the newest save of a tag's stories, as the save time is on the story and the tag on the
link. So each listing keeps a row, and a sitemap reads the rows of its page of listings.

Writers only add notes (``ListingChangeNote``); the next reader of a listing sitemap applies
them, one reader at a time. Why notes, not rows updated by each write: a row updated in the
writer's transaction stays locked until it commits, and an import holds its transaction for
minutes over every listing it touches, so an editor saving any story of the same section
would wait for the import. Inserting a note locks nothing another writer needs.

- A write that adds to a listing (a story saved live, tagged, imported) notes the story's
  times (``fold``): a save moves ``updated_at`` to now, so a listing's latest change only
  grows then, and the reader folds the times in.
- A write that takes a story away (unpublished, untagged, deleted, moved to another section)
  cannot tell what the listing's latest change was before that story: it notes the listing
  stale (``mark_stale``), and the reader works its row out again from the listing's own
  stories (``refresh``: those stories only, through the relation's index).
- Time makes a change no write announces: a scheduled story goes live at its hour. Its
  listings note the earliest such hour (``next_live_at``), and a row whose hour has come is
  worked out again when read; until then the story counts for nothing, so neither a tag
  used only by a scheduled story nor its time leaks.

Each row also keeps its listing's count of live stories (``live_count``), what its pages
print as "Page N of M": at a million stories a COUNT was 72 ms of the home page's time,
29 ms of a section's. It is worked out wherever the row is (``refresh``, and applying a
fold note counts the listing again: a write may or may not have changed it), so a page
reads it with its validity in one query (``live_count``): good while no note about the
listing that may change its count waits and none of its scheduled stories has gone live
since; otherwise the page counts, in the same query, as before. A note says whether its
write may have changed the count (``moves_count``): an edit of a live story that stays in
its listings, or a tag added to it, leaves the counts of those listings standing.

Every write path reaches this module: model saves and deletes and taggit's ``m2m_changed``
through Django's signals, bulk writes through ``stories.changes`` (rows named: their listings
are noted stale; rows not named: every listing is, and the next reader works them all out),
and the importer, which writes with ``COPY`` and notes the stories it wrote itself
(``maintained_by_writer``), so that an import does not make every listing stale.

A reader applies the notes it read and deletes exactly those, under a lock readers share
(``serialized``), so a note committed meanwhile stays for the next reader and no reader
stores what it read before another reader's newer result. The first reader after writes
does work that grows with them (a note per listing a write touched); the reads after it
read one row per listing.
"""

from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Max,
    Min,
    OuterRef,
    PositiveIntegerField,
    Q,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from taggit.models import Tag

from .models import (
    Byline,
    ListingChange,
    ListingChangeNote,
    Section,
    Story,
    StoryByline,
    TaggedStory,
)

Kind = ListingChange.Kind
# From a story to the listings of each kind.
RELATED = {
    Kind.SECTION: "section",
    Kind.TAG: "tagged_items__tag",
    Kind.BYLINE: "story_bylines__byline",
}
MODELS = {Kind.SECTION: Section, Kind.TAG: Tag, Kind.BYLINE: Byline}
CHUNK = 500
# Applying notes counts again at most this many tags or bylines (sections always: they are
# few, and counted from their own index); the others' pages count them when first read.
RECOUNT_HERE_MAX = 20
# A note that every listing is to be worked out again.
ALL = "all"
# The advisory lock readers take to apply notes (any number no other code uses).
ADVISORY_LOCK = 160_507_226

_writer_maintains = ContextVar("listings_writer_maintains", default=False)


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def maintained_by_writer():
    """Bulk writes inside say which stories they wrote (``fold``, ``mark_stale``), so a
    bulk write that names no rows does not mark every listing stale."""
    token = _writer_maintains.set(True)
    try:
        yield
    finally:
        _writer_maintains.reset(token)


def listings_of(story_pks):
    """``{story pk: {(kind, listing pk), ...}}`` as the database has them now."""
    found = defaultdict(set)
    for chunk in chunks(story_pks):
        rows = Story.objects.filter(pk__in=chunk).values_list("pk", "section_id")
        for story, section in rows:
            found[story].add((Kind.SECTION, section))
        rows = TaggedStory.objects.filter(content_object_id__in=chunk)
        for story, tag in rows.values_list("content_object_id", "tag_id"):
            found[story].add((Kind.TAG, tag))
        rows = StoryByline.objects.filter(story_id__in=chunk)
        for story, byline in rows.values_list("story_id", "byline_id"):
            found[story].add((Kind.BYLINE, byline))
    return found


def times(kind, stories, now):
    """``{listing pk: (latest change of its live stories, earliest go-live of its scheduled
    ones, how many are live)}`` over ``stories`` (published ones count)."""
    related = RELATED[kind]
    rows = (
        stories.filter(status=Story.Status.PUBLISHED)
        .order_by()
        .values(related)
        .annotate(
            live=Max(Greatest("updated_at", "published_at"), filter=Q(published_at__lte=now)),
            upcoming=Min("published_at", filter=Q(published_at__gt=now)),
            # The same rows a listing page counts (a story once per link to the listing).
            listed=Count("pk", filter=Q(published_at__lte=now)),
        )
        .values_list(related, "live", "upcoming", "listed")
    )
    return {pk: (live, upcoming, listed) for pk, live, upcoming, listed in rows if pk is not None}


def earliest(a, b):
    return b if a is None or (b is not None and b < a) else a


def latest(a, b):
    return b if a is None or (b is not None and b > a) else a


def note(notes):
    ListingChangeNote.objects.bulk_create(notes, batch_size=CHUNK)


def fold(story_pks, moved=None):
    """Stories were written (saved, tagged, imported): note their times for their listings
    as they are now. Never lowers a row: what a write took away is ``mark_stale``'s.
    ``moved``: the ``(kind, listing pk)`` pairs whose count of live stories the write may
    have changed (None: any of them); the others' notes leave their counts standing, so an
    edit of a live story does not send its listings' pages back to counting."""
    now = timezone.now()
    for kind in Kind:
        found = {}
        for chunk in chunks(story_pks):
            written = times(kind, Story.objects.filter(pk__in=chunk), now)
            for pk, (live, upcoming, _) in written.items():
                old = found.get(pk, (None, None))
                found[pk] = (latest(old[0], live), earliest(old[1], upcoming))
        note(
            ListingChangeNote(
                kind=kind,
                listing_id=pk,
                changed_at=live,
                next_live_at=upcoming,
                moves_count=moved is None or (kind, pk) in moved,
            )
            for pk, (live, upcoming) in found.items()
            if live is not None or upcoming is not None
        )


def mark_stale(pairs):
    """``(kind, listing pk)`` pairs whose stories a write changed: worked out again from
    their stories when next read."""
    note(ListingChangeNote(kind=kind, listing_id=pk, stale=True) for kind, pk in set(pairs))


def mark_all_stale():
    """A bulk write that did not say which rows it wrote: every listing is worked out again."""
    note([ListingChangeNote(kind=ALL, listing_id=0, stale=True)])


def serialized():
    """Only one reader at a time applies notes and works rows out (PostgreSQL: a lock held
    until the transaction ends; SQLite writes one transaction at a time anyway), so a
    reader never stores what it read before another reader's newer result."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


def refresh(kind, pks):
    """Work out the rows of ``pks`` from their listings' own stories, their counts included
    (call ``serialized()`` first, in the same transaction)."""
    for chunk in chunks(sorted(pks)):
        now = timezone.now()
        if kind == Kind.SECTION:
            found = {pk: section_times(pk, now) for pk in chunk}
        else:
            found = times(kind, Story.objects.filter(**{f"{RELATED[kind]}__in": chunk}), now)
        store(
            ListingChange(
                kind=kind, listing_id=pk, changed_at=live, next_live_at=upcoming, live_count=listed
            )
            for pk, (live, upcoming, listed) in (
                (pk, found.get(pk, (None, None, 0))) for pk in chunk
            )
        )


def section_times(pk, now):
    """``times()`` of one section in three queries: a section holds an eighth of the archive
    (125,000 stories at a million), too many to group by date, and its stories have indexes
    of their own (section and publication, last save). The count reads the section's
    entries of the first index (a page must print it; the row keeps it until the section
    next changes); the other two read one index entry each."""
    published = Story.objects.filter(section=pk, status=Story.Status.PUBLISHED).order_by()
    live = published.filter(published_at__lte=now)
    counted = live.aggregate(latest=Max("published_at"), listed=Count("pk"))
    times = [
        counted["latest"],
        live.order_by("-updated_at").values_list("updated_at", flat=True).first(),
    ]
    times = [time for time in times if time is not None]
    upcoming = published.filter(published_at__gt=now).order_by("published_at")
    return (
        max(times) if times else None,
        upcoming.values_list("published_at", flat=True).first(),
        counted["listed"],
    )


def store(rows):
    """Store rows worked out or folded, with their counts."""
    ListingChange.objects.bulk_create(
        list(rows),
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=["kind", "listing_id"],
        update_fields=["changed_at", "next_live_at", "live_count"],
    )


def kept_with_counts(kind, pks, recount):
    """``(pk, latest change, next go-live, live stories)`` of the listings ``pks`` (those
    that still exist): the times their rows keep; the count as their stories have it now
    for those in ``recount`` (a written story may have joined or left it), the row's for
    the others. One query: the count is a subquery per listing recounted, reading its
    entries of the relation's index."""
    related = RELATED[kind]
    counted = (
        live_listing(kind, OuterRef("pk"))
        .order_by()
        .values(related)
        .annotate(listed=Count("pk"))
        .values("listed")
    )
    kept = ListingChange.objects.filter(kind=kind, listing_id=OuterRef("pk"))
    return (
        MODELS[kind]
        .objects.filter(pk__in=pks)
        .annotate(
            kept_live=Subquery(kept.values("changed_at")),
            kept_upcoming=Subquery(kept.values("next_live_at")),
            listed=Case(
                When(pk__in=recount, then=Coalesce(Subquery(counted), 0)),
                default=Subquery(kept.values("live_count")),
                output_field=PositiveIntegerField(),
            ),
        )
        .order_by()
        .values_list("pk", "kept_live", "kept_upcoming", "listed")
    )


def apply_notes():
    """Fold the notes writers left into the rows, and work out again the rows of listings
    noted stale. Notes are read, applied and deleted by id: a note committed meanwhile
    stays for the next reader."""
    notes = list(
        ListingChangeNote.objects.values_list(
            "pk", "kind", "listing_id", "changed_at", "next_live_at", "stale", "moves_count"
        )
    )
    if not notes:
        return
    if any(kind == ALL for _, kind, *_ in notes):
        for kind, model in MODELS.items():
            refresh(kind, model.objects.order_by().values_list("pk", flat=True))
    else:
        stale, folded, moved = defaultdict(set), {}, set()
        for _, kind, pk, live, upcoming, is_stale, moves_count in notes:
            if is_stale:
                stale[kind].add(pk)
            else:
                old = folded.get((kind, pk), (None, None))
                folded[kind, pk] = (latest(old[0], live), earliest(old[1], upcoming))
                if moves_count:
                    moved.add((kind, pk))
        for kind, pks in stale.items():
            refresh(kind, pks)
        for kind in Kind:
            pks = sorted(pk for k, pk in folded if k == kind and pk not in stale[kind])
            # Counted here if few (an editor's saves); past that (an import) each listing's
            # row is left without a count and its page counts it when first read: counting
            # a thousand tags or bylines one by one took half a minute at a million stories.
            moving = {pk for pk in pks if (kind, pk) in moved}
            counted_here = kind == Kind.SECTION or len(moving) <= RECOUNT_HERE_MAX
            for chunk in chunks(pks):
                rows = []
                recount = [pk for pk in chunk if pk in moving]
                found = kept_with_counts(kind, chunk, recount if counted_here else [])
                for pk, old_live, old_upcoming, listed in found:
                    if pk in moving and not counted_here:
                        listed = None
                    live, upcoming = folded[kind, pk]
                    rows.append(
                        ListingChange(
                            kind=kind,
                            listing_id=pk,
                            changed_at=latest(old_live, live),
                            next_live_at=earliest(old_upcoming, upcoming),
                            live_count=listed,
                        )
                    )
                store(rows)
    for chunk in chunks([pk for pk, *_ in notes]):
        ListingChangeNote.objects.filter(pk__in=chunk).delete()


def apply_pending():
    """Apply the notes writers left, if any (one query when there are none)."""
    if ListingChangeNote.objects.exists():
        with transaction.atomic():
            serialized()
            apply_notes()


def last_changes(kind, pks):
    """``{pk: latest change}`` of the listings ``pks`` that have a live story, from their
    rows; writers' notes are applied first, and rows due (a scheduled story's hour came)
    worked out again."""
    apply_pending()
    now = timezone.now()
    rows = ListingChange.objects.filter(kind=kind, listing_id__in=pks).values_list(
        "listing_id", "changed_at", "next_live_at"
    )
    changes, due = {}, []
    for pk, changed_at, next_live_at in rows:
        if next_live_at is not None and next_live_at <= now:
            due.append(pk)
        elif changed_at is not None:
            changes[pk] = changed_at
    if due:
        with transaction.atomic():
            serialized()
            refresh(kind, due)
        rows = ListingChange.objects.filter(kind=kind, listing_id__in=due, changed_at__isnull=False)
        changes.update(rows.values_list("listing_id", "changed_at"))
    return changes


# --- counts -------------------------------------------------------------------------------


def live_listing(kind=None, pk=None):
    """The live stories a listing's pages list: a section's, tag's or byline's, or with no
    ``kind`` every live story (the home page; the story sitemap)."""
    stories = Story.objects.live()
    return stories if kind is None else stories.filter(**{RELATED[kind]: pk})


def live_count(kind=None, pk=None):
    """How many stories ``live_listing(kind, pk)`` lists, exact at every moment, in one
    query whatever the size of the archive once counted.

    The listing's row keeps its count (the home page's is the sum of the sections' rows:
    every story has one section), worked out with its times whenever notes are applied.
    The query reads the row and whether writers left a note about the listing: if none is
    waiting and no scheduled story of it has gone live since (``next_live_at``), the row's
    count is the count; else the same query counts the stories (a subquery the database
    runs only then), as pages did before. Notes are applied by the next reader of a listing
    sitemap, not here: a page read right after a write costs no more queries than it did.
    A row due (a story went live) or never counted is worked out again here, once."""
    now = timezone.now()
    state = count_state(kind, pk, now)
    if not state["valid"] and not state["pending"]:
        remember_counts(kind, pk)
    return state["count"]


def count_state(kind, pk, now):
    """``{"count", "valid", "pending"}`` for ``live_count``, in one query. Written as SQL:
    the row may be missing, and the count must be a branch the database skips when the row
    is good (PostgreSQL runs such a subquery only if its value is used), which a queryset
    over the rows cannot say."""
    quote = connection.ops.quote_name
    rows, notes = quote(ListingChange._meta.db_table), quote(ListingChangeNote._meta.db_table)
    if kind is None:
        # Every section's row; a section with none has no published story (a story's first
        # publication gives it one).
        row_filter, row_params = "kept.kind = %s", [Kind.SECTION]
        note_filter, note_params = "noted.kind IN (%s, %s)", [ALL, Kind.SECTION]
        note_filter += " AND noted.moves_count"
        rows_known = "state.counted_rows = state.listed_rows"
    else:
        row_filter, row_params = "kept.kind = %s AND kept.listing_id = %s", [kind, pk]
        note_filter = (
            "(noted.kind = %s OR (noted.kind = %s AND noted.listing_id = %s)) AND noted.moves_count"
        )
        note_params = [ALL, kind, pk]
        rows_known = "state.counted_rows = 1"
    valid = f"NOT state.pending AND {rows_known} AND (state.due IS NULL OR state.due > %s)"
    listed, listed_params = live_listing(kind, pk).order_by().values("pk").query.sql_with_params()
    sql = (
        f"SELECT state.pending, CASE WHEN {valid} THEN 1 ELSE 0 END, "
        f"CASE WHEN {valid} THEN state.stored ELSE (SELECT COUNT(*) FROM ({listed}) AS listed) END "
        f"FROM (SELECT EXISTS (SELECT 1 FROM {notes} AS noted WHERE {note_filter}) AS pending, "
        "COUNT(*) AS listed_rows, COUNT(kept.live_count) AS counted_rows, "
        "COALESCE(SUM(kept.live_count), 0) AS stored, MIN(kept.next_live_at) AS due "
        f"FROM {rows} AS kept WHERE {row_filter}) AS state"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    params = [moment, moment, *listed_params, *note_params, *row_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pending, valid, count = cursor.fetchone()
    return {"count": count, "valid": bool(valid), "pending": bool(pending)}


def remember_counts(kind=None, pk=None):
    """Work out again the listing's row, which a scheduled story of it going live made due,
    or which has no count (rows from before counts were kept) or none at all; with no
    ``kind``, the sections' rows that are due or have no count. Under the readers' lock
    (``serialized``), as notes are applied."""
    with transaction.atomic():
        serialized()
        if kind is not None:
            refresh(kind, [pk])
            return
        rows = ListingChange.objects.filter(kind=Kind.SECTION).filter(
            Q(next_live_at__lte=timezone.now()) | Q(live_count__isnull=True)
        )
        refresh(Kind.SECTION, rows.values_list("listing_id", flat=True))


# --- what each write changes ------------------------------------------------------------


def loaded_raw(kwargs):
    """A row loaded by ``loaddata`` (a restored backup): its relations arrive row by row in
    any order, and backups leave the listings' rows out, so every listing is worked out
    again when next read (one note for the whole load)."""
    if not kwargs.get("raw"):
        return False
    if not ListingChangeNote.objects.filter(kind=ALL).exists():
        mark_all_stale()
    return True


def was_live(story_pks):
    return set(Story.objects.live().filter(pk__in=story_pks).values_list("pk", flat=True))


def before_story_write(sender, instance, **kwargs):
    if loaded_raw(kwargs):
        return
    if instance.pk is None or instance._state.adding:
        instance._listings_before = None
        return
    instance._listings_before = (
        was_live([instance.pk]),
        listings_of([instance.pk]).get(instance.pk, set()),
    )


def after_story_save(sender, instance, **kwargs):
    if loaded_raw(kwargs):
        return
    before = getattr(instance, "_listings_before", None)
    moved = None
    if before is not None and before[0]:
        # It counted in its old listings: those it left, or all if it is live no more.
        now = listings_of([instance.pk]).get(instance.pk, set())
        if was_live([instance.pk]):
            mark_stale(before[1] - now)
            # Live before and after: it counts once in the listings it stayed in.
            moved = now - before[1]
        else:
            mark_stale(before[1])
    fold([instance.pk], moved)


def after_story_delete(sender, instance, **kwargs):
    if loaded_raw(kwargs):
        return
    before = getattr(instance, "_listings_before", None)
    if before is not None and before[0]:
        mark_stale(before[1])


def before_link_write(sender, instance, **kwargs):
    if loaded_raw(kwargs):
        return
    # A link moved to another story or listing leaves its old one.
    if instance.pk is not None and not instance._state.adding:
        old = sender.objects.filter(pk=instance.pk).values_list(*link_fields(sender)).first()
        if old is not None and old != tuple(getattr(instance, f) for f in link_fields(sender)):
            mark_stale([link_pair(sender, old[1])])


def after_link_save(sender, instance, **kwargs):
    if loaded_raw(kwargs):
        return
    story, listing = (getattr(instance, field) for field in link_fields(sender))
    # Only the link's own listing may count the story anew.
    fold([story], moved={link_pair(sender, listing)})


def after_link_delete(sender, instance, **kwargs):
    if loaded_raw(kwargs):
        return
    mark_stale([link_pair(sender, getattr(instance, link_fields(sender)[1]))])


def link_fields(model):
    if model is TaggedStory:
        return ("content_object_id", "tag_id")
    return ("story_id", "byline_id")


def link_pair(model, pk):
    return (Kind.TAG if model is TaggedStory else Kind.BYLINE, pk)


def tags_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``story.tags.add/remove/set/clear()`` (taggit's ``m2m_changed``)."""
    if reverse:  # ``instance`` is a tag, ``pk_set`` stories
        if action in ("post_remove", "post_clear"):
            mark_stale([(Kind.TAG, instance.pk)])
        elif action == "post_add":
            fold(pk_set or [], moved={(Kind.TAG, instance.pk)})
        return
    if action == "pre_clear":
        tags = TaggedStory.objects.filter(content_object_id=instance.pk)
        instance._listings_tags = set(tags.values_list("tag_id", flat=True))
    elif action == "post_clear":
        mark_stale((Kind.TAG, pk) for pk in getattr(instance, "_listings_tags", ()))
    elif action == "post_remove":
        mark_stale((Kind.TAG, pk) for pk in pk_set or ())
    elif action == "post_add":
        # Only the tags added count the story anew (its other listings already did).
        fold([instance.pk], moved={(Kind.TAG, pk) for pk in pk_set or ()})


def bulk_written(sender, keys=None, pks=None, **kwargs):
    """A bulk write (``stories.changes.announce``), before it and after: the listings of
    the rows it names are marked stale (both times, so old and new ones); if it names none,
    every listing is, unless the writer keeps them itself (``maintained_by_writer``)."""
    if sender not in (Story, TaggedStory, StoryByline, Section, Byline, Tag):
        return
    if pks is None:
        if not _writer_maintains.get():
            mark_all_stale()
        return
    if sender is Story:
        mark_stale(set().union(*listings_of(pks).values()))
    elif sender in (TaggedStory, StoryByline):
        field = link_fields(sender)[1]
        rows = sender.objects.filter(pk__in=pks).values_list(field, flat=True)
        mark_stale(link_pair(sender, pk) for pk in set(rows))
    else:
        kind = next(kind for kind, model in MODELS.items() if model is sender)
        mark_stale((kind, pk) for pk in pks)


def connect_signals():
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

    from .changes import content_changed

    pre_save.connect(before_story_write, sender=Story, dispatch_uid="listings-story-pre-save")
    post_save.connect(after_story_save, sender=Story, dispatch_uid="listings-story-save")
    pre_delete.connect(before_story_write, sender=Story, dispatch_uid="listings-story-pre-delete")
    post_delete.connect(after_story_delete, sender=Story, dispatch_uid="listings-story-delete")
    for model in (TaggedStory, StoryByline):
        label = model._meta.label
        pre_save.connect(before_link_write, sender=model, dispatch_uid=f"listings-{label}-pre")
        post_save.connect(after_link_save, sender=model, dispatch_uid=f"listings-{label}-save")
        post_delete.connect(
            after_link_delete, sender=model, dispatch_uid=f"listings-{label}-delete"
        )
    m2m_changed.connect(tags_changed, sender=TaggedStory, dispatch_uid="listings-m2m-tags")
    content_changed.connect(bulk_written, dispatch_uid="listings-bulk")
