from django.apps import AppConfig


class StoriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stories"
    verbose_name = "Newsroom"

    def ready(self):
        from .caching import connect_signals

        connect_signals()
