"""Newsroom settings: one module, read from the environment, with safe local defaults.

Local state (the SQLite database, uploaded media, collected static files, the demo
editor's password) lives in ``var/``, which git ignores.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from .localfiles import private_directory, private_sqlite_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NEWSROOM_VAR_DIR", BASE_DIR / "var"))

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in TRUE_WORDS


def env_list(name, default):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Local work: `make run` writes a git-ignored `.env` (DEBUG=1 and a generated SECRET_KEY) so
# that `manage.py ...` works in the checkout as the README shows. The environment always wins
# over it. Production has none, and `make serve` and the tests read none (NEWSROOM_ENV_FILE="").
ENV_FILE = os.environ.get("NEWSROOM_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)


DEBUG = env_flag("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (for local work, DEBUG=1 or `make run`)."
        )
    # Development only: a throwaway key per process is fine because nothing signed
    # under DEBUG needs to survive a restart except sessions, and those can re-login.
    SECRET_KEY = "django-insecure-development-only-" + os.urandom(16).hex()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "stories.editorial.apps.NewsroomAdminConfig",  # django.contrib.admin, titled "Newsroom desk"
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "taggit",
    "simple_history",
    "django_prose_editor",  # the story body's rich-text editor (its static files)
    "csp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "stories",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cached pages for anonymous readers, answered before sessions, CSRF and the rest.
    "stories.delivery.page_cache.ReaderPageCacheHitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETag on every GET, and 304 for a matching If-None-Match, cached pages included.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "stories.delivery.page_cache.ReaderPageCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each story revision saved during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsroom.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "stories.reader.context_processors.site",
                "stories.delivery.context_processors.fragment_cache",
            ],
            # The desk's template tags live in its own wing (stories/templatetags is the
            # reader's, which may not import the editorial wing).
            "libraries": {"desk": "stories.editorial.desk_tags"},
        },
    },
]

WSGI_APPLICATION = "newsroom.wsgi.application"
ASGI_APPLICATION = "newsroom.asgi.application"

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    # var/ holds the database, the secret key, staged imports and the demo password: only
    # the account that runs the site may read it.
    private_directory(VAR_DIR)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles a query whose estimated cost passes jit_above_cost: at a
    # million stories the desk's counts and lists pass it, and compiling took 0.9 s of a
    # 1.1 s page whose query ran in 0.1 s. A web application's short queries never gain
    # from it, so each connection turns it off ("-c jit=off" at connect). POSTGRES_JIT=server
    # leaves the server's setting alone (PgBouncer in transaction mode refuses startup
    # options unless told to ignore them: there, set jit = off on the server or role).
    jit = os.environ.get("POSTGRES_JIT", "off").strip().lower()
    if jit != "server":
        if jit not in {"on", "off"}:
            raise ImproperlyConfigured("POSTGRES_JIT must be off, on or server.")
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c jit={jit}"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers keep reading while an import writes; IMMEDIATE avoids
        # "database is locked" when two writers upgrade from read to write at once.
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # SQLite gives its -wal and -shm files the database file's mode, so 0600 covers all three.
    private_sqlite_file(DATABASES["default"]["NAME"])
    # The desk's index carries its stories' creators for PostgreSQL's index-only counts
    # (story_desk_idx); SQLite keeps the index without them, which is all it needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

REDIS_URL = os.environ.get("REDIS_URL", "")
# Pages, cards, feeds and lookups are cached per content generation, so a real site
# stores thousands of entries; Django's default of 300 would evict them as fast as they come.
# (Redis has no such limit: give it a maxmemory policy instead.)
CACHE_MAX_ENTRIES = int(os.environ.get("CACHE_MAX_ENTRIES", "5000"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "newsroom"),
        }
    }
elif CACHE_DIR := os.environ.get("CACHE_DIR", str(VAR_DIR / "cache")):
    # Without Redis, every process on this machine (server workers, `manage.py` imports,
    # the shell) must share one cache, or an edit made in one would invalidate cached pages
    # in that process only; a folder of files does that with no setup. CACHE_DIR="" gives
    # a per-process memory cache (the tests use it).
    CACHES = {
        "default": {
            "BACKEND": "newsroom.filecache.FileCache",
            "LOCATION": CACHE_DIR,
            "OPTIONS": {"MAX_ENTRIES": CACHE_MAX_ENTRIES},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": CACHE_MAX_ENTRIES},
        }
    }
# The templates' {% cache %} blocks use this alias when FRAGMENT_CACHE_SECONDS is 0: with a
# timeout of 0 Django's tag still looks each key up and stores the rendering
# (stories/delivery/context_processors.py).
CACHES["fragments_off"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
# With Redis, sessions live there too: any app server can read any reader's session and
# no session table grows in the database. Without it, the database keeps them.
SESSION_ENGINE = os.environ.get(
    "SESSION_ENGINE",
    "django.contrib.sessions.backends.cache"
    if REDIS_URL
    else "django.contrib.sessions.backends.db",
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Backups (dumpdata) keep times to the microsecond; see stories/serializers.py.
SERIALIZATION_MODULES = {"json": "stories.serializers"}

# Password guessing: django-axes counts failed logins per username *and* address, and after
# AXES_FAILURE_LIMIT of them refuses that pair (even the right password) for the cool-off
# time. Per pair, so one guesser cannot lock an editor out from everywhere. The counts live
# in the database, which every worker and app server shares with or without Redis (a
# local-memory cache would give each gunicorn worker its own count), survive restarts, and
# can be listed in the admin and lifted per user (manage.py axes_reset_username).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# Only successful and failed logins are worth a row; every admin page view is not.
AXES_DISABLE_ACCESS_LOG = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en-us")
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Absolute: Django prefixes a relative one with the script prefix of the first request that
# reads it and keeps that for the whole process, so one request's SCRIPT_NAME would decide
# every reader's stylesheet and logo addresses.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names once collected; with DEBUG on, Django serves plain names
    # without needing the manifest, so one setting works for both.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# S3-compatible object storage for uploads (AWS S3, MinIO, Cloudflare R2, ...) when a bucket
# is named; credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY as boto3 reads them.
S3_BUCKET = os.environ.get("S3_BUCKET", "")
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("S3_REGION") or None,
            "custom_domain": os.environ.get("S3_CUSTOM_DOMAIN") or None,
            "location": os.environ.get("S3_LOCATION", "media"),
            # Public media by default: story images are for everyone, and signed URLs
            # would make every page unique (no caching). Private buckets set it to 1.
            "querystring_auth": env_flag("S3_QUERYSTRING_AUTH"),
            "file_overwrite": False,
        },
    }

# Security. Always on: no MIME sniffing, a strict referrer policy, no framing, and a
# Content Security Policy. Only behind HTTPS (`HTTPS=1`, the production switch): redirect
# plain http, secure cookies and HSTS, which would lock a plain-http local run out.
HTTPS = env_flag("HTTPS")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = HTTPS
# Load balancers probe over plain http inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_flag("HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = HTTPS and env_flag("HSTS_PRELOAD", True)
# The proxies whose X-Forwarded-* headers are believed (addresses or networks); from any
# other peer those headers are dropped before anything reads them.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "127.0.0.1,::1")
try:
    for _proxy in TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None
BEHIND_PROXY = env_flag("BEHIND_PROXY")
if BEHIND_PROXY:
    # Only when a proxy that sets X-Forwarded-Proto and X-Forwarded-For is in front.
    MIDDLEWARE.insert(0, "stories.security.ForwardedHeadersMiddleware")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The login lockout then counts the address the proxy saw, not the proxy's own.
    AXES_CLIENT_IP_CALLABLE = "stories.security.client_ip_behind_proxy"
    # The port the proxy was asked on (Varnish says so in deploy/varnish.vcl): a Host with
    # that port is the canonical one, whose pages are cached.
    USE_X_FORWARDED_PORT = True

# Everything the site and the admin load comes from this origin (no inline scripts or
# styles anywhere); uploads may come from the S3 domain.
MEDIA_ORIGINS = [
    origin
    for origin in (
        f"https://{os.environ['S3_CUSTOM_DOMAIN']}" if os.environ.get("S3_CUSTOM_DOMAIN") else "",
        os.environ.get("S3_ENDPOINT_URL", "") if S3_BUCKET else "",
    )
    if origin
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", *MEDIA_ORIGINS],
        # A nonce only where a page asks for one (request.csp_nonce): the admin's story
        # editor loads its modules through an inline import map (stories.editorial.writing).
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        **({"upgrade-insecure-requests": True} if HTTPS else {}),
    }
}

TAGGIT_CASE_INSENSITIVE = True

SITE_NAME = os.environ.get("SITE_NAME", "Newsroom")
STORIES_PER_PAGE = 20
# Top stories under the home page's lead: editors pin them (stories.models.FrontPagePin), the
# newest live stories fill the places left.
FRONT_PAGE_TOP_STORIES = 4
SEARCH_RESULTS_PER_PAGE = 20
# Reader search ranks the newest this many matches (stories.reader.search).
SEARCH_CANDIDATES = 1000
FEED_ITEMS = 20
# The site's domain as it is published. Feed entry ids (tag: URIs) are built from it and must
# never change, so set it once for production and leave it alone.
SITE_DOMAIN = os.environ.get("SITE_DOMAIN", "localhost")
# The publisher logo in structured data; a static path or an absolute URL.
SITE_LOGO = os.environ.get("SITE_LOGO", "img/logo.png")
# Addresses per sitemap file: the sitemap protocol's limit. The index names a child file
# (``sitemap-stories.xml?p=2``...) for each further this many stories.
SITEMAP_MAX_URLS = 50_000
# Anonymous readers' pages are cached whole this long; 0 turns the page cache off.
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "300"))
# "X-Page-Cache: HIT" or "MISS" on reader pages the page cache looked up (`make soak` counts
# them); off by default.
PAGE_CACHE_STATUS_HEADER = env_flag("PAGE_CACHE_STATUS_HEADER")
# Story cards, the section menu, listing counts, feeds and each page's meta tags and content
# are cached per content generation (see stories/delivery/fragments.py and the templates'
# {% cache %} blocks) at most this long; 0 turns that off.
FRAGMENT_CACHE_SECONDS = int(os.environ.get("FRAGMENT_CACHE_SECONDS", "300"))
# How long a CDN or other shared cache may keep a public page (browsers always revalidate).
CDN_CACHE_SECONDS = int(os.environ.get("CDN_CACHE_SECONDS", "60"))
# The shared cache in front (Varnish with xkey, a CDN): purged by surrogate key after every
# change commits, by the background worker (stories/delivery/frontend.py, docs/caching.md).
# `make serve-cache` sets FRONTEND_CACHE_VARNISH_URL to its Varnish.
FRONTEND_CACHE = {}
if FRONTEND_CACHE_VARNISH_URL := os.environ.get("FRONTEND_CACHE_VARNISH_URL", ""):
    FRONTEND_CACHE["varnish"] = {
        "BACKEND": "stories.delivery.frontend.VarnishBackend",
        "LOCATION": FRONTEND_CACHE_VARNISH_URL,
    }
# What the surrogate keys in headers and purges start with, so sites sharing one Varnish
# purge only their own pages; by default a digest naming the database.
FRONTEND_CACHE_KEY_PREFIX = os.environ.get("FRONTEND_CACHE_KEY_PREFIX", "")
# A briefing larger than this is refused before it is read into memory.
BRIEFING_MAX_BYTES = int(os.environ.get("BRIEFING_MAX_BYTES", str(32 * 1024 * 1024)))
# Admin imports wait in var/imports between preview and confirmation: all of them together
# may take at most this much disk (each user keeps their latest three for an hour).
BRIEFING_STAGING_MAX_BYTES = int(
    os.environ.get("BRIEFING_STAGING_MAX_BYTES", str(4 * BRIEFING_MAX_BYTES))
)

# Uploaded images: larger files or more pixels are refused before Pillow decodes them, which
# is what defeats decompression bombs (a few KB of PNG that would unpack to gigabytes).
IMAGE_MAX_BYTES = int(os.environ.get("IMAGE_MAX_BYTES", str(10 * 1024 * 1024)))
IMAGE_MAX_PIXELS = int(os.environ.get("IMAGE_MAX_PIXELS", str(40_000_000)))
# An upload is cut off at its field's limit above, the files of a request at the largest
# limit, before Django writes them to a temporary file, and no file data is kept from anyone
# but signed-in staff (stories/uploads.py); no form takes more than one file. Uploaded media
# and its folders are the app's alone.
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_HANDLERS = [
    "stories.uploads.SizeCappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Widths of the renditions made once per uploaded image, served with srcset.
IMAGE_RENDITION_WIDTHS = (480, 800, 1200)
# How long a shareable preview link works unless an editor sets another time.
PREVIEW_LINK_HOURS = int(os.environ.get("PREVIEW_LINK_HOURS", "48"))

# E-mail: the desk's workflow notifications (stories/editorial/notifications.py). EMAIL_URL
# names the mail server, parsed by dj-email-url (smtp://user:password@host:587/?tls=True;
# ?ssl=True for port 465; console:). Without it, DEBUG (`make run`) prints messages on the
# console and production uses an SMTP server on localhost. Kept in a lower-case name: it
# may hold a password, and settings pages show upper-case names.
email_url = os.environ.get("EMAIL_URL") or ("console:" if DEBUG else "smtp://localhost:25")
email_config = {key: value for key, value in dj_email_url.parse(email_url).items() if value}
EMAIL_BACKEND = email_config.pop("EMAIL_BACKEND")
EMAIL_HOST = email_config.get("EMAIL_HOST", "localhost")
EMAIL_PORT = email_config.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = email_config.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = email_config.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = email_config.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = email_config.get("EMAIL_USE_SSL", False)
# A mail server that never answers must not hold a request forever (?timeout= to change).
EMAIL_TIMEOUT = email_config.get("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Newsroom desk <desk@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
del email_url, email_config
# Webhooks (stories/webhooks, docs/webhooks.md): a background worker (`manage.py
# webhook_worker`, started by `make run` and `make serve`) runs django-tasks' tasks, stored
# in the database. Subscribers on private, loopback or link-local addresses are refused
# unless WEBHOOKS_ALLOW_PRIVATE is on (tests, intranets).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
WEBHOOKS_ALLOW_PRIVATE = env_flag("WEBHOOKS_ALLOW_PRIVATE")
WEBHOOKS_TIMEOUT = float(os.environ.get("WEBHOOKS_TIMEOUT", "5"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- The read API: /api/v1/ (stories/api/, docs/api.md) ---------------------------------
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
# Stories per page, and the most a client may ask for with ?page_size=.
API_PAGE_SIZE = int(os.environ.get("API_PAGE_SIZE", "20"))
API_MAX_PAGE_SIZE = int(os.environ.get("API_MAX_PAGE_SIZE", "100"))
# Requests per client: per key, and per address (as the trusted proxy saw it) without one.
API_RATE_PER_KEY = os.environ.get("API_RATE_PER_KEY", "600/minute")
API_RATE_ANONYMOUS = os.environ.get("API_RATE_ANONYMOUS", "60/minute")
REST_FRAMEWORK = {
    # JSON only: DRF's browsable pages would need inline scripts the CSP forbids.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    # Keys only (Authorization: Bearer); a staff session gives the API no extra rights.
    "DEFAULT_AUTHENTICATION_CLASSES": ["stories.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "stories.api.throttling.ApiKeyRateThrottle",
        "stories.api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_TOKEN": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "Read-only access to published stories in IPTC ninjs 2.1. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from our own static files: the CSP allows nothing from other sites.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
