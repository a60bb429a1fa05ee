"""Partners' API keys in the admin: editors make them (the key is shown once, on the page
that follows), rename them and revoke them; no one deletes one, so the record of who had
access stays. Operators do the same with ``manage.py create_api_key`` / ``revoke_api_key``."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from stories.models import ApiKey
from stories.text import CleanTextAdminMixin


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Without a scope, the key reads what every reader sees, at its own rate limit.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(CleanTextAdminMixin, admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "scope_list",
        "created_by",
        "created_at",
        "last_used_at",
        "state",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, api_key):
        return ", ".join(api_key.scopes) or "—"

    @admin.display(description="state")
    def state(self, api_key):
        return "revoked" if api_key.is_revoked else "active"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes"]
        return ["name", "scopes", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_revoked:
            return ["name", "scopes", *self.readonly_fields]  # a revoked key is a record
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("stories.revoke_apikey")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            request.new_api_key = obj.new_key()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        # The key is shown here, once, and never stored: not in a message (messages
        # travel in the session or a cookie), not in a URL.
        response = TemplateResponse(
            request,
            "admin/stories/apikey/key_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "api_key": obj,
                "key": request.new_api_key,
                "title": "Copy the new API key",
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = 0
        for api_key in queryset.active():
            api_key.revoke()
            revoked += 1
        self.message_user(
            request,
            f"Revoked {revoked} key{'s' if revoked != 1 else ''}; they stop working now.",
            messages.SUCCESS,
        )
