"""The signature on each webhook request, which receivers check (docs/webhooks.md).

``Newsroom-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + raw body>``: the time
is signed with the body, so a receiver can refuse a replayed request that is too old.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Newsroom-Signature"
TOLERANCE_SECONDS = 300


def signature(secret, timestamp, body):
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret, body, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret, header, body, now=None, tolerance=TOLERANCE_SECONDS):
    """What a receiver does (the docs show the same in a few lines): True if ``header``
    signs ``body`` with ``secret`` and its time is within ``tolerance`` seconds of now."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, fields.get("v1", ""))
