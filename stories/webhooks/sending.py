"""Sending deliveries: one HTTP POST each, to the vetted address, with retries and backoff.

- A delivery is claimed before it is sent (a compare-and-set on its row, good for a few
  minutes), so two workers never send it twice at once, and a worker that dies mid-send
  leaves it to be sent again: at least once, never inside an editor's request.
- One story's deliveries to one subscriber go out in the order they were made: a delivery
  waits while an earlier one for the same story is pending.
- 2xx is delivered. 5xx, 408, 429, timeouts, connection errors and refused addresses are
  retried with exponential backoff; any other 4xx is final. A subscriber whose deliveries
  have failed for a day is paused, and the editors are emailed.
- Connect and read time out after ``WEBHOOKS_TIMEOUT`` seconds (the whole exchange after
  twice that and a second); redirects are not
  followed; only the start of a response body is kept.
"""

import http.client
import logging
import smtplib
import socket
import ssl
import threading
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from stories.models import WebhookDelivery, WebhookSubscriber
from stories.roles import EDITOR

from .addresses import RefusedAddress, vet
from .signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status
CLAIM_SECONDS = 120
RETRY_FIRST_SECONDS = 10
RETRY_MAX_SECONDS = 3600
PAUSE_AFTER = timedelta(days=1)
EXCERPT_CHARS = 300
RETRYABLE_CODES = {408, 429}
USER_AGENT = "Newsroom-Webhooks/1"


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the vetted IP address, sending the URL's host name in ``Host``."""

    def __init__(self, target, timeout):
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self):
        self.sock = socket.create_connection((self.target.ip, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS: SNI and certificate checked for the URL's host name."""

    def __init__(self, target, timeout):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.target = target

    def connect(self):
        sock = socket.create_connection((self.target.ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url, body, headers):
    """POST ``body`` to ``url``: (status code, start of the response body). Raises
    ``RefusedAddress`` or ``OSError`` (timeouts included) when nothing was answered.

    Each connect and read times out after ``WEBHOOKS_TIMEOUT`` seconds, and the whole
    exchange after twice that and a second: a receiver dripping its answer a byte at a
    time cannot hold the worker up."""
    target = vet(url)
    timeout = settings.WEBHOOKS_TIMEOUT
    connection_class = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    connection = connection_class(target, timeout=timeout)
    limit = 2 * timeout + 1
    watchdog = threading.Timer(limit, cut_off, [connection])
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
    except http.client.HTTPException as error:
        raise OSError(f"Bad HTTP response: {error!r}") from error
    finally:
        watchdog.cancel()
        connection.close()
    if getattr(connection, "was_cut_off", False):
        # What was read before the cut may look like a whole answer: it is not one.
        raise TimeoutError(f"The receiver took more than {limit:g} s to answer.")
    return response.status, excerpt


def cut_off(connection):
    """The exchange took too long: shut the socket, so the blocked read ends now."""
    connection.was_cut_off = True
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


def due_deliveries(now=None):
    """Deliveries to send now, oldest first: waiting (or claimed by a worker that has gone
    quiet), to a subscriber that is sending, with no earlier delivery of the same story to
    the same subscriber still to go."""
    now = now or timezone.now()
    earlier = WebhookDelivery.objects.filter(
        subscriber=OuterRef("subscriber"),
        story_pk=OuterRef("story_pk"),
        pk__lt=OuterRef("pk"),
        status__in=[Status.PENDING, Status.SENDING],
    )
    return (
        WebhookDelivery.objects.filter(
            status__in=[Status.PENDING, Status.SENDING],
            next_attempt_at__lte=now,
            subscriber__is_active=True,
            subscriber__paused_at__isnull=True,
        )
        .exclude(Exists(earlier))
        .select_related("subscriber")
        .order_by("pk")
    )


def claim(delivery, now):
    """Take ``delivery`` for this worker; False if another worker took it first."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=delivery.status, attempts=delivery.attempts
    ).update(
        status=Status.SENDING,
        attempts=delivery.attempts + 1,
        next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
    )
    if claimed:
        delivery.status, delivery.attempts = Status.SENDING, delivery.attempts + 1
    return bool(claimed)


def backoff(attempts):
    """Seconds to wait before the next try: 10 s, 20 s, 40 s, ... up to an hour."""
    return min(RETRY_FIRST_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS)


def send(delivery):
    """Send one claimed delivery and record how it went."""
    subscriber = delivery.subscriber
    body = delivery.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Newsroom-Event": delivery.event,
        "Newsroom-Delivery": str(delivery.delivery_id),
        SIGNATURE_HEADER: signature_header(subscriber.secret, body),
    }
    code = None
    try:
        code, excerpt = post(subscriber.url, body, headers)
    except RefusedAddress as error:
        retry, excerpt = True, f"Refused: {error.message}"
    except OSError as error:
        retry, excerpt = True, f"{type(error).__name__}: {error}"
    except Exception as error:  # noqa: BLE001 (logged) one odd address must not stop the rest
        logger.exception("Webhook delivery %s failed unexpectedly", delivery.delivery_id)
        retry, excerpt = True, f"{type(error).__name__}: {error}"
    else:
        retry = code >= 500 or code in RETRYABLE_CODES
        if 300 <= code < 400:
            excerpt = f"Redirects are not followed. {excerpt}"
    now = timezone.now()
    delivery.last_response_code = code
    delivery.last_error = excerpt[:500]
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.delivered_at = Status.DELIVERED, now
        delivery.last_error = ""
    elif retry:
        delivery.status = Status.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts))
    else:
        delivery.status = Status.FAILED
    delivery.save(
        update_fields=[
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_response_code",
            "last_error",
        ]
    )
    note_outcome(subscriber, delivery.status == Status.DELIVERED, now)
    return delivery.status


def note_outcome(subscriber, succeeded, now):
    """Remember since when a subscriber has been failing; pause it after a day of it."""
    if succeeded:
        if subscriber.failing_since is not None:
            WebhookSubscriber.objects.filter(pk=subscriber.pk).update(failing_since=None)
        return
    if subscriber.failing_since is None:
        WebhookSubscriber.objects.filter(pk=subscriber.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        return
    if now - subscriber.failing_since >= PAUSE_AFTER:
        pause(subscriber, now)


def pause(subscriber, now):
    last_error = subscriber.deliveries.order_by("-pk").values_list("last_error", flat=True).first()
    reason = (
        f"Every delivery since {subscriber.failing_since:%Y-%m-%d %H:%M} UTC failed; "
        f"the last: {last_error or 'unknown'}"
    )[:300]
    paused = WebhookSubscriber.objects.filter(pk=subscriber.pk, paused_at__isnull=True).update(
        paused_at=now, pause_reason=reason
    )
    if paused:
        subscriber.paused_at, subscriber.pause_reason = now, reason
        tell_editors(subscriber)


def tell_editors(subscriber):
    """Email every active editor with an address that a subscriber was paused."""
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=EDITOR) | Q(is_superuser=True))
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        return
    scheme = "https" if settings.HTTPS else "http"
    path = reverse("admin:stories_webhooksubscriber_change", args=[subscriber.pk])
    change_url = f"{scheme}://{settings.SITE_DOMAIN}{path}"
    try:
        send_mail(
            subject=f"Webhook paused: {subscriber.name}",
            message=(
                f"Deliveries to the webhook subscriber “{subscriber.name}” ({subscriber.url}) have "
                f"failed for a day, so it has been paused and nothing more is sent to it.\n\n"
                f"{subscriber.pause_reason}\n\n"
                f"Once the receiver is fixed, resume it in the desk ({change_url}); the events "
                "it missed are sent then, in order."
            ),
            from_email=None,
            recipient_list=recipients,
        )
    except (OSError, smtplib.SMTPException):
        # The pause stands, and the desk shows it; the mail server's trouble is logged.
        logger.exception("Could not email the editors that webhook %s was paused", subscriber.pk)


def send_due(failed_subscribers, limit=100):
    """Send what is due now, oldest first; the number sent (whatever the outcome).

    A subscriber whose delivery fails is not tried again in this run (its ids are added to
    ``failed_subscribers``): a receiver that times out costs one timeout per run, not one
    per waiting delivery, and the others' deliveries are not held up behind it."""
    sent = 0
    now = timezone.now()
    due = due_deliveries(now).exclude(subscriber__in=failed_subscribers)
    for delivery in due[:limit]:
        if delivery.subscriber_id in failed_subscribers:
            continue
        if claim(delivery, now):
            if send(delivery) != Status.DELIVERED:
                failed_subscribers.add(delivery.subscriber_id)
            sent += 1
    return sent
