# Each section's, tag's and byline's latest change, kept on write (stories.listings), so the
# sitemaps read one row per listing instead of grouping a million stories' links. The rows
# are worked out here once from the stories, as stories.listings.refresh does for a few.

from django.db import migrations, models
from django.db.models import Max, Min, Q
from django.db.models.functions import Greatest
from django.utils import timezone

RELATED = {"section": "section", "tag": "tagged_items__tag", "byline": "story_bylines__byline"}


def fill(apps, schema_editor):
    Story = apps.get_model("stories", "Story")
    ListingChange = apps.get_model("stories", "ListingChange")
    now = timezone.now()
    for kind, related in RELATED.items():
        rows = (
            Story.objects.filter(status="published")
            .order_by()
            .values(related)
            .annotate(
                live=Max(Greatest("updated_at", "published_at"), filter=Q(published_at__lte=now)),
                upcoming=Min("published_at", filter=Q(published_at__gt=now)),
            )
            .values_list(related, "live", "upcoming")
        )
        ListingChange.objects.bulk_create(
            (
                ListingChange(kind=kind, listing_id=pk, changed_at=live, next_live_at=upcoming)
                for pk, live, upcoming in rows.iterator()
                if pk is not None
            ),
            batch_size=1000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0025_search_document_lookups"),
    ]

    operations = [
        migrations.CreateModel(
            name="ListingChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("section", "Section"), ("tag", "Tag"), ("byline", "Byline")],
                        max_length=7,
                    ),
                ),
                ("listing_id", models.BigIntegerField()),
                (
                    "changed_at",
                    models.DateTimeField(
                        help_text="The latest save or publication among its live stories.",
                        null=True,
                    ),
                ),
                (
                    "next_live_at",
                    models.DateTimeField(
                        help_text="When its next scheduled story goes live: the row is due then.",
                        null=True,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "listing_id"), name="unique_listing_change"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ListingChangeNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=7)),
                ("listing_id", models.BigIntegerField()),
                ("changed_at", models.DateTimeField(null=True)),
                ("next_live_at", models.DateTimeField(null=True)),
                (
                    "stale",
                    models.BooleanField(
                        default=False,
                        help_text="The listing lost a story: work its row out again.",
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
