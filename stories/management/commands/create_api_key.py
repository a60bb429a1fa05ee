"""``manage.py create_api_key NAME [--scope embargo]``: a partner's key, printed once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from stories.models import ApiKey


class Command(BaseCommand):
    help = (
        "Make an API key for a partner and print it, once: only its hash is stored. "
        "Revoke it with revoke_api_key."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who uses the key, e.g. 'Partner Inc. app'.")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=ApiKey.Scope.values,
            help="Extra access; 'embargo' also reads scheduled stories before they go live.",
        )

    def handle(self, *args, name, scope, **options):
        try:
            api_key, key = ApiKey.issue(name, scopes=scope)
        except ValidationError as error:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            raise CommandError(f"No key made: {messages}") from None
        self.stderr.write(
            f"Made the key {api_key.name!r} ({api_key.prefix}), scopes: "
            f"{', '.join(api_key.scopes) or 'none'}. It is printed below once and never again."
        )
        self.stdout.write(key)
