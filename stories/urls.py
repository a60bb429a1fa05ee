from django.urls import path, register_converter

from . import previews, views


class UnicodeSlugConverter:
    """Slugs may carry letters of any script: headlines are not only in English."""

    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UnicodeSlugConverter, "uslug")

app_name = "stories"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("sections/<uslug:slug>/", views.SectionView.as_view(), name="section"),
    path("tags/<uslug:slug>/", views.TagView.as_view(), name="tag"),
    path("bylines/<uslug:slug>/", views.BylineView.as_view(), name="byline"),
    path(
        "<int:year>/<int:month>/<int:day>/<uslug:slug>/",
        views.StoryDetailView.as_view(),
        name="detail",
    ),
    path("preview/<str:token>/", previews.shared_preview, name="shared_preview"),
]
