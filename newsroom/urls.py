"""Top-level URL wiring: the admin, uploaded media, then the public site."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
]

if settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage":
    # With media on local disk and no other server in front, Django serves it, with DEBUG on
    # or off; `static()` would do so only with DEBUG on. External storage serves its own.
    urlpatterns.append(
        re_path(
            r"^%s(?P<path>.*)$" % settings.MEDIA_URL.lstrip("/"),
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )

urlpatterns.append(path("", include("stories.urls")))
