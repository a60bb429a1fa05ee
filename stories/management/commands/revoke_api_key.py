"""``manage.py revoke_api_key PREFIX``: stop a partner's key working, now and for good."""

from django.core.management.base import BaseCommand, CommandError

from stories.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key, named by its prefix (nrk_…, as the admin lists it) or the key."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="The key's prefix, or the whole key.")

    def handle(self, *args, prefix, **options):
        prefix = ApiKey.prefix_of(prefix.strip()) or prefix.strip()
        api_key = ApiKey.objects.filter(prefix=prefix).first()
        if api_key is None:
            raise CommandError(f"No API key has the prefix {prefix!r}.")
        if api_key.is_revoked:
            self.stdout.write(
                f"{api_key} was already revoked on {api_key.revoked_at:%Y-%m-%d %H:%M}."
            )
            return
        api_key.revoke()
        self.stdout.write(f"Revoked {api_key}; it stops working now.")
