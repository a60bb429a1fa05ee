"""Webhooks against a real local HTTP receiver: what is sent for which change, signed, in
order, retried, refused for private addresses, and paused after a day of failures.

The worker's work (``run_webhooks``) is called directly here; tests/test_webhook_worker.py
runs the real worker process."""

import json
import socket
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from stories.models import (
    Correction,
    Story,
    WebhookDelivery,
    WebhookStoryState,
    WebhookSubscriber,
    WebhookWorker,
)
from stories.reader.feeds import story_guid
from stories.webhooks import addresses
from stories.webhooks.addresses import RefusedAddress, vet
from stories.webhooks.signing import verify
from stories.webhooks.tasks import process_webhooks, run_webhooks, tick

from .factories import StoryFactory
from .webhook_receiver import Receiver

SECRET = "a-shared-secret-for-tests-only"
ALL_EVENTS = [choice.value for choice in WebhookSubscriber.Event]


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_TIMEOUT = 1


@pytest.fixture
def receiver(allow_private):
    with Receiver() as running:
        yield running


@pytest.fixture
def subscriber(receiver, db):
    return WebhookSubscriber.objects.create(
        name="Partner", url=receiver.url, secret=SECRET, events=ALL_EVENTS
    )


def fake_dns(monkeypatch, answers):
    """Host names resolve to ``answers`` (a dict, or one list for every name)."""

    def resolve(host, port):
        if isinstance(answers, dict):
            if host not in answers:
                raise socket.gaierror("no such host")
            return answers[host]
        return answers

    monkeypatch.setattr(addresses, "resolve", resolve)


@pytest.mark.django_db
def test_published_story_is_sent_signed_with_its_delivery_id(receiver, subscriber):
    story = StoryFactory(published=True)

    assert run_webhooks() == 1

    ((headers, body),) = receiver.requests
    payload = json.loads(body)
    assert payload["event"] == "story.published"
    assert payload["story"]["uri"] == story_guid(story)
    assert headers["Newsroom-Event"] == "story.published"
    assert headers["Newsroom-Delivery"] == payload["delivery_id"]
    assert headers["Content-Type"] == "application/json"
    assert verify(SECRET, headers["Newsroom-Signature"], body)
    assert not verify("another-secret-entirely", headers["Newsroom-Signature"], body)
    assert not verify(SECRET, headers["Newsroom-Signature"], body + b" ")
    delivery = WebhookDelivery.objects.get()
    assert str(delivery.delivery_id) == payload["delivery_id"]
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_response_code == 200
    # Only the start of a response is kept.
    assert len(delivery.last_error) <= 500
    # Told once: nothing more to send.
    assert run_webhooks() == 0
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_nothing_is_sent_for_drafts_or_stories_in_review(receiver, subscriber):
    StoryFactory(status=Story.Status.DRAFT)
    StoryFactory(status=Story.Status.REVIEW, published_at=timezone.now())
    StoryFactory(scheduled=True)

    run_webhooks()

    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_updated_corrected_and_unpublished_follow_the_story(receiver, subscriber):
    story = StoryFactory(published=True)
    run_webhooks()

    story.body = "A typo fixed.\n\nNothing an editor calls substantive."
    story.save()
    run_webhooks()
    assert len(receiver.requests) == 1

    story.revised_at = timezone.now()
    story.save()
    run_webhooks()
    Correction.objects.create(story=story, text="The minister's name was misspelt.")
    run_webhooks()
    story.status = Story.Status.UNPUBLISHED
    story.save()
    run_webhooks()
    # Taken down: later corrections are nobody's news.
    Correction.objects.create(story=story, text="Another.")
    run_webhooks()
    # Unpublished and rewritten in one save: the rewrite is nobody's business either.
    story.status = Story.Status.PUBLISHED
    story.save()
    run_webhooks()
    story.status, story.headline = Story.Status.DRAFT, "Secret rewrite"
    story.save()
    run_webhooks()

    uri = story_guid(story)
    assert receiver.events() == [
        ("story.published", uri),
        ("story.updated", uri),
        ("story.corrected", uri),
        ("story.unpublished", uri),
        ("story.published", uri),
        ("story.unpublished", uri),
    ]
    withdrawn = receiver.payloads()[-1]["story"]
    assert withdrawn["pubstatus"] == "canceled"
    assert "Secret rewrite" not in json.dumps(withdrawn)
    assert "headlines" not in withdrawn and "bodies" not in withdrawn


@pytest.mark.django_db
def test_a_deleted_live_story_is_sent_as_unpublished(receiver, subscriber):
    story = StoryFactory(published=True)
    uri = story_guid(story)
    run_webhooks()

    story.delete()
    run_webhooks()

    last = receiver.payloads()[-1]
    assert last["event"] == "story.unpublished"
    assert last["story"] == {"uri": uri, "pubstatus": "canceled"}


@pytest.mark.django_db
def test_subscribers_get_only_the_events_they_asked_for(receiver, subscriber):
    subscriber.events = ["story.unpublished"]
    subscriber.save()
    story = StoryFactory(published=True)
    run_webhooks()
    assert receiver.requests == []

    story.status = Story.Status.UNPUBLISHED
    story.save()
    run_webhooks()
    assert [event for event, _ in receiver.events()] == ["story.unpublished"]


@pytest.mark.django_db
def test_a_scheduled_story_is_sent_once_at_its_go_live_time(receiver, subscriber):
    go_live = timezone.now() + timedelta(hours=2)
    story = StoryFactory(status=Story.Status.PUBLISHED, published_at=go_live)

    with time_machine.travel(go_live - timedelta(seconds=1), tick=False):
        run_webhooks()
        assert receiver.requests == []
    with time_machine.travel(go_live + timedelta(seconds=1), tick=False):
        run_webhooks()
        run_webhooks()
    assert receiver.events() == [("story.published", story_guid(story))]
    assert WebhookStoryState.objects.get(story_pk=story.pk).is_live


@pytest.mark.django_db
def test_an_import_that_publishes_stories_sends_story_published(receiver, subscriber, seed_path):
    call_command("import_briefing", str(seed_path), stdout=StringIO())

    run_webhooks()

    live = Story.objects.live().count()
    assert live > 1
    assert [event for event, _ in receiver.events()] == ["story.published"] * live


@pytest.mark.django_db
def test_5xx_is_retried_with_backoff_until_delivered(receiver, subscriber):
    receiver.script = [500, 503]
    StoryFactory(published=True)

    run_webhooks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_response_code == 500
    first_wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=5) < first_wait <= timedelta(seconds=10)
    run_webhooks()  # not due yet
    assert len(receiver.requests) == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=11), tick=False):
        run_webhooks()
        delivery.refresh_from_db()
        # Exponential: the second wait is twice the first.
        assert delivery.next_attempt_at - timezone.now() == timedelta(seconds=20)
    with time_machine.travel(timezone.now() + timedelta(seconds=32), tick=False):
        run_webhooks()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 3
    ids = {json.loads(body)["delivery_id"] for _, body in receiver.requests}
    assert ids == {str(delivery.delivery_id)}  # one delivery id for the receiver to dedupe


@pytest.mark.django_db
def test_a_timeout_is_retried(receiver, subscriber):
    receiver.script = [("sleep", 2)]
    StoryFactory(published=True)

    run_webhooks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_response_code is None
    assert "timed out" in delivery.last_error.lower()

    with time_machine.travel(timezone.now() + timedelta(seconds=11), tick=False):
        run_webhooks()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED


@pytest.mark.django_db
def test_a_receiver_dripping_its_answer_is_cut_off(receiver, subscriber):
    import time

    receiver.script = ["drip"]
    StoryFactory(published=True)

    started = time.monotonic()
    run_webhooks()

    assert time.monotonic() - started < 6  # 2 × 1 s + 1 s, not the ten seconds of drip
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_response_code is None
    assert "took more than 3 s to answer" in delivery.last_error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "status"), [(400, "failed"), (410, "failed"), (429, "pending"), (408, "pending")]
)
def test_4xx_is_final_except_408_and_429(receiver, subscriber, code, status):
    receiver.script = [code]
    StoryFactory(published=True)

    run_webhooks()

    assert WebhookDelivery.objects.get().status == status


@pytest.mark.django_db
def test_a_storys_events_arrive_in_order_even_when_the_first_is_retried(receiver, subscriber):
    receiver.script = [500]
    story = StoryFactory(published=True)
    other = StoryFactory(published=True)
    run_webhooks()  # story's published fails; other's goes

    story.revised_at = timezone.now()
    story.save()
    run_webhooks()  # story.updated waits behind story.published
    assert receiver.events()[1:] == [("story.published", story_guid(other))]

    with time_machine.travel(timezone.now() + timedelta(seconds=11), tick=False):
        run_webhooks()
    uri = story_guid(story)
    assert receiver.events()[2:] == [("story.published", uri), ("story.updated", uri)]


@pytest.mark.django_db
def test_a_subscriber_failing_for_a_day_is_paused_and_editors_are_emailed(
    receiver, subscriber, make_staff
):
    editor = make_staff("desk-editor", "Editor")
    editor.email = "desk@example.com"
    editor.save()
    reporter = make_staff("reporter", "Reporter")
    reporter.email = "reporter@example.com"
    reporter.save()
    receiver.script = [500] * 100
    StoryFactory(published=True)
    start = timezone.now()

    run_webhooks()
    subscriber.refresh_from_db()
    assert subscriber.failing_since is not None
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        run_webhooks()
    subscriber.refresh_from_db()
    assert subscriber.paused_at is None
    assert mail.outbox == []

    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        run_webhooks()
        subscriber.refresh_from_db()
        assert subscriber.paused_at is not None
        assert "500" in subscriber.pause_reason or "answer" in subscriber.pause_reason
        sent = len(receiver.requests)
        StoryFactory(published=True)
        run_webhooks()
    assert len(receiver.requests) == sent  # paused: nothing more is sent
    (message,) = mail.outbox
    assert message.to == ["desk@example.com"]
    assert "Partner" in message.subject
    assert f"/admin/stories/webhooksubscriber/{subscriber.pk}/change/" in message.body


@pytest.mark.django_db
def test_a_failing_subscriber_is_tried_once_per_run_and_holds_no_one_else_up(receiver, subscriber):
    with Receiver() as failing:
        failing.script = [500] * 10
        WebhookSubscriber.objects.create(
            name="Down", url=failing.url, secret=SECRET, events=ALL_EVENTS
        )
        StoryFactory.create_batch(3, published=True)

        run_webhooks()

        assert len(failing.requests) == 1
        assert len(receiver.requests) == 3


@pytest.mark.django_db
def test_events_are_recorded_in_batches(receiver, subscriber, monkeypatch):
    from stories.webhooks import events

    monkeypatch.setattr(events, "BATCH", 2)
    stories = StoryFactory.create_batch(5, published=True)
    run_webhooks()
    for story in stories:
        story.status = Story.Status.UNPUBLISHED
        story.save()
    run_webhooks()

    assert sorted(receiver.events()) == sorted(
        [("story.published", story_guid(s)) for s in stories]
        + [("story.unpublished", story_guid(s)) for s in stories]
    )


@pytest.mark.django_db
def test_a_success_clears_the_failing_streak(receiver, subscriber):
    receiver.script = [500]
    StoryFactory(published=True)
    run_webhooks()
    with time_machine.travel(timezone.now() + timedelta(seconds=11), tick=False):
        run_webhooks()
    subscriber.refresh_from_db()
    assert subscriber.failing_since is None


# Server-side request forgery: registration and delivery.

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",
]


@pytest.mark.parametrize("address", REFUSED)
def test_urls_resolving_to_non_public_addresses_are_refused(monkeypatch, settings, address):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    fake_dns(monkeypatch, ["93.184.216.34", address])

    with pytest.raises(RefusedAddress, match="address: webhooks are only sent to public"):
        vet("https://hooks.example.com/in")


def test_public_addresses_are_vetted_with_the_address_to_connect_to(monkeypatch, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    fake_dns(monkeypatch, ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])

    target = vet("https://hooks.example.com:8443/in?key=1")

    assert (target.host, target.port, target.path, target.ip) == (
        "hooks.example.com",
        8443,
        "/in?key=1",
        "93.184.216.34",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://nowhere.invalid/", "does not resolve"),
    ],
)
def test_malformed_or_unresolvable_urls_are_refused(monkeypatch, url, message):
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    with pytest.raises(RefusedAddress, match=message):
        vet(url)


@pytest.mark.django_db
def test_add_webhook_refuses_a_private_address_and_registers_a_public_one(monkeypatch, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    fake_dns(
        monkeypatch,
        {"intranet.example.com": ["10.0.0.5"], "partner.example.com": ["93.184.216.34"]},
    )

    with pytest.raises(CommandError, match="10.0.0.5, a private address"):
        call_command("add_webhook", "https://intranet.example.com/", "--secret", SECRET)
    with pytest.raises(CommandError, match="Unknown event story.deleted"):
        call_command("add_webhook", "https://partner.example.com/", "--events", "story.deleted")
    out = StringIO()
    call_command(
        "add_webhook",
        "https://partner.example.com/in",
        "--events",
        "story.published,story.corrected",
        stdout=out,
    )

    subscriber = WebhookSubscriber.objects.get()
    assert subscriber.events == ["story.published", "story.corrected"]
    assert subscriber.name == "partner.example.com"
    assert subscriber.secret in out.getvalue()  # made and shown once
    assert len(subscriber.secret) >= 32


@pytest.mark.django_db
def test_dns_rebinding_at_delivery_is_refused(monkeypatch, settings, receiver):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    fake_dns(monkeypatch, {"partner.example.com": ["93.184.216.34"]})
    call_command(
        "add_webhook",
        f"http://partner.example.com:{receiver.port}/in",
        "--secret",
        SECRET,
        stdout=StringIO(),
    )
    # The name now points at this machine, where the receiver listens.
    fake_dns(monkeypatch, {"partner.example.com": ["127.0.0.1"]})
    StoryFactory(published=True)

    run_webhooks()

    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_error.startswith("Refused: partner.example.com resolves to 127.0.0.1")


@pytest.mark.django_db
def test_the_request_goes_to_the_vetted_address_with_the_urls_host_name(monkeypatch, receiver):
    fake_dns(monkeypatch, {"hooks.partner.test": ["127.0.0.1"]})
    WebhookSubscriber.objects.create(
        name="Named",
        url=f"http://hooks.partner.test:{receiver.port}/in",
        secret=SECRET,
        events=ALL_EVENTS,
    )
    StoryFactory(published=True)

    run_webhooks()

    ((headers, _),) = receiver.requests
    assert headers["Host"] == f"hooks.partner.test:{receiver.port}"


@pytest.mark.django_db
def test_redirects_are_not_followed(receiver, subscriber):
    receiver.script = [302]
    StoryFactory(published=True)

    run_webhooks()

    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error.startswith("Redirects are not followed.")


# The desk.


@pytest.mark.django_db
def test_editor_registers_a_subscriber_and_its_secret_is_write_only(
    client, editor_user, monkeypatch, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    fake_dns(
        monkeypatch, {"partner.example.com": ["93.184.216.34"], "lan.example.com": ["192.168.0.9"]}
    )
    client.force_login(editor_user)
    add_url = reverse("admin:stories_webhooksubscriber_add")
    assert client.get(add_url).status_code == 200

    refused = client.post(
        add_url,
        {
            "name": "LAN",
            "url": "https://lan.example.com/",
            "secret": SECRET,
            "events": ["story.published"],
            "is_active": "on",
        },
    )
    assert refused.status_code == 200
    assert "192.168.0.9, a private address" in refused.content.decode()

    response = client.post(
        add_url,
        {
            "name": "Partner",
            "url": "https://partner.example.com/in",
            "secret": SECRET,
            "events": ["story.published", "story.updated"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    subscriber = WebhookSubscriber.objects.get()
    assert subscriber.created_by == editor_user
    assert subscriber.events == ["story.published", "story.updated"]

    change_url = reverse("admin:stories_webhooksubscriber_change", args=[subscriber.pk])
    page = client.get(change_url).content.decode()
    assert SECRET not in page
    assert "Delivery log" in page
    # Saved with the secret left empty: the secret stays.
    client.post(
        change_url,
        {
            "name": "Partner renamed",
            "url": subscriber.url,
            "secret": "",
            "events": ["story.published"],
            "is_active": "on",
        },
    )
    subscriber.refresh_from_db()
    assert subscriber.name == "Partner renamed"
    assert subscriber.secret == SECRET


@pytest.mark.django_db
def test_the_delivery_log_is_readable_and_a_paused_subscriber_can_be_resumed(
    client, editor_user, receiver, subscriber
):
    receiver.script = [500]
    StoryFactory(published=True)
    run_webhooks()
    subscriber.paused_at = timezone.now()
    subscriber.save()
    client.force_login(editor_user)

    page = client.get(reverse("admin:stories_webhooksubscriber_change", args=[subscriber.pk]))
    assert "story.published" in page.content.decode()
    log = client.get(reverse("admin:stories_webhookdelivery_changelist"))
    assert log.status_code == 200
    assert "story.published" in log.content.decode()

    client.post(
        reverse("admin:stories_webhooksubscriber_changelist"),
        {"action": "resume", "_selected_action": [subscriber.pk]},
    )
    subscriber.refresh_from_db()
    assert subscriber.paused_at is None


def test_the_log_promises_a_next_attempt_only_for_a_delivery_still_waiting(
    client, editor_user, receiver, subscriber
):
    from django.contrib import admin

    receiver.script = [404]  # final: not retried
    StoryFactory(published=True)
    run_webhooks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    log = admin.site._registry[WebhookDelivery]
    assert log.next_attempt(delivery) == "—"
    delivery.status = WebhookDelivery.Status.PENDING
    assert log.next_attempt(delivery) != "—"
    client.force_login(editor_user)
    url = reverse("admin:stories_webhookdelivery_change", args=[delivery.pk])
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_reporters_cannot_see_webhooks(client, make_staff):
    client.force_login(make_staff("rep", "Reporter"))
    assert client.get(reverse("admin:stories_webhooksubscriber_changelist")).status_code == 403
    assert client.get(reverse("admin:stories_webhookdelivery_changelist")).status_code == 403


# The worker's plumbing.


@pytest.mark.django_db(transaction=True)
def test_a_committed_edit_enqueues_one_processing_task_and_sends_nothing_itself(
    receiver, subscriber
):
    from django.db import transaction

    with transaction.atomic():
        story = StoryFactory(published=True)
        Correction.objects.create(story=story, text="One.")
        assert not DBTaskResult.objects.exists()  # nothing before the commit

    tasks = DBTaskResult.objects.filter(task_path=process_webhooks.module_path)
    assert tasks.count() == 1
    assert receiver.requests == []  # the editor's request sends nothing


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_edit_enqueues_nothing(subscriber):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        StoryFactory(published=True)
        raise RuntimeError

    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_tick_beats_and_schedules_the_next_tick(receiver, subscriber):
    tick.call()
    tick.call()

    assert WebhookWorker.objects.get().heartbeat_at is not None
    assert DBTaskResult.objects.filter(task_path=tick.module_path, status="READY").count() == 1


@pytest.mark.django_db
def test_tick_keeps_a_month_of_finished_deliveries_and_every_waiting_one(receiver, subscriber):
    receiver.script = [200, 400, 500]
    StoryFactory.create_batch(3, published=True)
    run_webhooks()
    assert WebhookDelivery.objects.count() == 3

    with time_machine.travel(timezone.now() + timedelta(days=29)):
        tick.call()
        assert WebhookDelivery.objects.count() == 3
        # The 500 was retried (and the subscriber, failing for 29 days, paused).
        subscriber.refresh_from_db()
        assert subscriber.paused_at is not None
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        tick.call()
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["pending"]


@pytest.mark.django_db
def test_healthz_reports_a_stale_worker(client, subscriber):
    assert client.get("/healthz").content == b"ok\nworker stale: last ran never\n"
    tick.call()
    assert client.get("/healthz").content == b"ok\n"
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert b"worker stale" in response.content


@pytest.mark.django_db
def test_healthz_says_nothing_of_a_worker_when_webhooks_are_not_used(client):
    assert client.get("/healthz").content == b"ok\n"


@pytest.mark.django_db
def test_a_view_only_user_never_sees_the_secret(client, subscriber):
    from django.contrib.auth.models import Permission, User

    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhooksubscriber"))
    client.force_login(viewer)

    page = client.get(reverse("admin:stories_webhooksubscriber_change", args=[subscriber.pk]))

    assert page.status_code == 200
    assert subscriber.url in page.content.decode()
    assert SECRET not in page.content.decode()


@pytest.fixture
def tls_receiver(tmp_path, allow_private):
    """An https receiver whose certificate names hooks.partner.test, and the server names
    (SNI) clients asked for."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.partner.test"]
        + ["-addext", "subjectAltName=DNS:hooks.partner.test"],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server_names = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    with Receiver(tls_context=context) as running:
        running.server_names = server_names
        running.cafile = str(cert)
        yield running


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "delivered"), [("hooks.partner.test", True), ("other.test", False)]
)
def test_https_goes_to_the_vetted_address_with_sni_and_the_certificate_checked(
    monkeypatch, tls_receiver, name, delivered
):
    import ssl

    from stories.webhooks import sending

    trusting = ssl.create_default_context

    monkeypatch.setattr(
        sending.ssl, "create_default_context", lambda: trusting(cafile=tls_receiver.cafile)
    )
    fake_dns(monkeypatch, {name: ["127.0.0.1"]})
    WebhookSubscriber.objects.create(
        name="TLS", url=f"https://{name}:{tls_receiver.port}/in", secret=SECRET, events=ALL_EVENTS
    )
    StoryFactory(published=True)

    run_webhooks()

    delivery = WebhookDelivery.objects.get()
    assert tls_receiver.server_names == [name]
    if delivered:
        assert delivery.status == WebhookDelivery.Status.DELIVERED
        ((headers, body),) = tls_receiver.requests
        assert verify(SECRET, headers["Newsroom-Signature"], body)
    else:
        # The certificate does not name the host: nothing is sent, and it is retried.
        assert tls_receiver.requests == []
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert "certificate" in delivery.last_error.lower()
