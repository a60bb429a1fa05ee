"""/api/v1/: the read API, its OpenAPI schema and its documentation page."""

from django.urls import path, re_path
from django.views.decorators.vary import vary_on_headers
from drf_spectacular.views import SpectacularAPIView

from . import docs, views

app_name = "api"
urlpatterns = [
    path("stories/", views.StoryList.as_view(), name="stories"),
    path("stories/by-path/", views.StoryByPath.as_view(), name="story-by-path"),
    path("stories/<int:pk>/", views.StoryDetail.as_view(), name="story"),
    path("sections/", views.SectionList.as_view(), name="sections"),
    path("tags/", views.TagList.as_view(), name="tags"),
    path("bylines/", views.BylineList.as_view(), name="bylines"),
    # The schema differs by nothing, but a cache in front must not be told otherwise.
    path("schema/", vary_on_headers("Authorization")(SpectacularAPIView.as_view()), name="schema"),
    path("docs/", docs.ApiDocs.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/v1/ (a story id that is not a number, a misspelt list) is a
    # JSON 404 like the API's own, not the site's HTML page.
    re_path(r"^.*$", views.not_found, name="not-found"),
]
