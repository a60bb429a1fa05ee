"""The API's documentation page: Swagger UI from our own static files (drf-spectacular-sidecar),
its settings script as a separate file, no inline script or style: it works under the
site's Content Security Policy and loads nothing from other sites."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocs(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
