"""Top-level URL wiring: the admin, uploaded media, then the public site."""

import re

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.urls import include, path, re_path
from django.utils.cache import patch_vary_headers
from django.views.static import serve

from stories.reader.media import PUBLIC_CACHE, media_access

from .health import healthz


def serve_media(request, path):
    # Only files a story or byline owns, to the readers or staff who may see them (see
    # stories.reader.media); never a directory listing. `serve` refuses paths outside MEDIA_ROOT
    # (400); a name the file system cannot even look up (too long, say) is simply not there.
    cache_control = media_access(request.user, path)
    if cache_control is None:
        raise Http404("No such file.")
    try:
        response = serve(request, path, document_root=settings.MEDIA_ROOT)
    except OSError:
        raise Http404("No such file.") from None
    response["Cache-Control"] = cache_control
    if cache_control != PUBLIC_CACHE:
        patch_vary_headers(response, ["Cookie"])
    return response


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Where the links editors e-mail to reporters lead (stories.editorial.people): choose a
    # password. Before the admin, whose catch-all would take these addresses.
    path(
        "admin/password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "admin/password/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    # The read API (stories/api/), before the site's catch-all paths.
    path("api/v1/", include("stories.api.urls")),
]

if settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage":
    # With media on local disk and no other server in front, Django serves it, with DEBUG on
    # or off; `static()` would do so only with DEBUG on. External storage serves its own.
    urlpatterns.append(
        re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$", serve_media)
    )

urlpatterns.append(path("", include("stories.urls")))
