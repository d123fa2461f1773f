"""Refresh the working-day calendar from the installed chinesecalendar package."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accreditation.calendar import LOAD_FIRST_YEAR, calendar_load


class Command(BaseCommand):
    help = (
        "Load the official holiday arrangement from the installed chinesecalendar package "
        f"(by default every year it holds from {LOAD_FIRST_YEAR} on). Years entered by hand on "
        "the calendar page are left alone; open deadlines are recomputed, the deadline sweep "
        "re-armed and the people whose due date moved told."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--year", type=int, action="append", dest="years", help="Only this year (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            changed = calendar_load(years=options["years"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(self.style.SUCCESS(f"Calendar loaded: {changed} year(s) changed."))
