from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StoriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stories"
    verbose_name = "Newsroom"

    def ready(self):
        from django.db.models.signals import post_delete
        from simple_history.signals import pre_create_historical_record

        from .delivery.generation import connect_signals
        from .editorial.revisions import snapshot_on_save
        from .images import delete_library_files
        from .listings import connect_signals as connect_listing_signals
        from .models import Image, Story
        from .roles import sync_roles_after_migrate
        from .webhooks.tasks import connect_signals as connect_webhook_signals

        # Keeps the Reporter and Editor groups equal to stories.roles after every migrate.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
        connect_signals()
        connect_webhook_signals()
        connect_listing_signals()
        pre_create_historical_record.connect(
            snapshot_on_save, sender=Story.history.model, dispatch_uid="story-revision-relations"
        )
        post_delete.connect(delete_library_files, sender=Image, dispatch_uid="media-image")
