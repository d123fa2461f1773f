"""The home page of each staff role: what waits for them, in counts, with one link to each.

Kept apart from the learner's dashboard (creditbank/learning_file.py) so that the two change
independently. Cheap on purpose: the page opens after every sign-in, so each figure group is one
aggregate query of the app that owns it (at most five queries for any role), never a query per
row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Role, User
from accounts.services import centres_list, collective_membership_counts, collective_of
from accreditation.calendar_watch import calendar_years_unpublished
from accreditation.catalogue import catalogue_current
from accreditation.waiting import my_next_due, on_time_recently, queue_counts
from outcomes.batches import batches_of
from transfers.preassessments import preassessment_queue_counts
from transfers.services import transfer_items_waiting_count


@dataclass(frozen=True)
class Tile:
    """One figure and where to act on it."""

    key: str
    label: str | Promise
    figure: int | str
    url: str
    # Shown in red when something is late or missing.
    alert: bool = False


@dataclass(frozen=True)
class Action:
    """A page to go to that is not a to-do (no figure to count down)."""

    key: str
    label: str | Promise
    url: str


@dataclass
class RoleHome:
    tiles: list[Tile] = field(default_factory=list)
    # The section's heading; None says "What waits for you" (待办事项).
    heading: str | Promise | None = None
    # Links shown apart from the tiles.
    actions: list[Action] = field(default_factory=list)
    # The reviewer's own applications, soonest due first.
    next_due: list[Any] = field(default_factory=list)


def _queue(query: str = "") -> str:
    return reverse("centre-queue") + (f"?{query}" if query else "")


def _reviewer(user: User) -> RoleHome:
    counts = queue_counts(user=user, centre_id=user.centre_id)
    return RoleHome(
        tiles=[
            Tile("mine", _("Assigned to me"), counts.mine, _queue("reviewer=me")),
            Tile(
                "mine-overdue",
                _("Mine overdue"),
                counts.mine_overdue,
                _queue("reviewer=me&ordering=due_on"),
                alert=counts.mine_overdue > 0,
            ),
            Tile("unassigned", _("Not assigned yet"), counts.unassigned, _queue("reviewer=none")),
        ],
        next_due=my_next_due(user=user),
    )


def _centre_admin(user: User) -> RoleHome:
    counts = queue_counts(user=user, centre_id=user.centre_id)
    rate = on_time_recently(centre_id=user.centre_id)
    deadlines = reverse("centre-deadlines")
    return RoleHome(
        tiles=[
            Tile(
                "unassigned",
                _("Not assigned yet"),
                counts.unassigned,
                _queue("reviewer=none"),
                alert=counts.unassigned > 0,
            ),
            Tile(
                "overdue",
                _("Overdue"),
                counts.overdue,
                deadlines,
                alert=counts.overdue > 0,
            ),
            Tile(
                "on-time",
                _("Decided on time, last 30 days"),
                "—" if rate.percent is None else f"{rate.percent}%",
                f"{deadlines}?period=30",
            ),
            Tile("open", _("Awaiting a decision"), counts.open, _queue()),
        ],
        next_due=my_next_due(user=user),
    )


def _officer(user: User) -> RoleHome:
    waiting = transfer_items_waiting_count(user=user)
    questions = preassessment_queue_counts(user=user)
    return RoleHome(
        tiles=[
            Tile(
                "transfer-items",
                _("Courses awaiting your decision"),
                waiting,
                reverse("institution-transfers"),
                alert=waiting > 0,
            ),
            # The questions learners asked in advance, the soonest due first (issue 24).
            Tile(
                "preassessments",
                _("Pre-assessments to answer"),
                questions.waiting,
                reverse("institution-preassessments"),
            ),
            Tile(
                "preassessments-overdue",
                _("Pre-assessments overdue"),
                questions.overdue,
                reverse("institution-preassessments"),
                alert=questions.overdue > 0,
            ),
        ],
        actions=[
            Action("programme-rules", _("Programme rules"), reverse("institution-programmes"))
        ],
    )


def _institution_admin(user: User) -> RoleHome:
    if user.institution_id is None:
        return RoleHome()
    collective = collective_of(user=user, institution_id=user.institution_id)
    if collective is None:
        return RoleHome()
    counts = collective_membership_counts(collective=collective)
    pk = user.institution_id
    members = reverse("collective-members", args=[pk])
    return RoleHome(
        # Figures of the institution, none of them a to-do: not "待办事项".
        heading=pgettext_lazy("institution admin home", "Your institution"),
        tiles=[
            Tile("members", _("Members"), counts["members"], members),
            Tile("invitations", _("Invitations not answered yet"), counts["invited"], members),
            Tile(
                "batches",
                _("Batches of results reported"),
                batches_of(collective=collective).count(),
                reverse("outcome-batches", args=[pk]),
            ),
        ],
        actions=[
            Action("import", _("Import members"), reverse("collective-import", args=[pk])),
            Action("webhooks", _("Webhooks"), reverse("webhooks", args=[pk])),
            Action(
                "service-accounts", _("Service accounts"), reverse("service-accounts", args=[pk])
            ),
        ],
    )


def _management_admin(user: User) -> RoleHome:
    unpublished = calendar_years_unpublished()
    counts = queue_counts(user=user, centre_id=None)
    return RoleHome(
        tiles=[
            Tile(
                "catalogue",
                _("Catalogue entries in effect"),
                catalogue_current().count(),
                reverse("catalogue-manage"),
            ),
            Tile(
                "calendar",
                _("Calendar years to enter"),
                len(unpublished),
                reverse("calendar_arrangements"),
                alert=bool(unpublished),
            ),
            Tile(
                "centres",
                _("Centres at work"),
                centres_list(active=True).count(),
                reverse("admin:accounts_centre_changelist"),
            ),
            Tile(
                "overdue",
                _("Overdue in all centres"),
                counts.overdue,
                reverse("centre-deadlines"),
                alert=counts.overdue > 0,
            ),
        ]
    )


HOMES = {
    Role.CENTRE_REVIEWER: _reviewer,
    Role.CENTRE_ADMIN: _centre_admin,
    Role.INSTITUTION_OFFICER: _officer,
    Role.INSTITUTION_ADMIN: _institution_admin,
    Role.MANAGEMENT_ADMIN: _management_admin,
}


def role_home_of(user: User) -> RoleHome | None:
    """What waits for ``user``, a member of staff; None for a learner."""
    build = HOMES.get(user.role)  # type: ignore[call-overload]
    return build(user) if build is not None else None
