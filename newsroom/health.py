"""``/healthz`` for load balancers and process managers: is this app server able to serve?"""

from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache


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
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
