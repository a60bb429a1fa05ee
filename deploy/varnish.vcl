# Varnish in front of Newsroom (`make serve-cache`; docs/caching.md).
#
# Anonymous readers' pages are shared; anything personal passes straight to the app:
# requests with the session cookie (staff, their previews), /admin/, shared previews, the
# API with an Authorization header, and every method but GET and HEAD. Only responses that
# carry surrogate keys (the app's `xkey` header, set on public reader pages only) and no
# Set-Cookie are stored, for the s-maxage the app gives (never past the next scheduled
# go-live). The app purges by key after each change (stories/delivery/frontend.py): a
# PURGE request with an `xkey-purge` header, accepted from localhost only.
#
# The backend's port is the app's (APP_PORT): `make serve-cache` and the tests write it in.
vcl 4.1;

import std;
import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "8001";
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Purging is for the app on this machine only"));
        }
        if (req.http.xkey-purge) {
            set req.http.x-purged = xkey.purge(req.http.xkey-purge);
        } elsif (req.http.xkey-softpurge) {
            set req.http.x-purged = xkey.softpurge(req.http.xkey-softpurge);
        } else {
            return (synth(400, "Name the keys in an xkey-purge header"));
        }
        return (synth(200, "Purged " + req.http.x-purged + " objects"));
    }
    # The port readers asked for, which their Host header carries (the app, with
    # BEHIND_PROXY=1, caches pages only for the Host spelled the canonical way). A TLS
    # terminator in front sets X-Forwarded-Proto and -Port itself: then drop this line.
    set req.http.X-Forwarded-Port = std.port(server.ip);
    # The scheme is what a TLS terminator on this machine says; a reader's own
    # X-Forwarded-Proto would otherwise be believed by the app behind (BEHIND_PROXY=1) and
    # give that reader a copy of every page of its own.
    if (client.ip !~ purgers) {
        unset req.http.X-Forwarded-Proto;
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url ~ "^/admin(/|$)" || req.url ~ "^/preview/") {
        return (pass);
    }
    if (req.http.Authorization) {
        return (pass);
    }
    # The session cookie: a logged-in user (or one who was), whose pages may be previews or
    # carry their name. Django's default name; change both if SESSION_COOKIE_NAME changes.
    if (req.http.Cookie ~ "(^|;\s*)sessionid=") {
        return (pass);
    }
    # Any other cookie (the CSRF token, analytics) changes no reader page: without it the
    # page is shared. (The app never stores or serves a page that set or read a cookie.)
    unset req.http.Cookie;
    return (hash);
}

sub vcl_hash {
    # Behind a TLS terminator, http and https pages carry different links.
    hash_data(req.http.X-Forwarded-Proto);
}

sub vcl_backend_response {
    # Stored only with surrogate keys (so a purge can reach it) and no cookie being set;
    # anything else is fetched afresh every time (hit-for-miss, briefly, so a later
    # cacheable answer at this address is stored).
    if (beresp.http.Set-Cookie || !beresp.http.xkey) {
        set beresp.uncacheable = true;
        set beresp.ttl = 10s;
        return (deliver);
    }
    # No stale copies: the lifetime the app gives already stops at the next go-live, and a
    # purged or expired page must not be served while it is fetched again.
    set beresp.grace = 0s;
    return (deliver);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # The keys are for this cache; readers need not see them.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
}
