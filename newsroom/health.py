"""``/healthz`` for load balancers and process managers: is this app server able to serve?

It also says when the webhook worker has not run for a minute ("worker stale"), still with
200: readers are served without the worker, and a load balancer must not take the site
down over late webhooks. Monitoring looks for the line.
"""

from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

from stories.webhooks.tasks import worker_is_stale


@never_cache
def healthz(request):
    """200 "ok" when the database answers a trivial query, 503 when it does not.

    It goes through the whole middleware stack on purpose: the benchmark uses it as the
    framework's floor cost, and a probe should exercise what a reader's request does.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        stale = worker_is_stale()
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    body = "ok\n" if stale is None else f"ok\nworker stale: last ran {stale}\n"
    return HttpResponse(body, content_type="text/plain")
