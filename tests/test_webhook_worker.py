"""The real worker process (``manage.py webhook_worker``, which runs django-tasks'
``db_worker``) delivers a signed story.published within seconds of Publish and of a
scheduled go-live: on PostgreSQL against the test database, and on a SQLite file."""

import json
import os
import subprocess
import sys
import textwrap
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from stories.models import Story, WebhookSubscriber
from stories.webhooks.signing import verify

from .factories import StoryFactory
from .webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
SECRET = "worker-test-secret-0123456789"


def worker_env(database_url, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "HTTPS"}}
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        SECRET_KEY="worker-test-" + "k" * 40,
        NEWSROOM_ENV_FILE="",
        NEWSROOM_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=database_url,
        WEBHOOKS_ALLOW_PRIVATE="1",
    )
    return env


def start_worker(env, tmp_path):
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", "webhook_worker", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, log


def stop_worker(process, log, tmp_path):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    return (tmp_path / "worker.log").read_text()


def check_published(receiver, count, timeout):
    assert receiver.wait_for(count, timeout), f"only {len(receiver.requests)} arrived"
    headers, body = receiver.requests[count - 1]
    assert json.loads(body)["event"] == "story.published"
    assert verify(SECRET, headers["Newsroom-Signature"], body)
    return json.loads(body)


def database_url():
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the test run's SQLite database is in memory; the SQLite test below uses a file",
)
def test_worker_delivers_publish_and_scheduled_go_live_on_postgresql(
    client, editor_user, tmp_path, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        WebhookSubscriber.objects.create(
            name="Partner",
            url=receiver.url,
            secret=SECRET,
            events=["story.published"],
        )
        draft = StoryFactory(status=Story.Status.DRAFT)
        process, log = start_worker(worker_env(database_url(), tmp_path), tmp_path)
        try:
            client.force_login(editor_user)
            client.post(
                reverse("admin:stories_story_changelist"),
                {"action": "publish_now", "_selected_action": [draft.pk]},
            )
            assert Story.objects.get(pk=draft.pk).is_live()
            payload = check_published(receiver, 1, timeout=10)
            assert payload["story"]["headlines"][0]["value"] == draft.headline

            scheduled = StoryFactory(
                status=Story.Status.PUBLISHED,
                published_at=timezone.now() + timedelta(seconds=2),
            )
            payload = check_published(receiver, 2, timeout=15)
            assert payload["story"]["headlines"][0]["value"] == scheduled.headline
        finally:
            output = stop_worker(process, log, tmp_path)
        assert len(receiver.requests) == 2, output


SQLITE_SETUP = """
from stories.models import WebhookSubscriber
from tests.factories import StoryFactory
WebhookSubscriber.objects.create(
    name="Partner", url={url!r}, secret={secret!r}, events=["story.published"]
)
StoryFactory(headline="Draft for the worker")
"""

SQLITE_PUBLISH = """
from datetime import timedelta
from django.utils import timezone
from stories.editorial.saving import save_story
from stories.models import Story
from tests.factories import StoryFactory
story = Story.objects.get(headline="Draft for the worker")
story.status, story.published_at = Story.Status.PUBLISHED, timezone.now()
save_story(story)
StoryFactory(headline="Scheduled for the worker", slug="scheduled", status=Story.Status.PUBLISHED,
             published_at=timezone.now() + timedelta(seconds=2))
"""


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=120)


def test_worker_delivers_publish_and_scheduled_go_live_on_a_sqlite_file(tmp_path):
    env = worker_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    with Receiver() as receiver:
        manage(env, "shell", "-c", SQLITE_SETUP.format(url=receiver.url, secret=SECRET))
        process, log = start_worker(env, tmp_path)
        try:
            manage(env, "shell", "-c", textwrap.dedent(SQLITE_PUBLISH))
            first = check_published(receiver, 1, timeout=10)
            second = check_published(receiver, 2, timeout=15)
        finally:
            output = stop_worker(process, log, tmp_path)
        assert first["story"]["headlines"][0]["value"] == "Draft for the worker", output
        assert second["story"]["headlines"][0]["value"] == "Scheduled for the worker"
