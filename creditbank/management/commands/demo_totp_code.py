from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current sign-in code of a demo staff user (never in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo codes are not available in production.")
        device = TOTPDevice.objects.filter(
            user__username=options["username"], name="demo", confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{options['username']} has no demo authenticator.")
        self.stdout.write(str(totp(device.bin_key)).zfill(6))
