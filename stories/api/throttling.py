"""Per-client rate limits (DRF throttling): per key for partners, per address otherwise.

Rates are the settings ``API_RATE_PER_KEY`` and ``API_RATE_ANONYMOUS`` (``600/minute``,
``60/minute`` by default; DRF's forms: a number per second, minute, hour or day), read on
every request. The counters live in the configured cache, so every process on the
machine (and with ``REDIS_URL``, every machine) shares them.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from stories.delivery.generation import database_scope
from stories.security import client_ip

from .access import api_key_of


class DatabaseScopedThrottle(SimpleRateThrottle):
    """Counters named for this database too: sites on other databases sharing one cache
    keep their own (a key prefix 'ab12' on one site is not the same partner on another)."""

    cache_format = "throttle_%(database)s_%(scope)s_%(ident)s"

    def counter(self, ident):
        return self.cache_format % {
            "database": database_scope(),
            "scope": self.scope,
            "ident": ident,
        }


class ApiKeyRateThrottle(DatabaseScopedThrottle):
    scope = "api_key"

    def get_rate(self):
        return settings.API_RATE_PER_KEY

    def get_cache_key(self, request, view):
        api_key = api_key_of(request)
        if api_key is None:
            return None
        return self.counter(api_key.prefix)


class AnonymousRateThrottle(DatabaseScopedThrottle):
    """Per address (``stories.security.client_ip``: the proxy's view only with
    ``BEHIND_PROXY=1``), so one client cannot pose as many with a forged
    ``X-Forwarded-For``."""

    scope = "api_anonymous"

    def get_rate(self):
        return settings.API_RATE_ANONYMOUS

    def get_cache_key(self, request, view):
        if api_key_of(request) is not None:
            return None
        return self.counter(client_ip(request))
