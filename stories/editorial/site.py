"""The admin site: "Newsroom desk", whose home page is the desk (``desk.desk_panels``) and
which keeps Django's list of every model at ``admin:models``.

Installed as the default admin site by ``NewsroomAdminConfig`` (``stories.editorial.apps``),
so ``admin.site`` and ``@admin.register`` everywhere use it.
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from .desk import desk_panels


class NewsroomAdminSite(admin.AdminSite):
    site_header = "Newsroom desk"
    site_title = "Newsroom desk"
    index_title = "Desk"
    index_template = "admin/desk.html"

    def get_urls(self):
        return [
            path("models/", self.admin_view(self.model_index), name="models"),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        context = {"panels": desk_panels(request.user, timezone.now())}
        return super().index(request, {**context, **(extra_context or {})})

    def model_index(self, request):
        """Django's own admin home: every app and model the user may see."""
        context = {
            **self.each_context(request),
            "title": "All models",
            "subtitle": None,
            "app_list": self.get_app_list(request),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/index.html", context)
