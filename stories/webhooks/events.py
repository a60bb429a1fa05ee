"""Story events, worked out from the stories themselves rather than from each write path.

Editors' saves, list actions, restored revisions, corrections, imports (bulk writes, which
send no model signals) and a scheduled story's go-live time all end in a story row that
either is or is not live, with a public update time, an import time and corrections.
``WebhookStoryState`` remembers what subscribers were last told about each story, so
comparing the two says what happened since, whatever caused it, and each event is made
exactly once:

- ``story.published``: live now, not live when last told (including a scheduled story
  whose time has come, and a story published again after being taken down);
- ``story.updated``: still live, with a later substantive change (the "Updated" time an
  editor sets with "substantive update", or an import that rewrote it);
- ``story.corrected``: still live, with a correction added since;
- ``story.unpublished``: live when last told, not live now (unpublished, moved back to a
  future time, or deleted).

Drafts and stories in review are never live, so they make no event. ``reconcile()`` runs in
the worker (after every committed content change, and every few seconds for go-live times),
one at a time: the worker row is locked for the duration.
"""

import uuid
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from stories.api.ninjs import story_ninjs
from stories.models import (
    Correction,
    Story,
    WebhookDelivery,
    WebhookStoryState,
    WebhookSubscriber,
    WebhookWorker,
)
from stories.reader.feeds import story_guid

from . import payloads

Event = WebhookSubscriber.Event
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Stories recorded per transaction.
BATCH = 200


def worker_row():
    """The one ``WebhookWorker`` row (a flushed test database has none until asked)."""
    worker, _ = WebhookWorker.objects.get_or_create(pk=1)
    return worker


def live_stories_with_news():
    """Live stories subscribers have not been told everything about, annotated with what
    they were told (``told_*``) and what is true now (``changed``, ``last_correction``)."""
    told = WebhookStoryState.objects.filter(story_pk=OuterRef("pk"))
    last_correction = Correction.objects.filter(story=OuterRef("pk")).order_by("-pk")
    return (
        Story.objects.live()
        .annotate(
            told_live=Coalesce(Subquery(told.values("is_live")[:1]), Value(False)),
            told_changed=Coalesce(Subquery(told.values("changed_at")[:1]), Value(EPOCH)),
            told_correction=Coalesce(Subquery(told.values("correction_pk")[:1]), Value(0)),
            changed=Greatest(
                Coalesce("revised_at", Value(EPOCH)),
                Coalesce("import_record__written_at", Value(EPOCH)),
            ),
            last_correction=Coalesce(Subquery(last_correction.values("pk")[:1]), Value(0)),
        )
        .filter(
            Q(told_live=False)
            | Q(changed__gt=F("told_changed"))
            | Q(last_correction__gt=F("told_correction"))
        )
        .order_by("pk")
    )


def states_no_longer_live():
    """Stories subscribers were told are live that are not (or no longer exist)."""
    return (
        WebhookStoryState.objects.filter(is_live=True)
        .exclude(Exists(Story.objects.live().filter(pk=OuterRef("story_pk"))))
        .order_by("story_pk")
    )


def events_for(story):
    """The events for one story from ``live_stories_with_news()``, in the order they are sent."""
    if not story.told_live:
        return [Event.PUBLISHED]
    events = []
    if story.changed > story.told_changed:
        events.append(Event.UPDATED)
    if story.last_correction > story.told_correction:
        events.append(Event.CORRECTED)
    return events


def reconcile():
    """Record every story event since the last run and queue its deliveries; the number of
    events. In batches of ``BATCH`` stories, each in its own short transaction (an import
    of thousands of stories must not hold SQLite's write lock while editors save). One run
    at a time: each batch's first write takes the worker row's lock (a row lock on
    PostgreSQL, the database's write lock on SQLite) until its transaction ends."""
    worker_row()
    count = 0
    for batch in (record_news, record_gone):
        after = 0  # each batch starts after the last story the one before looked at
        while True:
            events, after = batch(after)
            count += events
            if after is None:
                break
    return count


def lock_and_start():
    """Take the worker row's lock for this transaction; the time and the subscribers."""
    now = timezone.now()
    WebhookWorker.objects.filter(pk=1).update(reconciled_at=now)
    return now, list(WebhookSubscriber.objects.filter(is_active=True))


@transaction.atomic
def record_news(after):
    """Up to ``BATCH`` live stories with news, from story id ``after`` on: the events
    queued, and the last story's id (None when there are no more)."""
    now, subscribers = lock_and_start()
    news = list(live_stories_with_news().filter(pk__gt=after)[:BATCH])
    wanted = {event for subscriber in subscribers for event in subscriber.events}
    # The API representation costs a few milliseconds a story: only when someone gets it.
    sending = [story.pk for story in news if wanted.intersection(events_for(story))]
    full = Story.objects.for_feed().in_bulk(sending)
    states = WebhookStoryState.objects.in_bulk([story.pk for story in news], field_name="story_pk")
    count = 0
    for story in news:
        events = events_for(story)
        if story.pk in full:
            representation = story_ninjs(full[story.pk])
            for event in events:
                queue(subscribers, event, story.pk, representation, now, story_exists=True)
        state = states.get(story.pk) or WebhookStoryState(story_pk=story.pk)
        state.is_live = True
        state.changed_at = story.changed
        state.correction_pk = story.last_correction
        state.uri = story_guid(story)
        states[story.pk] = state
        count += len(events)
    WebhookStoryState.objects.bulk_create([s for s in states.values() if s.pk is None])
    WebhookStoryState.objects.bulk_update(
        [s for s in states.values() if s.pk is not None],
        ["is_live", "changed_at", "correction_pk", "uri"],
    )
    return count, (news[-1].pk if len(news) == BATCH else None)


@transaction.atomic
def record_gone(after):
    """As ``record_news``, for stories no longer live."""
    now, subscribers = lock_and_start()
    gone = list(states_no_longer_live().filter(story_pk__gt=after)[:BATCH])
    remaining = Story.objects.for_feed().in_bulk([state.story_pk for state in gone])
    for state in gone:
        story = remaining.get(state.story_pk)
        if story is None:
            representation = payloads.gone_story(state)
        else:
            representation = payloads.withdrawn_story(story_ninjs(story))
        queue(
            subscribers,
            Event.UNPUBLISHED,
            state.story_pk,
            representation,
            now,
            story_exists=story is not None,
        )
        state.is_live = False
        state.save(update_fields=["is_live"])
    return len(gone), (gone[-1].story_pk if len(gone) == BATCH else None)


def queue(subscribers, event, story_pk, representation, now, *, story_exists):
    """A delivery of ``event`` for each subscriber that asked for it."""
    deliveries = []
    for subscriber in subscribers:
        if not subscriber.wants(event):
            continue
        delivery_id = uuid.uuid4()
        deliveries.append(
            WebhookDelivery(
                delivery_id=delivery_id,
                subscriber=subscriber,
                event=event,
                story_id=story_pk if story_exists else None,
                story_pk=story_pk,
                payload=payloads.body(event, delivery_id, representation, now),
                created_at=now,
                next_attempt_at=now,
            )
        )
    # One by one rather than in bulk: the ids then follow the order events happened in
    # on every database (the worker sends one story's deliveries in id order).
    for delivery in deliveries:
        delivery.save()
