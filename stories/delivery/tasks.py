"""The background worker's purges of the cache in front (``stories.delivery.frontend``).

Enqueued after a change commits, run by ``manage.py webhook_worker`` (django-tasks' database
worker). A purge that fails (Varnish restarting, a CDN's API down) is enqueued again after a
growing pause, ``RETRIES`` times; the pages it missed expire after ``CDN_CACHE_SECONDS`` in
any case.
"""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from . import frontend

log = logging.getLogger(__name__)

RETRIES = 8
# A reader's fetch that began before the edit committed may be stored in the cache in front
# after the first purge: a second purge this much later drops it.
REPURGE_AFTER = timedelta(seconds=2)


@task()
def purge_frontend_cache(keys, attempt=1, repurge=True):
    try:
        frontend.purge(keys)
    except frontend.PurgeError:
        if attempt > RETRIES:
            log.exception("Gave up purging %d keys from the cache in front", len(keys))
            return False
        log.warning("Purging the cache in front failed (attempt %d); retrying", attempt)
        pause = timedelta(seconds=min(2**attempt, 300))
        purge_frontend_cache.using(run_after=timezone.now() + pause).enqueue(
            keys, attempt=attempt + 1, repurge=repurge
        )
        return False
    if repurge:
        purge_frontend_cache.using(run_after=timezone.now() + REPURGE_AFTER).enqueue(
            keys, repurge=False
        )
    return True
