"""Django's admin autodiscovery imports ``stories.admin``; the admin lives in the editorial wing."""

from .editorial import admin, api_keys, front_page, site_pages, webhooks  # noqa: F401
