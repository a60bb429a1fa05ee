"""The site's URLconf with the floor's two pages in front (``/floor/…``, matched first, so
our pages pay two failed pattern checks: well under a microsecond)."""

from django.urls import path

from newsroom.urls import urlpatterns as site_urlpatterns

from . import views

urlpatterns = [
    path("floor/story/<slug:slug>/", views.story, name="floor_story"),
    path("floor/sections/<slug:slug>/", views.section, name="floor_section"),
    *site_urlpatterns,
]
