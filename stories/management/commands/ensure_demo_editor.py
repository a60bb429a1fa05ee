import secrets

from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from stories.roles import EDITOR

DEMO_USERNAME = "editor"


class Command(BaseCommand):
    help = (
        "Make sure a local demo editor can log into /admin/, and say how. The password is "
        "generated once and kept in var/demo-editor-password (git ignores var/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=DEMO_USERNAME)
        parser.add_argument(
            "--site-url",
            default="http://127.0.0.1:8000/",
            help="Where the site is served, for the login address it prints.",
        )
        parser.add_argument(
            "--reset", action="store_true", help="Generate a new password even if one exists."
        )

    def handle(self, *args, username, reset, site_url, **options):
        password_file = settings.VAR_DIR / "demo-editor-password"
        password = "" if reset else self.read_password(password_file)
        if not password:
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.touch(mode=0o600)
            password_file.write_text(password + "\n")
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True}
        )
        if created or not user.check_password(password) or not user.is_active:
            user.set_password(password)
        # A real editor, not a superuser, so the demo shows what the Editor role can do.
        user.is_active = user.is_staff = True
        user.is_superuser = False
        user.save()
        user.groups.add(Group.objects.get(name=EDITOR))
        # Failed logins (a mistyped password, say) must not keep the demo locked out.
        reset_login_failures(username=username)
        self.stdout.write(
            self.style.SUCCESS("Admin login (Editor group): ")
            + f"{site_url.rstrip('/')}/admin/  user {username!r}  password {password!r}\n"
            + f"  (kept in {password_file}; `manage.py ensure_demo_editor --reset` makes a new one)"
        )

    @staticmethod
    def read_password(password_file):
        try:
            return password_file.read_text().strip()
        except FileNotFoundError:
            return ""
