import uuid

from django.db import migrations, models


def create_identity(apps, schema_editor):
    apps.get_model("stories", "DatabaseIdentity").objects.using(
        schema_editor.connection.alias
    ).get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0011_admin_hardening"),
    ]

    operations = [
        migrations.CreateModel(
            name="DatabaseIdentity",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.UUIDField(default=uuid.uuid4, editable=False)),
            ],
            options={"verbose_name_plural": "database identity"},
        ),
        migrations.RunPython(create_identity, migrations.RunPython.noop),
    ]
