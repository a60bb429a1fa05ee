"""People: editors manage reporters' accounts from the admin.

Superusers keep Django's whole user admin. Editors (``auth.add_user``/``change_user``/
``view_user`` from ``stories.roles``) see and change only reporter accounts: no superuser, no
group but Reporter, no permissions of their own, and never their own account. Their forms
hold no rights fields at all, so nothing posted can raise anyone's rights: a new account
becomes a staff reporter and nothing more. They create reporters (with a password, or an
e-mailed link to set one), deactivate them, reset passwords and link a byline.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import (
    PasswordResetForm,
    SetPasswordMixin,
    UserChangeForm,
    UsernameField,
)
from django.contrib.auth.models import Group
from django.db import transaction

from stories.models import Byline
from stories.roles import REPORTER
from stories.text import CleanTextFormMixin

User = get_user_model()


def reporter_accounts(queryset, manager):
    """The accounts in ``queryset`` whose rights are at most a reporter's, without the
    ``manager``'s own (nobody changes their own rights)."""
    return (
        queryset.filter(is_superuser=False)
        .exclude(groups__in=Group.objects.exclude(name=REPORTER))
        .exclude(user_permissions__isnull=False)
        .exclude(pk=manager.pk)
    )


def is_reporter_account(user, manager):
    return reporter_accounts(User.objects.filter(pk=user.pk), manager).exists()


class BylineField(forms.ModelChoiceField):
    def label_from_instance(self, byline):
        return f"{byline.name} ({byline.role})" if byline.role else byline.name


def free_bylines(account=None):
    """Bylines no other account writes under."""
    free = Byline.objects.filter(user__isnull=True)
    if account is not None and account.pk is not None:
        free = free | Byline.objects.filter(user=account)
    return free.order_by("name")


def byline_field():
    return BylineField(
        queryset=Byline.objects.none(),  # set per form: free_bylines()
        required=False,
        help_text="The byline this reporter writes under (bylines linked to another account "
        "are not listed).",
    )


class ReporterCreationForm(CleanTextFormMixin, SetPasswordMixin, forms.ModelForm):
    """A new staff reporter: name, e-mail, and a password or a link to set one."""

    password1, password2 = SetPasswordMixin.create_password_fields()
    byline = byline_field()
    send_password_link = forms.BooleanField(
        label="E-mail a link to set a password",
        required=False,
        help_text="Instead of a password: the reporter gets a one-use link by e-mail.",
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]
        field_classes = {"username": UsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["byline"].queryset = free_bylines()
        self.fields["password1"].required = self.fields["password2"].required = False

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("send_password_link"):
            if not cleaned_data.get("email"):
                self.add_error("email", "An e-mail address is needed to send the link.")
            if cleaned_data.get("password1"):
                self.add_error("password1", "Either set a password or send a link, not both.")
        else:
            if not cleaned_data.get("password1"):
                self.add_error(
                    "password1", "Set a password, or tick “E-mail a link to set a password”."
                )
            self.validate_passwords()
        return cleaned_data

    def _post_clean(self):
        super()._post_clean()
        if self.cleaned_data.get("password1"):
            self.validate_password_for_user(self.instance)

    def save(self, commit=True):
        user = super().save(commit=False)
        # A reporter and nothing more, whatever was posted: the form has no rights fields.
        user.is_staff, user.is_superuser = True, False
        if self.cleaned_data.get("password1"):
            user.set_password(self.cleaned_data["password1"])
        else:
            user.set_unusable_password()
        if commit:
            user.save()
        return user


class ReporterChangeForm(CleanTextFormMixin, UserChangeForm):
    byline = byline_field()

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "is_active", "password"]
        field_classes = {"username": UsernameField}
        help_texts = {
            "is_active": "Untick to deactivate the account: the reporter can no longer log "
            "in; their stories and byline stay."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["byline"].queryset = free_bylines(self.instance)
        current = Byline.objects.filter(user=self.instance).first()
        if current is not None and not self.is_bound:
            self.initial["byline"] = current.pk


def link_byline(user, byline):
    """Make ``byline`` (or none) the one this account writes under."""
    for old in Byline.objects.filter(user=user).exclude(pk=getattr(byline, "pk", None)):
        old.user = None
        old.save(update_fields=["user"])
    if byline is not None and byline.user_id != user.pk:
        byline.user = user
        byline.save(update_fields=["user"])


class SetPasswordLinkForm(PasswordResetForm):
    """Django's password-reset e-mail, sent to one account chosen by an editor (a new one
    has no usable password yet, which Django's own form would skip)."""

    def __init__(self, user):
        super().__init__({"email": user.email})
        self.user = user

    def get_users(self, email):
        return [self.user] if self.user.is_active and self.user.email else []


def send_password_link(request, user, *, new_account):
    form = SetPasswordLinkForm(user)
    form.is_valid()
    form.save(
        request=request,
        domain_override=request.get_host(),
        use_https=request.is_secure(),
        subject_template_name="registration/set_password_subject.txt",
        email_template_name="registration/set_password_email.txt",
        extra_email_context={"new_account": new_account, "sender": request.user},
    )


REPORTER_ADD_FIELDSETS = [
    (None, {"fields": ["username", "first_name", "last_name", "email", "byline"]}),
    (
        "Password",
        {
            "fields": ["password1", "password2", "send_password_link"],
            "description": "Set a password and give it to the reporter, or e-mail them a "
            "link to choose their own.",
        },
    ),
]
REPORTER_CHANGE_FIELDSETS = [
    (None, {"fields": ["username", "password"]}),
    ("Reporter", {"fields": ["first_name", "last_name", "email", "byline", "is_active"]}),
]


class ReporterAccountsMixin:
    """What editors may do in the user admin; superusers get Django's ``UserAdmin`` as is.

    Django's password-change view (``<id>/password/``) and the changelist actions go through
    ``get_queryset`` and ``has_change_permission(obj)``, so they reach only reporter accounts.
    """

    actions = ["deactivate_accounts", "reactivate_accounts", "send_password_links"]
    list_select_related = ["byline"]

    def manages_all(self, request):
        return request.user.is_superuser

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.manages_all(request) or self.is_account_lookup(request):
            return queryset
        return reporter_accounts(queryset, request.user)

    def is_account_lookup(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or self.manages_all(request) or is_reporter_account(obj, request.user)

    def has_view_permission(self, request, obj=None):
        if not super().has_view_permission(request, obj):
            return False
        return obj is None or self.manages_all(request) or is_reporter_account(obj, request.user)

    def get_fieldsets(self, request, obj=None):
        if self.manages_all(request):
            return super().get_fieldsets(request, obj)
        return REPORTER_ADD_FIELDSETS if obj is None else REPORTER_CHANGE_FIELDSETS

    def get_form(self, request, obj=None, **kwargs):
        if not self.manages_all(request):
            kwargs["form"] = ReporterCreationForm if obj is None else ReporterChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_list_display(self, request):
        if self.manages_all(request):
            return super().get_list_display(request)
        return ["username", "full_name", "email", "byline_name", "is_active", "last_login"]

    def get_list_filter(self, request):
        return super().get_list_filter(request) if self.manages_all(request) else ["is_active"]

    def full_name(self, user):
        return user.get_full_name()

    full_name.short_description = "Name"

    def byline_name(self, user):
        byline = getattr(user, "byline", None)
        return byline.name if byline else "—"

    byline_name.short_description = "Byline"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        if "byline" in form.cleaned_data:
            link_byline(user, form.cleaned_data["byline"])
        if not change and not self.manages_all(request):
            user.groups.set([Group.objects.get(name=REPORTER)])
            if form.cleaned_data.get("send_password_link"):
                transaction.on_commit(lambda: send_password_link(request, user, new_account=True))
                self.message_user(
                    request, f"A link to set a password is being e-mailed to {user.email}."
                )

    # Changelist actions; the queryset is get_queryset()'s, so only accounts one may manage.

    @staticmethod
    def others(request, queryset):
        return queryset.exclude(pk=request.user.pk)

    def deactivate_accounts(self, request, queryset):
        accounts = list(self.others(request, queryset).filter(is_active=True))
        for user in accounts:
            user.is_active = False
            user.save(update_fields=["is_active"])
            self.log_change(request, user, "Deactivated")
        self.message_user(request, f"Deactivated {len(accounts)} account(s).")

    deactivate_accounts.short_description = "Deactivate selected accounts"
    deactivate_accounts.allowed_permissions = ["change"]

    def reactivate_accounts(self, request, queryset):
        accounts = list(self.others(request, queryset).filter(is_active=False))
        for user in accounts:
            user.is_active = True
            user.save(update_fields=["is_active"])
            self.log_change(request, user, "Reactivated")
        self.message_user(request, f"Reactivated {len(accounts)} account(s).")

    reactivate_accounts.short_description = "Reactivate selected accounts"
    reactivate_accounts.allowed_permissions = ["change"]

    def send_password_links(self, request, queryset):
        accounts = list(self.others(request, queryset).filter(is_active=True).exclude(email=""))
        for user in accounts:
            send_password_link(request, user, new_account=False)
        skipped = queryset.count() - len(accounts)
        self.message_user(request, f"Sent a password reset link to {len(accounts)} account(s).")
        if skipped:
            self.message_user(
                request,
                f"{skipped} account(s) skipped: inactive, without an e-mail address, or yours "
                "(change your own password from the top of the page).",
                messages.WARNING,
            )

    send_password_links.short_description = "E-mail a password reset link"
    send_password_links.allowed_permissions = ["change"]
