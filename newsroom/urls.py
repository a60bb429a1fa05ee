"""Top-level URL wiring: the admin, uploaded media, then the public site."""

import re

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.views.static import serve

from .health import healthz


def serve_media(request, path):
    # `serve` refuses paths outside MEDIA_ROOT (400); a name the file system cannot even
    # look up (too long, say) is simply not there.
    try:
        return serve(request, path, document_root=settings.MEDIA_ROOT)
    except OSError:
        raise Http404("No such file.") from None


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

if settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage":
    # With media on local disk and no other server in front, Django serves it, with DEBUG on
    # or off; `static()` would do so only with DEBUG on. External storage serves its own.
    urlpatterns.append(
        re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$", serve_media)
    )

urlpatterns.append(path("", include("stories.urls")))
