"""The portal's navigation, by role. Each app's pages add their entries here as they appear.

An entry with ``roles=None`` is shown to everyone, signed in or not; ``signed_in=True`` limits it
to signed-in users of any role.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import STAFF_ROLES, Role


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    roles: frozenset[str] | None = None
    signed_in: bool = False

    def visible_to(self, user: object) -> bool:
        is_authenticated = getattr(user, "is_authenticated", False)
        if self.roles is None:
            return is_authenticated or not self.signed_in
        return bool(is_authenticated and getattr(user, "role", None) in self.roles)


NAVIGATION: list[NavItem] = [
    NavItem(_("Home"), "home"),
    NavItem(_("Catalogue"), "catalogue"),
    NavItem(_("My lifelong learning file"), "learning-file", roles=frozenset({Role.LEARNER})),
    NavItem(_("Add results"), "outcome-add", roles=frozenset({Role.LEARNER})),
    NavItem(_("My applications"), "applications", roles=frozenset({Role.LEARNER})),
    NavItem(_("My credit transfers"), "transfers", roles=frozenset({Role.LEARNER})),
    NavItem(_("My pre-assessments"), "preassessments", roles=frozenset({Role.LEARNER})),
    NavItem(_("Ledger statement"), "ledger-statement", roles=frozenset({Role.LEARNER})),
    NavItem(_("My certificates"), "certificates", roles=frozenset({Role.LEARNER})),
    NavItem(
        _("Credit transfers"),
        "institution-transfers",
        roles=frozenset({Role.INSTITUTION_OFFICER}),
    ),
    NavItem(
        _("Pre-assessments"),
        "institution-preassessments",
        roles=frozenset({Role.INSTITUTION_OFFICER}),
    ),
    NavItem(
        _("Review queue"),
        "centre-queue",
        roles=frozenset({Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN, Role.MANAGEMENT_ADMIN}),
    ),
    NavItem(
        _("Find a learner"),
        "learner-search",
        roles=frozenset({Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN, Role.MANAGEMENT_ADMIN}),
    ),
    NavItem(
        _("Correction requests"),
        "rights-correction-queue",
        roles=frozenset({Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN}),
    ),
    NavItem(
        _("Paper file visits"),
        "rights-centre-visits",
        roles=frozenset({Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN}),
    ),
    NavItem(
        _("Collective account applications"),
        "collective-applications",
        roles=frozenset({Role.CENTRE_ADMIN}),
    ),
    NavItem(_("Our members"), "collective-home", roles=frozenset({Role.INSTITUTION_ADMIN})),
    NavItem(
        _("Open an account"),
        "centre-account-open",
        roles=frozenset({Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN}),
    ),
    NavItem(
        _("Deadlines"),
        "centre-deadlines",
        roles=frozenset({Role.CENTRE_ADMIN, Role.MANAGEMENT_ADMIN}),
    ),
    NavItem(
        _("Conversion rules"), "conversion-rules-manage", roles=frozenset({Role.MANAGEMENT_ADMIN})
    ),
    NavItem(
        _("Working-day calendar"),
        "calendar_arrangements",
        roles=frozenset({Role.MANAGEMENT_ADMIN}),
    ),
    NavItem(
        _("Trusted credit banks"),
        "recognition-banks",
        roles=frozenset({Role.MANAGEMENT_ADMIN}),
    ),
    NavItem(
        _("Recognition agreements"),
        "recognition-agreements",
        roles=frozenset({Role.MANAGEMENT_ADMIN}),
    ),
    NavItem(_("API documentation"), "api-docs", roles=frozenset(STAFF_ROLES)),
    NavItem(_("Administration"), "admin:index", roles=frozenset({Role.MANAGEMENT_ADMIN})),
]


# Shown to visitors who are not signed in.
ANONYMOUS_NAVIGATION: list[NavItem] = [
    NavItem(_("Open a learning account"), "register"),
    NavItem(_("Apply for a collective account"), "collective-apply"),
]


def _visible_to(user: object) -> list[NavItem]:
    items = [item for item in NAVIGATION if item.visible_to(user)]
    if not getattr(user, "is_authenticated", False):
        items += ANONYMOUS_NAVIGATION
    return items


def items_for(user: object) -> list[dict[str, object]]:
    return [
        {"label": item.label, "url": reverse(item.url_name), "url_name": item.url_name}
        for item in _visible_to(user)
    ]


# Every page renders the navigation (its links twice: a row, and a menu folded on a phone). Its
# HTML holds only labels and links, the same for everyone who sees the same entries on the same
# page in the same language, and the entries are code: so it is made once per process for each
# of those (a few roles x ~150 pages x 2 languages at most) and kept.
_rendered: dict[tuple[str, ...], SafeString] = {}
_RENDERED_MAX = 5000


def navigation_html(user: object, view_name: str | None) -> SafeString:
    """The main navigation for ``user`` on the page named ``view_name`` (marked as current)."""
    items = _visible_to(user)
    key = (get_language() or "", view_name or "", *(item.url_name for item in items))
    html = _rendered.get(key)
    if html is None:
        html = render_to_string(
            "includes/mainnav.html", {"navigation": items_for(user), "current": view_name}
        )
        if len(_rendered) < _RENDERED_MAX:
            _rendered[key] = html
    return html
