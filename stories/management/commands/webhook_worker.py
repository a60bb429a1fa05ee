from django.core.management import call_command
from django.core.management.base import BaseCommand

from stories.webhooks.tasks import ensure_ticking


class Command(BaseCommand):
    help = (
        "Run the background worker (django-tasks' db_worker) with the webhooks' periodic "
        "tick started: scheduled go-live events, retries and the /healthz heartbeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1, help="Seconds between polls.")

    def handle(self, *args, interval, **options):
        ensure_ticking()
        call_command("db_worker", interval=interval, reload=False, startup_delay=False)
