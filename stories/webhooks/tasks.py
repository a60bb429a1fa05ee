"""The worker's tasks (django-tasks; its database backend runs them in ``db_worker``).

- ``process_webhooks`` is enqueued after every transaction that changed content commits
  (``connect_signals``): it records the events (``events.reconcile``) and sends what is due.
  Only the enqueueing happens in the editor's request; nothing is sent from it.
- ``tick`` runs every few seconds: it records the worker's heartbeat (``/healthz``), does
  the same work (a scheduled story's go-live time passing is a change no write announces;
  retries fall due), then enqueues the next tick. ``ensure_ticking()`` starts the chain;
  ``manage.py webhook_worker`` calls it before running ``db_worker``.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from stories.changes import content_changed
from stories.delivery.surrogates import settle_go_lives
from stories.listings import apply_pending as apply_listing_notes
from stories.models import (
    Correction,
    Story,
    WebhookDelivery,
    WebhookSubscriber,
    WebhookWorker,
)

from .events import reconcile, worker_row
from .sending import send_due

TICK_SECONDS = 5
STALE_AFTER = timedelta(minutes=1)
LOG_KEPT = timedelta(days=30)
# Rounds of sending per run: one story's next event is due once the one before it is sent.
SEND_ROUNDS = 20


def run_webhooks():
    """Record new events and send every delivery that is due; the number sent."""
    reconcile()
    total = 0
    failed_subscribers = set()
    for _ in range(SEND_ROUNDS):
        sent = send_due(failed_subscribers)
        total += sent
        if not sent:
            break
    return total


@task()
def process_webhooks():
    return run_webhooks()


@task()
def tick():
    now = timezone.now()
    worker_row()
    WebhookWorker.objects.filter(pk=1).update(heartbeat_at=now)
    # The next tick first, so the chain carries on whatever happens below.
    ensure_ticking(delay=TICK_SECONDS)
    DBTaskResult.objects.finished().filter(
        task_path__in=[tick.module_path, process_webhooks.module_path],
        finished_at__lt=now - timedelta(hours=1),
    ).delete()
    # The delivery log keeps a month of finished deliveries (their claim time is in the
    # indexed next_attempt_at, so this costs an index range scan); waiting ones all stay.
    WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED],
        next_attempt_at__lt=now - LOG_KEPT,
    ).delete()
    # A scheduled story whose time has come: its pages' keys are invalidated (and purged from
    # the cache in front) even if no reader asks first.
    settle_go_lives()
    # Writers' notes about listings are applied here too, within a tick of the write, so
    # listing pages read their kept counts again (``stories.listings.live_count``) without
    # waiting for a reader of a listing sitemap to apply them.
    apply_listing_notes()
    return run_webhooks()


def ensure_ticking(delay=0):
    """Enqueue the next tick unless one is waiting already."""
    waiting = DBTaskResult.objects.filter(task_path=tick.module_path, status="READY")
    if not waiting.exists():
        tick.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue()


def worker_is_stale(now=None):
    """None if the worker ran in the last minute (or webhooks were never used); otherwise
    when it last ran (or "never")."""
    row = WebhookWorker.objects.filter(pk=1).values_list("heartbeat_at", flat=True).first()
    now = now or timezone.now()
    if row is None:
        return "never" if WebhookSubscriber.objects.filter(is_active=True).exists() else None
    if now - row > STALE_AFTER:
        return row.isoformat()
    return None


def enqueue_after_commit(**kwargs):
    """A content change: process webhooks once this transaction commits (once per
    transaction, however many rows it wrote)."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback is enqueue_now for _, callback, _ in connection.run_on_commit
    ):
        return
    # Robust: the edit is committed whatever happens here, and the next tick catches up.
    transaction.on_commit(enqueue_now, robust=True)


def enqueue_now():
    process_webhooks.enqueue()


def connect_signals():
    """Every write that can change what subscribers are told: saves and deletes of stories
    and corrections, and bulk writes (``stories.changes``: the importer's)."""
    for model in (Story, Correction):
        post_save.connect(enqueue_after_commit, sender=model, dispatch_uid=f"webhooks-{model}")
        post_delete.connect(
            enqueue_after_commit, sender=model, dispatch_uid=f"webhooks-del-{model}"
        )
    content_changed.connect(enqueue_after_commit, dispatch_uid="webhooks-bulk")
