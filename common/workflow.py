"""One way to change a status: a table of allowed moves, one function that refuses an illegal
move, and an append-only event row for every move (after django-oscar's order pipeline).

Each app keeps its tables in its own ``workflow.py``::

    APPLICATION = Workflow(
        moves={Action.ACCEPT: ({S.PENDING}, S.ACCEPTED), ...},
        event_model=ApplicationEvent,
        subject_field="application",
        refusal=_("An application that is “%(state)s” cannot be “%(action)s”."),
        state_labels=ApplicationState,
        action_labels=ApplicationEvent.Action,
    )
    APPLICATION.move(application, action=Action.ACCEPT, actor=reviewer)

The services decide *who* may make a move and hold the row lock and the transaction; the table
decides *which* moves exist. The event model has the fields ``action``, ``from_state``,
``to_state``, ``actor``, ``reason`` and ``details`` beside its subject (those it lacks are not
written: an event model without ``details`` simply takes none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise

Moves = Mapping[str, tuple[Iterable[str], str | None]]


def _label(labels: Any, value: str) -> str:
    """The human label of ``value`` from a TextChoices class (or any ``value -> label`` map)."""
    try:
        return str(labels(value).label)
    except (TypeError, ValueError, AttributeError):
        return str(value)


@dataclass(frozen=True)
class Workflow:
    """A status machine: ``moves`` maps each action to the states it may start from and the
    state it leads to (``None`` keeps the state: an event without a change of status)."""

    moves: Moves
    event_model: Any
    subject_field: str
    refusal: str | Promise
    state_labels: Any = None
    action_labels: Any = None
    state_field: str = "state"
    error_field: str = "state"
    _table: dict[str, tuple[frozenset[str], str | None]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table = {
            str(a): (frozenset(str(s) for s in src), to) for a, (src, to) in self.moves.items()
        }
        object.__setattr__(self, "_table", table)

    @property
    def actions(self) -> list[str]:
        return list(self._table)

    @property
    def states(self) -> set[str]:
        """Every state the table names, as a source or a target."""
        found: set[str] = set()
        for sources, target in self._table.values():
            found |= sources
            if target is not None:
                found.add(target)
        return found

    def allowed(self, state: str) -> list[str]:
        """The actions the table allows from ``state``."""
        return [action for action, (sources, _to) in self._table.items() if state in sources]

    def target(self, action: str) -> str | None:
        return self._table[action][1]

    def is_allowed(self, state: str, action: str) -> bool:
        return action in self._table and state in self._table[action][0]

    def refuse(self, state: str, action: str) -> ValidationError:
        label = _label(self.state_labels, state)
        # "status" too: some refusals were written before the helper, and their translated
        # text (kept as is) names the state that way.
        message = str(self.refusal) % {
            "state": label,
            "status": label,
            "action": _label(self.action_labels, action),
        }
        return ValidationError({self.error_field: ValidationError(message, code="illegal_move")})

    def move(
        self,
        subject: Any,
        *,
        action: str,
        actor: Any = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
        save: Callable[[Any], None] | None = None,
    ) -> Any:
        """Move ``subject`` by ``action`` and append its event; refuse a move the table does not
        allow with a field-keyed ``ValidationError`` (code ``illegal_move``).

        The caller holds the transaction and has locked the row. The new state is set on the
        object; ``save`` (if given) is called with it before the event is written, otherwise the
        caller saves the subject's other fields with it."""
        state = getattr(subject, self.state_field)
        if not self.is_allowed(state, action):
            raise self.refuse(state, action)
        target = self._table[action][1]
        setattr(subject, self.state_field, target or state)
        if save is not None:
            save(subject)
        values: dict[str, Any] = {
            self.subject_field: subject,
            "action": action,
            "from_state": state,
            "to_state": target or state,
        }
        names = {f.name for f in self.event_model._meta.get_fields()}
        for name, value in (("actor", actor), ("reason", reason), ("details", details or {})):
            if name in names:
                values[name] = value
        return self.event_model.objects.create(**values)
