"""The (state, action) pairs of a status machine's table, for the tests that try every move."""

from __future__ import annotations

from collections.abc import Iterable

from common.workflow import Workflow


def forbidden_moves(
    workflow: Workflow, states: Iterable[str], actions: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """Every (state, action) the table refuses, over ``actions`` (the table's own by default)."""
    names = list(workflow.actions if actions is None else actions)
    return [(s, a) for s in states for a in names if not workflow.is_allowed(s, a)]


def allowed_moves(
    workflow: Workflow, states: Iterable[str], actions: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """Every (state, action) the table allows, over ``actions`` (the table's own by default)."""
    names = list(workflow.actions if actions is None else actions)
    return [(s, a) for s in states for a in names if workflow.is_allowed(s, a)]
