"""Django's admin app with the newsroom's admin site (``stories.editorial.site``) as its
default site. Named in INSTALLED_APPS in place of ``django.contrib.admin``; imports no
models, as it is loaded before they are."""

from django.contrib.admin.apps import AdminConfig


class NewsroomAdminConfig(AdminConfig):
    default_site = "stories.editorial.site.NewsroomAdminSite"
