from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StoriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stories"
    verbose_name = "Newsroom"

    def ready(self):
        from .caching import connect_signals
        from .roles import sync_roles_after_migrate

        # Keeps the Reporter and Editor groups equal to stories.roles after every migrate.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
        connect_signals()
