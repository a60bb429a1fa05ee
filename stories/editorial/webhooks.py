"""Webhook subscribers in the desk: editors register them (the secret is write-only once
saved), see each one's delivery log, resume a paused one and send a failed delivery again."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from stories.models import WebhookDelivery, WebhookSubscriber
from stories.text import CleanTextAdminMixin
from stories.webhooks.registration import check_events, check_secret, check_url, new_secret

RECENT_DELIVERIES = 20


class WebhookSubscriberForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where events are POSTed: http or https, on a public address.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookSubscriber.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this subscriber is sent.",
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        help_text=(
            "Give this to the receiver: it checks each request's signature with it. It is "
            "not shown again once saved; type a new one here to replace it."
        ),
    )

    class Meta:
        model = WebhookSubscriber
        fields = ["name", "url", "secret", "events", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            # A strong secret to copy, shown this once, on the page that creates it.
            self.fields["secret"].initial = new_secret()
            self.fields["secret"].required = True
        else:
            self.fields["secret"].widget = forms.PasswordInput(render_value=False)
            self.fields[
                "secret"
            ].help_text = "Write-only: leave empty to keep the current secret, or type a new one."

    def clean_url(self):
        url = self.cleaned_data["url"]
        return check_url(url)

    def clean_events(self):
        return check_events(self.cleaned_data["events"])

    def clean_secret(self):
        secret = self.cleaned_data.get("secret", "")
        if not secret:
            if self.instance.pk is None:
                raise ValidationError("A subscriber needs a secret.")
            return self.instance.secret
        return check_secret(secret)


@admin.register(WebhookSubscriber)
class WebhookSubscriberAdmin(CleanTextAdminMixin, admin.ModelAdmin):
    form = WebhookSubscriberForm
    list_display = ["name", "url", "event_list", "is_sending", "paused_at", "failing_since"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    actions = ["resume"]
    readonly_fields = [
        "paused_at",
        "pause_reason",
        "failing_since",
        "created_by",
        "created_at",
        "recent_deliveries",
    ]

    def get_fields(self, request, obj=None):
        fields = ["name", "url", "secret", "events", "is_active"]
        if obj is not None:
            if not self.has_change_permission(request, obj):
                fields.remove("secret")  # a read-only page would print it
            fields += self.readonly_fields
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Events")
    def event_list(self, subscriber):
        return ", ".join(subscriber.events)

    @admin.display(boolean=True, description="Sending")
    def is_sending(self, subscriber):
        return subscriber.is_sending()

    @admin.display(description="Delivery log")
    def recent_deliveries(self, subscriber):
        deliveries = subscriber.deliveries.order_by("-pk")[:RECENT_DELIVERIES]
        log_url = reverse("admin:stories_webhookdelivery_changelist")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(d.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    d.event,
                    d.story_pk,
                    d.get_status_display(),
                    d.attempts,
                    d.last_response_code or d.last_error[:80] or "",
                )
                for d in deliveries
            ),
        )
        return format_html(
            "<table><thead><tr><th>Made</th><th>Event</th><th>Story</th><th>Status</th>"
            "<th>Attempts</th><th>Last answer</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}?subscriber__id__exact={}">The whole log</a></p>',
            rows,
            log_url,
            subscriber.pk,
        )

    @admin.action(description="Resume selected subscribers (send what they missed)")
    def resume(self, request, queryset):
        resumed = queryset.exclude(paused_at=None).update(
            paused_at=None, pause_reason="", failing_since=None
        )
        self.message_user(request, f"Resumed {resumed} subscriber(s).", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, except that a delivery can be sent again."""

    list_display = [
        "created_at",
        "subscriber",
        "event",
        "story_pk",
        "status",
        "attempts",
        "last_response_code",
        "next_attempt",
        "delivered_at",
    ]
    list_filter = ["status", "event", "subscriber"]
    list_select_related = ["subscriber"]
    search_fields = ["=delivery_id"]
    actions = ["send_again"]
    fields = [
        "delivery_id",
        "subscriber",
        "event",
        "story",
        "status",
        "attempts",
        "next_attempt",
        "last_response_code",
        "last_error",
        "created_at",
        "delivered_at",
        "payload",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="next attempt at", ordering="next_attempt_at")
    def next_attempt(self, delivery):
        # Only a delivery still waiting has one; a failed or delivered one keeps the time
        # its last attempt set, which would read as a promise.
        if delivery.status != WebhookDelivery.Status.PENDING:
            return "—"
        return date_format(timezone.localtime(delivery.next_attempt_at), "DATETIME_FORMAT")

    @admin.action(description="Send selected deliveries again", permissions=["change"])
    def send_again(self, request, queryset):
        count = queryset.exclude(status=WebhookDelivery.Status.SENDING).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{count} delivery(ies) will be sent again.", messages.SUCCESS)
