"""The abstract rows that other apps' models build on: append-only rows, and the event row of a
status machine (what :meth:`common.workflow.Workflow.move` writes).

They live in the lowest app with models (``common`` may hold none) and are re-exported by
``accounts.models``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.models import user_who


class AppendOnlyModel(models.Model):
    """Rows are written once: an update or delete through the ORM is refused."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError(f"{type(self).__name__} rows are append-only")


class StatusEvent(AppendOnlyModel):
    """One move of a status machine, appended by :meth:`common.workflow.Workflow.move` and never
    changed.

    Every event names its ``action`` and the state it moved ``from_state`` and ``to_state``; a
    concrete event adds its subject (the foreign key its workflow's ``subject_field`` names) and
    re-declares ``action`` with its machine's ``Action`` choices (and the states with the
    machine's state choices where its table has them). The columns below are the narrowest the
    machines use; a machine whose tables were made wider re-declares them as they are.
    """

    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=20)
    to_state = models.CharField(_("to"), max_length=20)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} -> {self.to_state}"


class AttributedStatusEvent(StatusEvent):
    """A status event made by someone (or by the system: no actor), with their reason and any
    details the move carries; ordered by time, oldest first."""

    actor = user_who(_("by"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        abstract = True
        verbose_name = _("event")
        verbose_name_plural = _("event")
        ordering = ["created_at", "id"]


class WorkerStatusEvent(StatusEvent):
    """A status event of a machine that only a background worker moves (it makes or gives up on
    a file), so it names no actor and gives no reason; ordered by time, oldest first."""

    occurred_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["occurred_at", "id"]
