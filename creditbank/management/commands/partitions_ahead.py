from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from creditbank.partitions import partitions_ahead_create


class Command(BaseCommand):
    help = (
        "Create the yearly partitions of the history tables from today to MONTHS ahead "
        "(PARTITIONS_AHEAD_MONTHS by default); safe to run again. PostgreSQL only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        months = options["months"]
        if months is not None and not 0 <= months <= 120:
            raise CommandError("--months must be between 0 and 120.")
        created = partitions_ahead_create(months=months)
        for name in created:
            self.stdout.write(f"created {name}")
        if not created:
            self.stdout.write("every partition needed exists")
