"""Subscriber addresses: only http(s) to public IP addresses (no server-side request forgery).

A URL is checked when it is registered and again at every delivery, where it is resolved
once and the request is sent to the very address that was checked (so a DNS answer that
changes between the check and the connection cannot point us at the internal network).
``WEBHOOKS_ALLOW_PRIVATE=1`` lifts the address rule for tests and intranets.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

SCHEMES = {"http": 80, "https": 443}


class RefusedAddress(ValidationError):
    """The URL is malformed, or its host resolves to an address we never send to."""


@dataclass(frozen=True)
class Target:
    """Where to send a request: the URL's parts and the one IP address vetted for it."""

    scheme: str
    host: str
    port: int
    path: str
    ip: str


def forbidden_reason(ip):
    """Why ``ip`` (an ipaddress object) is no place to send to, or None if it is public."""
    embedded = None
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo and ip.teredo[1])
    if embedded is not None:
        return forbidden_reason(embedded)
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("private", ip.is_private),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return label
    if not ip.is_global:  # shared address space (100.64.0.0/10) and other special ranges
        return "not public"
    return None


def resolve(host, port):
    """Every IP address ``host`` resolves to (a seam tests patch to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def split_url(url):
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise RefusedAddress("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        raise RefusedAddress("The address has no host name.")
    if parts.username or parts.password:
        raise RefusedAddress("Leave credentials out of the address: the secret signs requests.")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as error:
        raise RefusedAddress("The address's port is not a number from 1 to 65535.") from error
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def vet(url):
    """The ``Target`` to send ``url``'s requests to; ``RefusedAddress`` with a reason an
    editor can act on if it is malformed, does not resolve, or resolves to any address
    that is not public (unless ``WEBHOOKS_ALLOW_PRIVATE``)."""
    scheme, host, port, path = split_url(url)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as error:
        raise RefusedAddress(f"The host name {host} does not resolve.") from error
    if not addresses:
        raise RefusedAddress(f"The host name {host} does not resolve.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            reason = forbidden_reason(ipaddress.ip_address(address.split("%")[0]))
            if reason:
                raise RefusedAddress(
                    f"{host} resolves to {address}, a {reason} address: webhooks are only "
                    "sent to public addresses (an operator can allow private ones with "
                    "WEBHOOKS_ALLOW_PRIVATE=1)."
                )
    return Target(scheme=scheme, host=host, port=port, path=path, ip=addresses[0])
