"""Schemathesis against the API's live OpenAPI schema: generated requests to every
operation, anonymous and with an embargo key, over a small newsroom; no response may be a
5xx, and every response must conform to the schema (status, content type, body, headers).

Stateless and bounded (a few examples per operation, derandomized, so CI runs the same
requests every time). ``positive_data_acceptance`` is left out on purpose: a made-up
cursor or a query with no word in it is well formed by the schema, yet refused (a
documented 400), as it should be.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stories.models import ApiKey, Correction, Story, StorySlugRedirect

from .factories import BylineFactory, SectionFactory, StoryFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def api_schema(db, settings):
    # Generated requests come fast; the rate limits are tested in tests/test_api.py.
    settings.API_RATE_ANONYMOUS = "100000/minute"
    settings.API_RATE_PER_KEY = "100000/minute"
    world = SectionFactory(name="World", slug="world")
    ada = BylineFactory(name="Ada Lovelace", slug="ada")
    now = timezone.now()
    for n in range(6):
        story = StoryFactory(
            headline=f"Volcano story {n}",
            deck="A deck" if n % 2 else "",
            dateline="REYKJAVIK" if n % 3 else "",
            section=world if n % 2 else SectionFactory(),
            bylines=[ada] if n % 2 else [],
            tags=["Iceland", "Volcanoes"] if n % 2 else [],
            status=Story.Status.PUBLISHED,
            published_at=now - timedelta(hours=n + 1),
        )
    Correction.objects.create(story=story, text="A date was wrong.")
    StorySlugRedirect.objects.create(slug="old-volcano", story=story)
    StoryFactory(scheduled=True, headline="Embargoed volcano", section=world)
    StoryFactory(headline="Draft volcano")
    from newsroom.wsgi import application

    # The requests go through the real WSGI application, which closes the database
    # connection after each one; inside the test's transaction (PostgreSQL) it must stay
    # open, as Django's test client keeps it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def embargo_key(db):
    return ApiKey.issue("Schemathesis", scopes=[ApiKey.Scope.EMBARGO])[1]


def check_every_operation(schema, headers=None, max_examples=12):
    # Each operation in turn, as Hypothesis tests of their own. (Schemathesis' pytest
    # plugin, ``from_fixture``, does not run on pytest 9; this is its Python API.)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case):
            case.call_and_validate(checks=CHECKS, headers=headers)

        conforms()


def test_api_conforms_to_its_schema(api_schema):
    check_every_operation(api_schema)


def test_api_conforms_to_its_schema_for_an_embargo_key(api_schema, embargo_key):
    check_every_operation(
        api_schema, headers={"Authorization": f"Bearer {embargo_key}"}, max_examples=6
    )
