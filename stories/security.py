"""Small pieces of the site's protection that settings point at by name."""


def client_ip_behind_proxy(request):
    """The reader's address as the trusted proxy in front saw it (``BEHIND_PROXY=1``).

    The proxy appends the address it received the request from to X-Forwarded-For, so the
    right-most entry is the only one a client cannot forge; the ones before it are whatever
    the client sent. django-axes counts failed logins against this address.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-1] if hops else request.META.get("REMOTE_ADDR")
