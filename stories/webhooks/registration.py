"""Registering a subscriber, from the desk's form or ``manage.py add_webhook``: the same
checks either way (a public http(s) address, known events, a secret worth the name)."""

import secrets

from django.core.exceptions import ValidationError

from stories.models import WebhookSubscriber

from .addresses import vet

EVENTS = [choice.value for choice in WebhookSubscriber.Event]
MIN_SECRET_LENGTH = 16


def new_secret():
    return secrets.token_urlsafe(32)


def check_url(url):
    """``url`` if webhooks may be sent there, else ``ValidationError`` saying why."""
    vet(url)
    return url


def check_events(events):
    events = [event.strip() for event in events if event.strip()]
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise ValidationError(
            f"Unknown event {', '.join(unknown)}: choose from {', '.join(EVENTS)}."
        )
    if not events:
        raise ValidationError("Choose at least one event.")
    return list(dict.fromkeys(events))


def check_secret(secret):
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(
            f"The secret must be at least {MIN_SECRET_LENGTH} characters long: the "
            "signature is only as strong as it."
        )
    return secret
