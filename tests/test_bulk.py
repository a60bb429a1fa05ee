"""stories.importer.bulk.insert_rows: the rows bulk_create would write, without a model per row."""

import pytest
from django.utils import timezone

from stories.importer.bulk import insert_rows
from stories.models import ImportRecord, Story

from .factories import StoryFactory

pytestmark = pytest.mark.django_db


def test_insert_rows_writes_what_bulk_create_writes():
    story = StoryFactory(published=True)
    revision_model = Story.history.model
    values = {
        **{field.attname: getattr(story, field.attname) for field in revision_model.tracked_fields},
        "history_date": timezone.now(),
        "history_user_id": None,
        "history_change_reason": "Compared",
        "history_type": "~",
        "byline_slugs": ["ana-lima"],
        "tag_names": ["Peru", "Chile"],
    }
    revision_model.objects.bulk_create([revision_model(**values)])
    insert_rows(revision_model, [values])
    compared = [field.attname for field in revision_model._meta.concrete_fields]
    compared.remove("history_id")
    by_bulk_create, by_insert_rows = revision_model.objects.filter(
        history_change_reason="Compared"
    ).values_list(*compared)
    assert by_insert_rows == by_bulk_create


def test_insert_rows_refuses_fields_only_a_save_can_fill():
    story = StoryFactory()
    with pytest.raises(ValueError, match="created_at"):
        insert_rows(Story, [{"headline": "x", "created_at": story.created_at}])
    insert_rows(ImportRecord, [])  # nothing to write, nothing written
    assert not ImportRecord.objects.exists()
