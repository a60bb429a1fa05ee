import logging

from django_tasks_db.management.commands import db_worker

from stories.webhooks.tasks import ensure_ticking


class Command(db_worker.Command):
    help = (
        "Run the background worker (django-tasks' db_worker, with all its options) with the "
        "webhooks' periodic tick started: scheduled go-live events, retries and the "
        "/healthz heartbeat."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # No autoreloader (db_worker's default with DEBUG on): its child process would
        # outlive `make run`'s Ctrl-C; and no random start delay. An idle worker looks for
        # tasks five times a second (db_worker's default is once): purging the cache in
        # front after an edit (stories.delivery.tasks) should take well under a second.
        parser.set_defaults(reload=False, startup_delay=False, interval=0.2)

    def configure_logging(self, verbosity):
        super().configure_logging(verbosity)
        if verbosity == 1:
            # db_worker logs two lines per task at INFO: every five seconds, for the tick.
            for name in ("django_tasks", "django_tasks_db"):
                logging.getLogger(name).setLevel(logging.WARNING)

    def handle(self, *args, **options):
        ensure_ticking()
        super().handle(*args, **options)
