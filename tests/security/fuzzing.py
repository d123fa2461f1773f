"""API fuzzing with schemathesis: every operation of /api/v1/schema/, as every role.

Shared by the quick run in ``make test`` (tests/security/test_fuzz.py: in process, through WSGI,
on the test database) and the long run of ``make fuzz`` (scripts/fuzz/long_run.py: over HTTP
against gunicorn on a scratch database). Both start from the demo data of ``seed_demo`` and sign
each role in through ``POST /api/v1/auth/token/`` (staff with a TOTP code).

For each operation and role, generated requests (valid and invalid by the schema) must get:
- no server error (5xx);
- a status code the schema documents, and a body and headers that match it;
- for an operation that needs authentication: no 2xx without it (anonymous callers are refused,
  and a signed-in role's request replayed without its token or with a wrong one is refused).
A share of the generated requests name objects that exist (the demo learner's outcome, the demo
application, the catalogue codes, ...) instead of random identifiers, so that requests reach past
the 404 into the views.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import hypothesis
import hypothesis.strategies as st
import schemathesis
from django.apps import apps
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, Phase
from oauth2_provider.models import AccessToken, set_token_value
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ServiceAccount, ServiceScope, User
from accounts.serviceaccounts.models import ACCESS_TOKEN_PREFIX
from accounts.serviceaccounts.services import service_account_create
from accounts.services import api_token_create

# The demo data's published password.
DEMO_PASSWORD = "CreditBank-Demo-2026"

# Each role, and the demo user (from seed_demo) who plays it; anonymous sends no credentials.
SERVICE_ACCOUNT_PREFIX = "service:"
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "learner": "13800000001",
    "centre_reviewer": "reviewer.yuzhong",
    "centre_admin": "admin.yuzhong",
    "institution_admin": "inst.admin",
    "institution_officer": "officer.cqou",
    "management_admin": "manager",
    # The demo institution's system: a service account of inst.admin's with every scope,
    # calling with its OAuth access token.
    "service_account": SERVICE_ACCOUNT_PREFIX + "inst.admin",
}

LOGOUT = "POST /api/v1/auth/logout/"

# Path prefixes of the schema, and where the identifiers that exist for them come from.
_KNOWN: list[tuple[str, str, str]] = [
    ("/api/v1/accounts/{account_number}/", "accounts.LearningAccount", "number"),
    ("/api/v1/accounts/me/exports/{token}/", "creditbank.DataExport", "token"),
    ("/api/v1/applications/{id}/", "accreditation.Application", "pk"),
    ("/api/v1/catalogue/{code}/", "accreditation.CatalogueEntry", "code"),
    ("/api/v1/certificates/{serial}/", "transfers.Certificate", "serial"),
    ("/api/v1/certificates/verify/{serial}/", "transfers.Certificate", "serial"),
    ("/api/v1/corrections/{id}/", "accounts.CorrectionRequest", "pk"),
    ("/api/v1/evidence/{id}/", "outcomes.EvidenceFile", "pk"),
    ("/api/v1/institutions/{id}/", "accounts.Institution", "pk"),
    ("/api/v1/outcomes/{id}/", "outcomes.LearningOutcome", "pk"),
    ("/api/v1/transfers/{id}/", "transfers.TransferApplication", "pk"),
    ("/api/v1/transfers/goals/{id}/", "transfers.LearningGoal", "pk"),
    ("/api/v1/transfers/items/{id}/", "transfers.TransferItem", "pk"),
    ("/api/v1/transfers/paths/{programme_id}/", "transfers.Programme", "pk"),
    ("/api/v1/transfers/plans/{programme_id}/", "transfers.Programme", "pk"),
    ("/api/v1/visits/{id}/", "accounts.CentreVisit", "pk"),
]


def openapi_document() -> dict[str, Any]:
    """The schema /api/v1/schema/ serves, generated in process (no request needed)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


def load_schema(document: dict[str, Any], *, app: Any = None) -> Any:
    schema = schemathesis.openapi.from_dict(document)
    if app is not None:
        schema.app = app
    return schema


def operations(schema: Any) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return sorted(found, key=lambda op: op.label)


def otp_code(user: User) -> str:
    """The code the user's authenticator shows now (each time step is accepted once, so the
    device's memory of the last one is cleared first)."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    return str(totp(device.bin_key)).zfill(6)


def role_credentials(post_token: Callable[[dict[str, str]], str]) -> dict[str, dict[str, str]]:
    """Sign every role in through the token endpoint; returns the headers each role sends."""
    headers: dict[str, dict[str, str]] = {}
    for role, login in ROLES.items():
        if login is None:
            headers[role] = {}
            continue
        if login.startswith(SERVICE_ACCOUNT_PREFIX):
            headers[role] = service_account_headers(login.removeprefix(SERVICE_ACCOUNT_PREFIX))
            continue
        body = {"username": login, "password": DEMO_PASSWORD}
        user = _user(login)
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            body["otp_code"] = otp_code(user)
        headers[role] = {"Authorization": f"Token {post_token(body)}"}
    return headers


def service_account_headers(admin_login: str) -> dict[str, str]:
    """A Bearer access token of the admin's institution's service account (made with every
    scope the first time), issued as the token endpoint would."""
    admin = _user(admin_login)
    assert admin.institution is not None
    account = ServiceAccount.objects.filter(institution=admin.institution, name="fuzz").first()
    if account is None:
        account, _secret = service_account_create(
            institution=admin.institution, actor=admin, name="fuzz", scopes=ServiceScope.values
        )
    raw = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        application_id=account.application_id,
        expires=timezone.now() + timedelta(hours=12),
        scope=" ".join(ServiceScope.values),
    )
    set_token_value(token, raw)
    token.save()
    return {"Authorization": f"Bearer {raw}"}


def _user(login: str) -> User:
    if login.isdigit():
        return User.objects.get(phone=login)
    return User.objects.get(username=login)


def throwaway_token(role: str) -> dict[str, str]:
    """A fresh token for the role, for the logout operation (which revokes the token it is
    called with; fuzzing it with the role's own token would sign the role out)."""
    login = ROLES[role]
    if login is None:
        return {}
    if login.startswith(SERVICE_ACCOUNT_PREFIX):
        return service_account_headers(login.removeprefix(SERVICE_ACCOUNT_PREFIX))
    token, _ = api_token_create(user=_user(login))
    return {"Authorization": f"Token {token}"}


def known_values(path: str) -> dict[str, list[Any]]:
    """Identifiers that exist for the path's parameters (empty when there are none yet)."""
    values: dict[str, list[Any]] = {}
    for prefix, model_label, attribute in _KNOWN:
        if path.startswith(prefix):
            name = prefix.rstrip("/").rsplit("{", 1)[1].rstrip("}")
            model = apps.get_model(model_label)
            found = list(model.objects.order_by("pk").values_list(attribute, flat=True)[:20])
            if found:
                values[name] = [str(v) if attribute != "pk" else v for v in found]
    if "{file_format}" in path:
        values["file_format"] = ["csv", "xlsx"]
    return values


def anonymous_is_refused(ctx: Any, response: Any, case: Case) -> bool | None:
    """A caller without credentials gets no 2xx from an operation that needs authentication."""
    security = case.operation.definition.raw.get("security", [])
    public = not security or {} in security
    if not public and 200 <= response.status_code < 300:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code} without authentication"
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass
class Failure:
    operation: str
    role: str
    mode: str
    message: str
    reproduce: str

    def key(self) -> tuple[str, str, str]:
        first_line = next((line for line in self.message.splitlines() if line.strip()), "")
        return (self.operation, self.role, first_line[:160])


@dataclass
class Outcome:
    examples: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[tuple[str, str, str], Failure] = field(default_factory=dict)

    def merge(self, other: Outcome) -> None:
        self.examples += other.examples
        for code, count in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + count
        for key, failure in other.failures.items():
            self.failures.setdefault(key, failure)


def fuzz_operation(
    operation: Any,
    *,
    role: str,
    headers: dict[str, str],
    max_examples: int,
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    base_url: str | None = None,
    seed: int = 9,
) -> Outcome:
    """Send up to ``max_examples`` generated requests per mode and check every answer."""
    outcome = Outcome()
    checks = [*CHECKS, anonymous_is_refused if role == "anonymous" else ignored_auth]
    known = known_values(operation.path)
    for mode in modes:
        try:
            strategy = operation.as_strategy(generation_mode=mode)
        except Exception as error:  # a mode the operation cannot be fuzzed in (no inputs)
            if mode is GenerationMode.NEGATIVE:
                continue
            raise error
        if known:
            strategy = st.tuples(strategy, _known_choice(known)).map(_with_known)

        run = _runner(operation, strategy, mode, outcome, role, headers, checks, base_url)
        run = hypothesis.settings(
            max_examples=max_examples,
            derandomize=False,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
            report_multiple_bugs=False,
        )(hypothesis.seed(seed)(run))
        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            continue
    return outcome


def _runner(
    operation: Any,
    strategy: st.SearchStrategy[Case],
    mode: GenerationMode,
    outcome: Outcome,
    role: str,
    headers: dict[str, str],
    checks: list[Any],
    base_url: str | None,
) -> Callable[[], None]:
    @hypothesis.given(case=strategy)
    def run(case: Case) -> None:
        sent = throwaway_token(role) if operation.label == LOGOUT else headers
        outcome.examples += 1
        try:
            response = case.call(base_url=base_url, headers=sent)
        except Exception as error:
            _record(outcome, case, role, mode, f"request failed: {error!r}", sent)
            return
        outcome.statuses[response.status_code] = outcome.statuses.get(response.status_code, 0) + 1
        if response.status_code == 414:
            # A request line longer than the HTTP server reads (gunicorn: 4,094 bytes) is
            # refused by it before the portal sees the request: not the API's answer.
            return
        try:
            case.validate_response(response, checks=checks, headers=sent)
        except (FailureGroup, Exception) as error:
            _record(outcome, case, role, mode, str(error), sent)

    return run


def fuzz_operation_as_role(
    operation: Any,
    *,
    role: str,
    headers: dict[str, str],
    pilot: int,
    examples: int,
    base_url: str | None = None,
    seed: int = 9,
) -> tuple[Outcome, bool]:
    """A pilot of ``pilot`` valid requests; when any got past authentication and permission
    (an answer but 401/403), the operation matters for the role, and ``examples`` more requests
    per mode (valid and invalid) follow. Returns what was found, and whether the role got the
    full run."""
    outcome = fuzz_operation(
        operation,
        role=role,
        headers=headers,
        max_examples=pilot,
        modes=(GenerationMode.POSITIVE,),
        base_url=base_url,
        seed=seed,
    )
    matters = any(code not in (401, 403) for code in outcome.statuses)
    if matters and examples > 0:
        outcome.merge(
            fuzz_operation(
                operation,
                role=role,
                headers=headers,
                max_examples=examples,
                base_url=base_url,
                seed=seed + 1,
            )
        )
    return outcome, matters


def _known_choice(known: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any] | None]:
    chosen = st.fixed_dictionaries({name: st.sampled_from(v) for name, v in known.items()})
    return st.one_of(st.none(), chosen)


def _with_known(pair: tuple[Case, dict[str, Any] | None]) -> Case:
    case, chosen = pair
    if chosen and case.path_parameters is not None:
        for name, value in chosen.items():
            if name in case.path_parameters:
                case.path_parameters[name] = value
    return case


def _record(
    outcome: Outcome, case: Case, role: str, mode: GenerationMode, message: str, sent: dict
) -> None:
    try:
        reproduce = case.as_curl_command(headers=sent)
    except Exception:
        reproduce = repr(case)
    failure = Failure(case.operation.label, role, mode.value, message.strip(), reproduce)
    outcome.failures.setdefault(failure.key(), failure)


@contextmanager
def database_connection_kept() -> Iterator[None]:
    """A request through WSGI closes the database connection when it ends (as Django's test
    client avoids): inside a test's transaction that would lose the transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def report(outcome: Outcome, *, limit: int = 40) -> str:
    lines = []
    for failure in list(outcome.failures.values())[:limit]:
        lines.append(
            f"--- {failure.operation} as {failure.role} ({failure.mode})\n"
            f"{failure.message[:1500]}\n{failure.reproduce[:600]}"
        )
    return "\n".join(lines)
