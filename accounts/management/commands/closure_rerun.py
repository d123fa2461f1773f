"""Run the closure's withdrawals and erasers again on every closed account."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.rights.services import account_closures_rerun


class Command(BaseCommand):
    help = (
        "Run the closure's withdrawals and erasers again on every closed personal account: "
        "accounts closed before a layer withdrew its open work or erased its free text on "
        "closure get the same treatment as one closed today. In chunks, each account in its "
        "own transaction; prints the counts after each chunk. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk", type=int, default=100, help="Accounts per chunk (default 100)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def report(accounts: int, withdrawn: dict[str, int]) -> None:
            self.stdout.write(f"{accounts} closed account(s): withdrawn {_counts(withdrawn)}")

        totals = account_closures_rerun(chunk=max(1, options["chunk"]), report=report)
        accounts = totals.pop("accounts", 0)
        self.stdout.write(
            self.style.SUCCESS(
                f"Closure run again on {accounts} closed account(s): withdrawn {_counts(totals)}."
            )
        )


def _counts(withdrawn: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(withdrawn.items())) or "nothing"
