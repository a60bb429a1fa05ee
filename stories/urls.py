from django.urls import path, register_converter

from .reader import feeds, previews, sitemaps, views


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
    path("tags/<uslug:slug>/", views.follow_tag_merges(views.TagView.as_view()), name="tag"),
    path("bylines/<uslug:slug>/", views.BylineView.as_view(), name="byline"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("pages/<uslug:slug>/", views.SitePageView.as_view(), name="page"),
    path("feed/", feeds.LatestStoriesFeed(), name="feed"),
    path("feed/atom/", feeds.LatestStoriesAtomFeed(), name="atom_feed"),
    path("sections/<uslug:slug>/feed/", feeds.SectionFeed(), name="section_feed"),
    path("sections/<uslug:slug>/feed/atom/", feeds.SectionAtomFeed(), name="section_atom_feed"),
    path("tags/<uslug:slug>/feed/", views.follow_tag_merges(feeds.TagFeed()), name="tag_feed"),
    path(
        "tags/<uslug:slug>/feed/atom/",
        views.follow_tag_merges(feeds.TagAtomFeed()),
        name="tag_atom_feed",
    ),
    path("bylines/<uslug:slug>/feed/", feeds.BylineFeed(), name="byline_feed"),
    path("bylines/<uslug:slug>/feed/atom/", feeds.BylineAtomFeed(), name="byline_atom_feed"),
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap"),
    # The story sitemap's children are streamed, by a view of their own (the index names
    # them as ``sitemap_section``, which gives the same address).
    path("sitemap-stories.xml", sitemaps.story_sitemap, name="story_sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.sitemap_section, name="sitemap_section"),
    path("robots.txt", views.robots_txt, name="robots"),
    path(
        "<int:year>/<int:month>/<int:day>/<uslug:slug>/",
        views.StoryDetailView.as_view(),
        name="detail",
    ),
    path("preview/<str:token>/", previews.shared_preview, name="shared_preview"),
]
