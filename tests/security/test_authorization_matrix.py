"""The authorization matrix: every route of the URL configuration x eleven principals (ten
people, and institution I's system calling with a service account's OAuth token).

The routes are read from the URL configuration, so a new endpoint cannot be forgotten: a route
missing from ``ROUTES`` fails the test, naming it. Each route's URL is filled with learner A's
objects (A's outcome, A's application at centre X, A's transfer, certificate, export...), and each
principal's answer is compared with the table.

Outcomes: "ok" reached (2xx, or a redirect elsewhere than the sign-in page); "bad" the view
answered but refused the empty input (400, 409) -- for unsafe methods the matrix sends an empty
body and only asserts who is refused, never that the operation succeeds; "login" sent to sign
in; 401, 403, 404, 405 as such.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.conf import settings

from accounts.models import Role
from tests.worlds import PRINCIPALS, World

from .matrix import UNSAFE, Asker, Route, routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(security_world):
    return security_world


A = "learner_a"
B = "learner_b"
ANON = "anonymous"
# Institution I's system (a service account with every scope): it has no browser session, so
# pages send it to sign in; the API refuses it (403) except where a view names its scope.
SYSTEM = "system_i"
STAFF = ("reviewer_x", "reviewer_y", "centre_admin_x", "institution_admin_i")


@dataclass(frozen=True)
class Row:
    """One route's expectations: a kind gives the defaults; then the cells that differ."""

    kind: str
    kwargs: dict[str, str] = field(default_factory=dict)
    # The methods the view really serves, when it refuses others with 405; ``gate`` says
    # whether it checks the role first ("role": only those past the role gate get 405) or the
    # method first ("method": everyone signed in gets 405).
    serves: tuple[str, ...] | None = None
    gate: str = "role"
    overrides: dict[str, Any] = field(default_factory=dict)
    per_method: dict[str, dict[str, Any]] = field(default_factory=dict)


def row(
    kind: str,
    kwargs: dict[str, str] | None = None,
    *,
    serves: tuple[str, ...] | None = None,
    gate: str = "role",
    cells: dict[str, Any] | None = None,
    **overrides: Any,
) -> Row:
    """A row: ``learner_b=404`` changes one cell, ``cells={...}`` several; ``post={...}``
    cells of one method only."""
    overrides = {**(cells or {}), **overrides}
    per_method = {m: overrides.pop(m.lower()) for m in ("GET", *UNSAFE) if m.lower() in overrides}
    return Row(kind, kwargs or {}, serves, gate, overrides, per_method)


def post_only(kind: str, kwargs: dict[str, str] | None = None, **overrides: Any) -> Row:
    """A view that answers POST only, checking the method before anything else."""
    return row(kind, kwargs, serves=("POST",), gate="method", **overrides)


def post_only_after_role(kind: str, kwargs: dict[str, str] | None = None, **overrides: Any) -> Row:
    """A view that answers POST only, checking the role (and for DRF, authentication) first."""
    return row(kind, kwargs, serves=("POST",), gate="role", **overrides)


# --- The kinds of route and who reaches them ------------------------------------------------

CENTRE_X = ("reviewer_x", "centre_admin_x")
INSTITUTIONS = ("institution_admin_i", "institution_admin_j")


def kind_defaults(kind: str, *, api: bool) -> dict[str, Any]:
    """The expected cells of a kind of route. Anonymous visitors are sent to sign in on pages
    and answered 401 by the API; signed-in principals without the role get 403; a principal
    with the role asking for someone else's object (B for A's, centre Y for X's, J for I's)
    gets 404, as if it did not exist."""
    anonymous = 401 if api else "login"
    refused = {**dict.fromkeys(PRINCIPALS, 403), ANON: anonymous, SYSTEM: 403 if api else "login"}

    def reach(*names: str, **others: Any) -> dict[str, Any]:
        return {**refused, **dict.fromkeys(names, "ok"), **others}

    kinds: dict[str, dict[str, Any]] = {
        "observe": {},
        # Anyone, signed in or not.
        "public": dict.fromkeys(PRINCIPALS, "ok"),
        # Anyone signed in, about themselves (people, not systems).
        "signed-in": {
            **dict.fromkeys(PRINCIPALS, "ok"),
            ANON: anonymous,
            SYSTEM: 403 if api else "login",
        },
        # Learners, about themselves (no object in the URL).
        "learner": reach(A, B),
        # Learner A's object: only A.
        "learner-own": reach(A, learner_b=404),
        # Centre staff (reviewers and administrators of any branch centre).
        "centre": reach("reviewer_x", "reviewer_y", "centre_admin_x"),
        # An object at centre X: its staff; centre Y's reviewer does not see it.
        "centre-own": reach(*CENTRE_X, reviewer_y=404),
        "centre-admin": reach("centre_admin_x"),
        "management": reach("management"),
        # Administrators of collective accounts (no object in the URL).
        "institution": reach(*INSTITUTIONS),
        # Institution I's object: only I's administrator.
        "institution-own": reach("institution_admin_i", institution_admin_j=404),
        # The officer of the university whose programme A applied to transfer to.
        "officer": reach("officer"),
    }
    return dict(kinds[kind])


def everyone(outcome: Any) -> dict[str, Any]:
    return dict.fromkeys(PRINCIPALS, outcome)


OUTCOME = {"pk": "outcome"}
APP = {"pk": "application"}
INST = {"pk": "institution"}
TRANSFER = {"pk": "transfer"}
ITEM = {"pk": "transfer_item"}
PREA = {"pk": "preassessment"}
PREA2 = {"pk": "preassessment2"}
EVIDENCE = {"pk": "evidence"}
GOAL = {"pk": "goal"}
INVITATION = {"pk": "invitation"}
WEBHOOK = {"pk": "institution", "sid": "webhook", "subscription_id": "webhook"}
BANK = {"pk": "trusted_bank"}
WEBHOOK_DELIVERY = {
    "pk": "institution",
    "did": "webhook_delivery",
    "delivery_id": "webhook_delivery",
}
SERVICE_ACCOUNT = {"pk": "institution", "service_account_id": "service_account"}

# One row per route name (or pattern, for the few unnamed routes). Rows read: the kind, the URL
# keyword values when the route has any, then the cells that differ from the kind's defaults
# (``learner_b=404``), or differ for one method only (``post={...}``).
STAFF_SIGNED_IN = [p for p in PRINCIPALS if p not in (ANON, A, B, SYSTEM)]
ROUTES: dict[str, Row] = {
    # Probes, home, sign-in, password reset, public catalogue and verification: anyone.
    "healthz": row("public", serves=("GET",), gate="method"),
    "readyz": row("public", serves=("GET",), gate="method"),
    "home": row("public"),
    "favicon.ico": row("public"),
    "login": row("public"),
    "logout": row("public", serves=("POST",), gate="method", get=everyone(405)),
    "register": row("public"),
    "set_language": row("public"),
    "password_reset": row("public"),
    "password_reset_done": row("public"),
    "password_reset_confirm": row("public", {"uidb64": "MQ", "token": "set-password"}),
    "password_reset_complete": row("public"),
    "password_reset_sms": row("public"),
    "password_reset_sms_confirm": row("public"),
    "collective-apply": row("public"),
    "catalogue": row("public"),
    "catalogue-entry": row("public"),
    "certificate-verify-lookup": row("public"),
    "certificate-verify": row("public"),
    "certificate-issuer-did": row("public"),
    "certificate-status-list": row("public", {"number": "0"}),
    "decision-status-list": row("public", {"number": "0"}),
    # Public by its unguessable token (ADR 0022); an unknown token is the same 404 for all.
    "transfer-record-public": row(
        "public", {"token": "00000000-0000-0000-0000-000000000000"}, cells=everyone(404)
    ),
    # Anyone signed in, about their own account.
    "contact-details": row("signed-in"),
    "mfa-setup": row("signed-in"),
    "mfa-verify": row("signed-in"),
    "password_change": row("signed-in"),
    "password_change_done": row("signed-in"),
    "notifications": row("signed-in"),
    "notifications-read": post_only("signed-in"),
    # A's notice: nobody else's list holds it.
    "notification-open": row(
        "signed-in",
        {"pk": "notification"},
        cells={**dict.fromkeys(PRINCIPALS[2:], 404), SYSTEM: "login"},
    ),
    "rights-visits": row("signed-in"),
    "rights-closure": row("signed-in"),
    "rights-closure-cancel": post_only("signed-in"),
    "rights-corrections": row("signed-in"),
    # Only A has the record; anyone else signed in finds no such record of theirs.
    "rights-record-correction": row(
        "learner-own",
        {"pk": "accredited_outcome"},
        cells=dict.fromkeys(STAFF_SIGNED_IN, 404),
    ),
    # The admin site signs in through the portal; one row stands for the whole admin site,
    # which sends anyone but the management (staff) to sign in as someone else.
    "admin/login/": row("public", cells=everyone("login")),
    "admin:index": row("management", cells={p: "login" for p in PRINCIPALS if p != "management"}),
    # The learner's file and everything in it.
    "learning-file": row("learner"),
    "learning-file-pdf": row("learner"),
    "learning-goal-add": post_only("learner"),
    "learning-goal-remove": post_only("learner-own", GOAL),
    "outcome-add": row("learner"),
    "outcome-detail": row("learner-own", OUTCOME),
    "outcome-edit": row("learner-own", OUTCOME),
    "outcome-withdraw": post_only("learner-own", OUTCOME),
    "outcome-confirm": post_only("learner-own", OUTCOME),
    "outcome-decline": post_only("learner-own", OUTCOME),
    # Institution I's invitation to A: A answers it; to anyone else it does not exist.
    "collective-invitation-accept": post_only("learner-own", INVITATION),
    "collective-invitation-decline": post_only("learner-own", INVITATION),
    # Evidence: its owner (or staff whose centre has the outcome's application under review or
    # decided it: this outcome has none); to anyone else it does not exist, signed in or not.
    "evidence-download": row("learner-own", EVIDENCE, cells={p: 404 for p in PRINCIPALS if p != A}),
    "applications": row("learner"),
    "application-submit": row("learner-own"),
    "application-detail": row("learner-own", APP),
    "application-resubmit": post_only_after_role("learner-own", APP),
    "application-withdraw": row("learner-own", APP),
    "learning-path": row("learner"),
    "what-if": row("learner"),
    "programme-plan": row("learner"),
    # The institution's programmes and their rules: its officers and administrators.
    "institution-programmes": row("officer", institution_admin_i="ok", institution_admin_j="ok"),
    "programme-rules": row("officer", institution_admin_i=404, institution_admin_j=404),
    "transfer-apply": post_only_after_role("learner"),
    "transfers": row("learner"),
    "transfer-detail": row("learner-own", TRANSFER),
    "transfer-withdraw": post_only_after_role("learner-own", TRANSFER),
    "transfer-item-respond": post_only_after_role("learner-own", ITEM),
    "certificates": row("learner"),
    "recognition": row("learner"),
    "certificate-pdf": row("learner-own"),
    "certificate-credential": row("learner-own"),
    # The world's certificate is an hours certificate: it has no public address to replace
    # (tests/transfers/test_transfer_records.py replaces a transfer record's).
    "transfer-record-address-renew": post_only_after_role("learner-own", learner_a=404),
    "ledger-statement": row("learner"),
    "file-inquiry": row("learner"),
    "file-export": row("learner"),
    "file-export-download": row("learner-own", {"token": "export"}),
    # Centre staff. Any centre's staff may find a learner and open the file with a recorded
    # reason (the learner sees each look); the management admin too. A reveal of the identity
    # number also needs a listed reason and a reference to the centre's own business with the
    # learner, refused on its fields ("bad") otherwise; so only centre staff reveal, and the
    # management admin, who has no centre, is refused (403) before any field is read.
    "staff-learning-file": row("centre", management="ok"),
    "staff-identity-reveal": post_only_after_role("centre"),
    "centre-account-open": row("centre"),
    "learner-search": row("centre", management="ok"),
    "rights-centre-visits": row("centre"),
    "rights-correction-queue": row("centre"),
    # A correction goes to one centre (A's name: the centre of A's application, X); centre Y's
    # reviewer finds no such request.
    "rights-correction-decide": post_only_after_role("centre-own", {"pk": "correction"}),
    "centre-queue": row("centre", management="ok"),
    # The management admin sees every application but makes no move: the page comes back
    # with the refusal ("bad"), nothing is written.
    "centre-application": row("centre-own", APP, management="ok"),
    "centre-application-move": post_only_after_role(
        "centre-own", APP, management="ok", post={"management": "bad"}
    ),
    "centre-deadlines": row("centre-admin", management="ok"),
    "collective-applications": row("centre-admin"),
    "collective-application": row("centre-admin", INST),
    # Institution administrators.
    "collective-home": row("institution"),
    "collective-members": row("institution-own", INST),
    "collective-import": row("institution-own", INST),
    "collective-members-export": row("institution-own", INST),
    "collective-import-template": row("institution"),
    # An institution's webhooks and their delivery log: its own administrators only.
    "webhooks": row("institution-own", INST),
    "webhook": row("institution-own", WEBHOOK),
    "webhook-rotate": post_only_after_role("institution-own", WEBHOOK),
    "webhook-delete": post_only_after_role("institution-own", WEBHOOK),
    "webhook-replay": post_only_after_role("institution-own", WEBHOOK_DELIVERY),
    # An institution's service accounts and their call log: its own administrators only.
    "service-accounts": row("institution-own", INST),
    "service-account": row("institution-own", SERVICE_ACCOUNT),
    "service-account-rotate": post_only_after_role("institution-own", SERVICE_ACCOUNT),
    "service-account-disable": post_only_after_role("institution-own", SERVICE_ACCOUNT),
    "outcome-batches": row("institution-own", INST),
    "outcome-batch-add": row("institution-own", INST),
    "outcome-batch-template": row("institution"),
    # Institution officers.
    "institution-transfers": row("officer"),
    "institution-transfer": row("officer", TRANSFER),
    "institution-transfer-decide": post_only_after_role("officer", ITEM),
    # Rescinding or keeping an accepted course whose accreditation was revoked.
    "institution-transfer-rescind": post_only_after_role("officer", ITEM),
    "institution-transfer-keep": post_only_after_role("officer", ITEM),
    # Binding pre-assessments: A's own questions; the officer of the course's university answers
    # (an empty answer is the form shown again).
    "preassessments": row("learner"),
    "preassessment-ask": row(
        "learner", {"course_id": "course2"}, post={"learner_a": "bad", "learner_b": "bad"}
    ),
    "preassessment-detail": row("learner-own", PREA),
    "preassessment-withdraw": post_only_after_role("learner-own", PREA),
    "institution-preassessments": row("officer"),
    "institution-preassessment": row("officer", PREA),
    "institution-preassessment-answer": post_only_after_role("officer", PREA, officer="bad"),
    # The management centre.
    "catalogue-manage": row("management"),
    "catalogue-export": row("management"),
    "conversion-rules-manage": row("management"),
    "conversion-rules-export": row("management"),
    # The working-day calendar's years and the entry of a year's arrangement; an empty form is
    # shown again with its errors.
    "calendar_arrangements": row("management"),
    # Mutual recognition: the trust list (an empty POST is an add form shown again with its
    # errors) and the agreements.
    "recognition-banks": row("management", post={"management": "bad"}),
    "recognition-agreements": row("management"),
    "recognition-agreements-export": row("management"),
    "calendar_arrangement_entry": row("management", {"year": "2027"}, post={"management": "bad"}),
    # --- The API --------------------------------------------------------------------------------
    "api-token": row("public"),
    # Revokes knox's token only: a service account's token is not one (401).
    "api-logout": row("signed-in", system_i=401),
    "api-current-user": row("signed-in"),
    "api-account-register": row("public"),
    "api-sms-code": row("public"),
    "api-password-sms-reset": row("public"),
    "api-account-me": row("learner"),
    "api-my-staff-accesses": row("learner"),
    "api-outcomes": row("learner"),
    "api-evidence-uploads": post_only_after_role("learner"),
    "api-outcome": row("learner-own", OUTCOME),
    "api-outcome-withdraw": post_only_after_role("learner-own", OUTCOME),
    "api-outcome-confirm": post_only_after_role("learner-own", OUTCOME),
    "api-outcome-decline": post_only_after_role("learner-own", OUTCOME),
    "api-collective-invitations": row("learner"),
    "api-collective-invitation-accept": post_only_after_role("learner-own", INVITATION),
    "api-collective-invitation-decline": post_only_after_role("learner-own", INVITATION),
    "api-outcome-estimate": row("learner-own", OUTCOME),
    "api-evidence-download": row(
        "learner-own", EVIDENCE, cells=dict.fromkeys(STAFF_SIGNED_IN, 404)
    ),
    # Institution I's system reads and writes with its scopes (reads: GET; writes: the
    # scope of each POST).
    "api-institution-batches": row("institution-own", INST, system_i="ok"),
    "api-centre-account-open": row("centre"),
    "api-account-lookup": row("centre", management="ok"),
    "api-identity-reveal": row("centre"),
    # Anyone may apply for a collective account; centre admins list the applications.
    "api-institutions": row("centre-admin", post=everyone("ok")),
    # An institution's webhooks over the API: its own administrators only.
    "api-webhooks": row("institution-own", INST, post={"institution_admin_i": "bad"}),
    "api-webhook": row("institution-own", WEBHOOK),
    "api-webhook-rotate": post_only_after_role("institution-own", WEBHOOK),
    "api-webhook-deliveries": row("institution-own", INST),
    "api-webhook-replay": post_only_after_role("institution-own", WEBHOOK_DELIVERY),
    # The OAuth token endpoint of service accounts: anyone may ask (an empty form is refused).
    "api-oauth-token": row("public"),
    # An institution's service accounts over the API: its own administrators only (a service
    # account, even with every scope, manages none).
    "api-service-accounts": row("institution-own", INST, post={"institution_admin_i": "bad"}),
    "api-service-account": row("institution-own", SERVICE_ACCOUNT),
    "api-service-account-rotate": post_only_after_role("institution-own", SERVICE_ACCOUNT),
    "api-service-account-disable": post_only_after_role("institution-own", SERVICE_ACCOUNT),
    "api-service-account-calls": row("institution-own", INST),
    "api-institution": row(
        "centre-admin", INST, institution_admin_i="ok", institution_admin_j=404, system_i="ok"
    ),
    "api-institution-decision": row("centre-admin", INST),
    "api-institution-members": row("institution-own", INST, system_i="ok"),
    "api-institution-members-import": row("institution-own", INST, system_i="ok"),
    "api-institution-members-export": row("institution-own", INST, system_i="ok"),
    "api-notifications": row("signed-in"),
    "api-notifications-read": row("signed-in"),
    "api-my-visits": row("learner"),
    "api-centre-visits": row("centre"),
    # Centre Y's reviewer is refused with 400 "no such visit at your centre" (the empty pages
    # field is checked first).
    "api-visit-copy": row("centre-own", {"pk": "visit"}, reviewer_y="bad"),
    # No closure asked: 404 to its owner.
    "api-my-closure": row("learner", get={A: 404, B: 404}),
    "api-my-corrections": row("learner"),
    "api-my-correctable-records": row("learner"),
    "api-correction-queue": row("centre"),
    "api-correction-decision": row("centre-own", {"pk": "correction"}),
    "api-catalogue": row("public", post=kind_defaults("management", api=True)),
    "api-catalogue-import": row("management"),
    "api-catalogue-export": row("management"),
    "api-catalogue-entry": row("public"),
    "api-recognition-banks": row("management"),
    "api-recognition-bank": row("management", BANK),
    "api-recognition-bank-remove": post_only_after_role("management", BANK),
    "api-recognition-bank-keys": post_only_after_role("management", BANK),
    "api-recognition-agreements": row("management"),
    "api-recognition-agreements-import": row("management"),
    "api-recognition-agreements-export": row("management"),
    "api-conversion-rules": row("public", post=kind_defaults("management", api=True)),
    "api-conversion-rules-import": row("management"),
    "api-conversion-rules-export": row("management"),
    # Learners list their own applications, centre staff their centre's, management all.
    "api-applications": row(
        "learner", get=dict.fromkeys((*CENTRE_X, "reviewer_y", "management"), "ok")
    ),
    "api-application": row(
        "learner-own", APP, cells=dict.fromkeys(CENTRE_X, "ok"), reviewer_y=404, management="ok"
    ),
    # Only a centre admin assigns; reviewers are refused by role.
    "api-application-assign": row("centre-own", APP, reviewer_x=403, reviewer_y=403),
    "api-application-start-review": row("centre-own", APP),
    "api-application-request-supplement": row("centre-own", APP),
    "api-application-resubmit": row("learner-own", APP),
    "api-application-accredit": row("centre-own", APP),
    "api-application-propose": row("centre-own", APP),
    "api-application-approve": row("centre-own", APP),
    "api-application-return-proposal": row("centre-own", APP),
    "api-application-reject": row("centre-own", APP),
    "api-application-withdraw": row("learner-own", APP),
    # Revoking: the centre admin or the management admin, never a reviewer.
    "api-application-revoke": row(
        "centre-own", APP, reviewer_x=403, reviewer_y=403, management="ok"
    ),
    "api-programmes": row("public"),
    # A programme's rules: anyone reads them; its institution's officer publishes (I's
    # administrator and system keep another institution's programmes: 404, 403).
    "api-programme-rules": row(
        "public",
        post=kind_defaults("officer", api=True)
        | {"institution_admin_i": 404, "institution_admin_j": 404},
    ),
    "api-centres": row("public"),
    "api-calendar-year": row("public"),
    "api-goals": row("learner"),
    "api-goal": row("learner-own", GOAL),
    # The officer of the programme's institution sees the transfer application to decide it.
    # Institution I's system may read transfers to I (there are none: A's is to the
    # university), and decide their courses; A's transfer is not I's (404).
    "api-transfers": row("learner", get={"officer": "ok", SYSTEM: "ok"}),
    "api-transfer": row("learner-own", TRANSFER, officer="ok", system_i=404),
    "api-transfer-withdraw": row("learner-own", TRANSFER),
    "api-transfer-item-decide": row("officer", ITEM, system_i=404),
    "api-transfer-item-rescind": row("officer", ITEM, system_i=404),
    "api-transfer-item-keep": row("officer", ITEM, system_i=404),
    "api-transfer-item-respond": row("learner-own", ITEM),
    "api-preassessments": row(
        "learner", get={"officer": "ok"}, post={"learner_a": "bad", "learner_b": "bad"}
    ),
    "api-preassessment": row("learner-own", PREA, officer="ok"),
    "api-preassessment-answer": row("officer", PREA, officer="bad"),
    "api-preassessment-withdraw": row("learner-own", PREA2),
    "api-learning-path": row("learner"),
    "api-what-if": row("learner"),
    "api-programme-plan": row("learner"),
    "api-certificates": row("learner"),
    "api-recognitions": row("learner"),
    "api-certificate-signing-key": row("public"),
    "api-certificate-verify": row("public"),
    "api-certificate": row("learner-own"),
    "api-certificate-pdf": row("learner-own"),
    "api-certificate-credential": row("learner-own"),
    "api-ledger-statement": row("learner"),
    "api-outcome-search": row("learner"),
    "api-data-exports": row("learner"),
    "api-data-export-download": row("learner-own", {"token": "export"}),
    "api-schema": row("public"),
    "api-docs": row("public"),
}


# --- Filling URLs with A's objects ------------------------------------------------------------

DEFAULT_KWARGS = {
    "number": "account_number",
    "account_number": "account_number",
    "serial": "certificate",
    "code": "catalogue_code",
    "outcome_id": "outcome",
    "programme_id": "programme",
}
LITERAL_KWARGS = {
    "file_format": "csv",
    "fmt": "csv",
    "move": "start-review",
    "kind": "outcome",
    "year": "2027",
}


def url_of(route: Route, entry: Row, world: World) -> str:
    path = "/" + route.pattern.lstrip("^").rstrip("$")
    path = path.replace("/?", "/")
    for _converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", route.pattern):
        if name in entry.kwargs:
            value = entry.kwargs[name]
            value = world.objects.get(value, value)
        elif name in LITERAL_KWARGS:
            value = LITERAL_KWARGS[name]
        else:
            value = world.objects[DEFAULT_KWARGS[name]]
        path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
    return path.replace("\\", "")


def expected_cells(route: Route, entry: Row, method: str) -> dict[str, Any]:
    cells = kind_defaults(entry.kind, api=route.is_api)
    cells.update(entry.overrides)
    if entry.serves and method not in entry.serves:
        if entry.gate == "method":
            cells = {p: v if v in ("login", 401) else 405 for p, v in cells.items()}
        else:
            cells = {p: 405 if v in ("ok", "bad", 404) else v for p, v in cells.items()}
    cells.update(entry.per_method.get(method, {}))
    return cells


def admin_internal(route: Route) -> bool:
    """The Django admin's own pages (every model's changelist, add, change, history...) are
    one application behind one gate, ``admin_view``, which the row of ``admin:index`` stands
    for; its unnamed catch-all and per-object redirects likewise. Only the portal's redirect of
    ``admin/login/`` to its own sign-in is kept as a row."""
    if route.key in ("admin:index", "admin/login/"):
        return False
    return route.key.startswith("admin:") or route.pattern.startswith("admin/")


@pytest.fixture(autouse=True)
def _quiet_refusals():
    """Each refusal would log a warning (with a traceback for 403s); a thousand of them only
    slow the matrix down."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def test_every_route_answers_each_principal_as_the_table_says(world):
    askers = {
        name: Asker(
            # A service account has no browser session: pages see no one.
            None if user is not None and user.role == Role.SERVICE_ACCOUNT else user,
            world.tokens.get(name),
            staff=user is not None and user.role != Role.LEARNER,
        )
        for name, user in world.users.items()
    }
    missing, wrong, observed_rows = [], [], []
    started = time.monotonic()
    for route in routes():
        if admin_internal(route):
            continue
        entry = ROUTES.get(route.key)
        if entry is None:
            missing.append(route.key)
            entry = row("observe")
        for method in route.methods():
            try:
                path = url_of(route, entry, world)
            except KeyError as error:
                wrong.append(f"{route.key}: no value for {error}")
                continue
            expected = expected_cells(route, entry, method)
            t0 = time.monotonic()
            got = {name: askers[name].ask(route, method, path) for name in PRINCIPALS}
            observed_rows.append(
                f"{time.monotonic() - t0:5.2f} {method:6} {route.key:40} {path:60} {got}"
            )
            for name in PRINCIPALS:
                want = expected.get(name)
                if want is None:
                    continue
                allowed = {"ok", "bad"} if want == "ok" and method != "GET" else {want}
                if got[name] not in allowed:
                    wrong.append(f"{method} {path} as {name}: expected {want}, got {got[name]}")
    print("\n".join(observed_rows))
    took = time.monotonic() - started
    print(f"{len(observed_rows)} rows x {len(PRINCIPALS)} principals in {took:.1f} s")
    assert not missing, f"routes missing from the authorization matrix: {missing}"
    assert not wrong, "\n".join(wrong)


def test_every_route_of_the_url_configuration_has_a_row_in_the_matrix():
    listed = [route.key for route in routes() if not admin_internal(route)]

    missing = [key for key in listed if key not in ROUTES]

    assert not missing, f"routes missing from the authorization matrix: {missing}"
    assert len(listed) == len(set(listed)), "two routes share a name"


def test_no_row_of_the_matrix_names_a_route_that_is_gone():
    listed = {route.key for route in routes()}

    assert sorted(set(ROUTES) - listed) == []


def test_a_staff_session_without_the_second_factor_reaches_only_public_routes(world):
    """Centre X's reviewer has given the password but not the code: pages send them to the
    second factor, the API takes the session for no session at all."""
    half = Asker(world.users["reviewer_x"], None, staff=False)
    reached = []
    for route in routes():
        if admin_internal(route) or ROUTES[route.key].kind == "public":
            continue
        if route.key in ("mfa-setup", "mfa-verify"):  # where the code is given
            continue
        path = url_of(route, ROUTES[route.key], world)
        client: Any = half.api_client if route.is_api else half.page_client
        client.cookies = SimpleCookie()
        client.cookies[settings.SESSION_COOKIE_NAME] = half.session_cookie
        response = client.get(path)
        location = response.headers.get("Location", "")
        if response.status_code < 300 or (
            response.status_code < 400 and not location.startswith(("/mfa/", "/login/"))
        ):
            reached.append(f"{path}: {response.status_code} {location}")

    assert reached == []
