"""Fill a scratch PostgreSQL database with N learning accounts for the benchmarks (bench/)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from bench.seed import seed


class Command(BaseCommand):
    help = "Fill a scratch PostgreSQL database with N seeded learning accounts, by COPY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=1_000_000)
        parser.add_argument("--start", type=int, default=0, help="first seeded person's number")
        parser.add_argument("--json", default="", help="also write the figures to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed(accounts=options["accounts"], start=options["start"], out=self.stdout.write)
        self.stdout.write(
            f"seeded {result['accounts']:,} accounts: {result['rows']:,} rows in "
            f"{result['load_seconds']} s ({result['rows_per_second']:,} rows/s), "
            f"ANALYZE {result['analyze_seconds']} s"
        )
        if options["json"]:
            with open(options["json"], "w") as f:
                json.dump(result, f, indent=2)
