"""Preview links carry a random signed key instead of their ids; bylines link to staff;
merged tags' addresses redirect.

Links made before this get a new key: their old addresses stop working, and the story's
admin page shows the new ones.
"""

import secrets

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import stories.models


def give_keys(apps, schema_editor):
    PreviewLink = apps.get_model("stories", "PreviewLink")
    for link in PreviewLink.objects.only("pk"):
        PreviewLink.objects.filter(pk=link.pk).update(key=secrets.token_urlsafe(24))


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0010_media_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
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
        migrations.AlterField(
            model_name="byline",
            name="user",
            field=models.OneToOneField(
                blank=True,
                help_text="The staff account that writes under this byline, if any.",
                limit_choices_to={"is_active": True, "is_staff": True},
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="byline",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.CreateModel(
            name="TagSlugRedirect",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slug", models.SlugField(allow_unicode=True, max_length=100, unique=True)),
                (
                    "tag",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slug_redirects",
                        to="taggit.tag",
                    ),
                ),
            ],
        ),
    ]
