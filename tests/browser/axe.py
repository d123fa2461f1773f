"""axe-core (bundled by axe-playwright-python, nothing fetched) run on the page a browser test
has open: the accessibility check every page test of issue 21 makes."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

AXE = Axe()


def axe_violations(page: Any) -> list[tuple[str, list[Any]]]:
    """The rules axe-core finds broken on ``page``, each with the elements that break it."""
    violations = AXE.run(page).response["violations"]
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
