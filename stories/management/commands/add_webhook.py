from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from stories.models import WebhookSubscriber
from stories.webhooks.registration import (
    EVENTS,
    check_events,
    check_secret,
    check_url,
    new_secret,
)


class Command(BaseCommand):
    help = "Register a webhook subscriber: a URL sent signed story events."

    def add_arguments(self, parser):
        parser.add_argument("url")
        parser.add_argument(
            "--secret",
            help="The signing secret the receiver checks (made and printed if left out).",
        )
        parser.add_argument(
            "--events",
            default=",".join(EVENTS),
            help=f"Comma-separated, from {','.join(EVENTS)} (default: all).",
        )
        parser.add_argument(
            "--name", help="What editors see in the desk (default: the URL's host)."
        )

    def handle(self, *args, url, secret, events, name, **options):
        made_secret = secret is None
        try:
            url = check_url(url)
            events = check_events(events.split(","))
            secret = check_secret(new_secret() if made_secret else secret)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        subscriber = WebhookSubscriber(
            name=(name or url.split("//", 1)[-1].split("/", 1)[0])[:100],
            url=url,
            secret=secret,
            events=events,
        )
        try:
            subscriber.full_clean()
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        with transaction.atomic():
            subscriber.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Subscriber {subscriber.pk} ({subscriber.name}) gets {', '.join(events)}."
            )
        )
        if made_secret:
            self.stdout.write(f"Its secret (shown once; give it to the receiver): {secret}")
