"""/api/v1/: the read API, its OpenAPI schema and its documentation page."""

from django.urls import path
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
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.ApiDocs.as_view(url_name="api:schema"), name="docs"),
]
