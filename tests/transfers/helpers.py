"""What more than one transfer test module does to a ``transfer_world`` (tests/worlds.py)."""

from __future__ import annotations

from typing import Any


def body(world: dict[str, Any], course=None, outcome=None) -> dict[str, Any]:
    """The API's body of an application for ``course`` with ``outcome``."""
    return {
        "programme": world["programme"].pk,
        "items": [
            {
                "course": (course or world["courses"][0]).pk,
                "outcome": (outcome or world["outcome"]).pk,
            }
        ],
    }
