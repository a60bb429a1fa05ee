"""Preview links carry a random signed key instead of their ids.

Links made before this get a new key: their old addresses stop working, and the story's
admin page shows the new ones.
"""

import secrets

from django.db import migrations, models

import stories.models


def give_keys(apps, schema_editor):
    PreviewLink = apps.get_model("stories", "PreviewLink")
    for link in PreviewLink.objects.only("pk"):
        PreviewLink.objects.filter(pk=link.pk).update(key=secrets.token_urlsafe(24))


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0008_search_pause_postgresql"),
    ]

    operations = [
        migrations.AddField(
            model_name="previewlink",
            name="key",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(give_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="previewlink",
            name="key",
            field=models.CharField(
                default=stories.models.new_preview_key,
                editable=False,
                max_length=32,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="previewlink",
            name="is_revoked",
            field=models.BooleanField(
                default=False,
                help_text="Tick to stop the link working now. Revoking is final.",
                verbose_name="revoked",
            ),
        ),
    ]
