"""Small pieces of the site's protection that settings point at by name.

Behind a proxy (``BEHIND_PROXY=1``) the ``X-Forwarded-*`` headers say who the reader is and
whether they came over HTTPS, but any client can send them too. They are believed only from
the addresses in ``TRUSTED_PROXIES``: ``ForwardedHeadersMiddleware`` drops them from every
other peer before anything reads them, and ``client_ip_behind_proxy`` walks
``X-Forwarded-For`` back through trusted proxies only.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

FORWARDED_HEADERS_PREFIX = "HTTP_X_FORWARDED_"


@lru_cache(maxsize=8)
def parse_networks(entries):
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def is_trusted_proxy(address):
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in network for network in parse_networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip_behind_proxy(request):
    """The reader's address as the trusted proxy in front saw it (``BEHIND_PROXY=1``).

    Each proxy appends the address it received the request from to X-Forwarded-For, so the
    entries a client cannot forge are the ones trusted proxies wrote: from the right, skip
    trusted proxies; the first address that is not one is the client. From a peer that is
    not a trusted proxy the header means nothing, and the peer itself is the client.
    django-axes counts failed logins against this address.
    """
    peer = request.META.get("REMOTE_ADDR")
    if not is_trusted_proxy(peer):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else peer


def client_ip(request):
    """The reader's address: as the trusted proxy saw it with ``BEHIND_PROXY=1``, otherwise
    the peer's own (without a proxy in front, ``X-Forwarded-For`` is whatever the client
    wrote, even from a loopback peer such as an SSH tunnel)."""
    if settings.BEHIND_PROXY:
        return client_ip_behind_proxy(request)
    return request.META.get("REMOTE_ADDR")


class ForwardedHeadersMiddleware:
    """Drops ``X-Forwarded-*`` and ``Forwarded`` from peers that are not trusted proxies.

    First in the stack, so Django's ``SECURE_PROXY_SSL_HEADER`` (is this request HTTPS?) and
    the host and address lookups never see a header a client wrote itself. Installed only
    with ``BEHIND_PROXY=1``; without it Django reads none of these headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for name in [
                name
                for name in request.META
                if name.startswith(FORWARDED_HEADERS_PREFIX) or name == "HTTP_FORWARDED"
            ]:
                del request.META[name]
        return self.get_response(request)
