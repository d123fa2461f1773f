"""Service accounts: made, given a new secret and disabled by the institution's administrator;
their tokens recognised on each API call; every call logged, the log kept bounded.

The client secret is returned once, when made or rotated; django-oauth-toolkit stores only its
hash (Django's password hasher), and the access tokens only as their SHA-256 checksum."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import AccessToken, Application

from accounts.core.models import Institution, Role, User
from accounts.serviceaccounts.models import Scope, ServiceAccount, ServiceCall
from accounts.validators import free_text_problem

MAX_SERVICE_ACCOUNTS = 10
SECRET_PREFIX = "cbss_"  # noqa: S105 - the secrets' prefix, not a secret


@dataclass
class ServiceAccess:
    """What a service account's token gives one API call (DRF's ``request.auth``): the account
    and the scopes both its token and its account still hold. ``scope_used`` is set by the
    permission that let the call in (or refused it), for the call log."""

    account: ServiceAccount
    scopes: frozenset[str]
    scope_used: str = ""
    started: float = field(default=0.0)


# --- Who may manage them --------------------------------------------------------------------------


def _administers(user: Any, institution_id: int) -> bool:
    # As accounts.signin.permissions.user_has_role (which this module cannot import: the API's
    # authentication classes, this module's callers, load with DRF's views).
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.role == Role.INSTITUTION_ADMIN
        and user.institution_id == institution_id
    )


def service_accounts_institution_of(*, user: Any, institution_id: int) -> Institution | None:
    """The institution, if ``user`` is one of its administrators."""
    if not _administers(user, institution_id):
        return None
    return Institution.objects.filter(pk=institution_id).first()


def _check_administers(*, user: User, institution_id: int) -> None:
    if not _administers(user, institution_id):
        raise PermissionDenied


# --- Making, rotating, disabling ----------------------------------------------------------------


def _name_check(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the service account a name.")}, code="required")
    if len(name) > 100:
        raise ValidationError(
            {"name": _("At most %(n)d characters.") % {"n": 100}}, code="max_length"
        )
    problem = free_text_problem(name, multiline=False)
    if problem:
        raise ValidationError({"name": problem}, code="invalid")
    return name


def _scopes_check(scopes: Iterable[str]) -> list[str]:
    chosen = sorted(set(scopes))
    if not chosen:
        raise ValidationError({"scopes": _("Choose at least one scope.")}, code="required")
    unknown = [s for s in chosen if s not in Scope.values]
    if unknown:
        raise ValidationError(
            {"scopes": _("Unknown scope: %(scope)s.") % {"scope": ", ".join(unknown)}},
            code="invalid_choice",
        )
    return chosen


def _secret_generate() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def service_account_create(
    *, institution: Institution, actor: User, name: str, scopes: Iterable[str]
) -> tuple[ServiceAccount, str]:
    """A new service account of the institution and its client secret, returned this once."""
    _check_administers(user=actor, institution_id=institution.pk)
    name = _name_check(name)
    chosen = _scopes_check(scopes)
    Institution.objects.select_for_update().get(pk=institution.pk)  # counts one at a time
    if ServiceAccount.objects.filter(institution=institution).count() >= MAX_SERVICE_ACCOUNTS:
        raise ValidationError(
            {
                "name": _("At most %(n)d service accounts per institution.")
                % {"n": MAX_SERVICE_ACCOUNTS}
            },
            code="too_many",
        )
    secret = _secret_generate()
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,  # hashed when saved (hash_client_secret)
        hash_client_secret=True,
        skip_authorization=True,
    )
    principal = User(
        username=f"svc.{application.client_id}",
        name=name,
        role=Role.SERVICE_ACCOUNT,
        institution=institution,
    )
    principal.set_unusable_password()
    principal.save()
    account = ServiceAccount.objects.create(
        institution=institution,
        name=name,
        scopes=chosen,
        application=application,
        principal=principal,
        created_by=actor,
    )
    return account, secret


def _tokens_revoke(account: ServiceAccount) -> None:
    AccessToken.objects.filter(application_id=account.application_id).delete()


@transaction.atomic
def service_account_secret_rotate(*, account: ServiceAccount, actor: User) -> str:
    """A new client secret, returned this once. The old secret stops working at once, and so
    do the access tokens obtained with it."""
    _check_administers(user=actor, institution_id=account.institution_id)
    account = (
        ServiceAccount.objects.select_for_update().select_related("application").get(pk=account.pk)
    )
    if not account.is_active:
        raise ValidationError({"detail": _("This service account is disabled.")}, code="disabled")
    secret = _secret_generate()
    application = account.application
    application.client_secret = secret
    application.save(update_fields=["client_secret", "updated"])
    account.secret_rotated_at = timezone.now()
    account.save(update_fields=["secret_rotated_at"])
    _tokens_revoke(account)
    return secret


@transaction.atomic
def service_account_disable(*, account: ServiceAccount, actor: User) -> ServiceAccount:
    """The account can no longer obtain tokens, and its tokens stop working at once; its log
    is kept (a disabled account cannot be enabled again: make a new one)."""
    _check_administers(user=actor, institution_id=account.institution_id)
    account = ServiceAccount.objects.select_for_update().get(pk=account.pk)
    if not account.is_active:
        return account
    account.is_active = False
    account.disabled_at = timezone.now()
    account.save(update_fields=["is_active", "disabled_at"])
    User.objects.filter(pk=account.principal_id).update(is_active=False)
    _tokens_revoke(account)
    return account


def service_accounts_of(*, institution: Institution) -> QuerySet[ServiceAccount]:
    return (
        ServiceAccount.objects.filter(institution=institution)
        .select_related("application")
        .order_by("created_at", "pk")
    )


def service_calls_of(
    *, institution: Institution, account: ServiceAccount | None = None
) -> QuerySet[ServiceCall]:
    calls = ServiceCall.objects.filter(service_account__institution=institution)
    if account is not None:
        calls = calls.filter(service_account=account)
    return calls.select_related("service_account").order_by("-at", "-pk")


# --- Calls with a token ---------------------------------------------------------------------------


def service_access_of_token(*, token: str) -> ServiceAccess | None:
    """The access a service account's token gives, or None when the token is unknown, expired,
    or its account (or institution) disabled. One query."""
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    found = (
        AccessToken.objects.select_related(
            "application__service_account__principal",
            "application__service_account__institution",
        )
        .filter(token_checksum=checksum, expires__gt=timezone.now())
        .first()
    )
    account: ServiceAccount | None = (
        getattr(found.application, "service_account", None)
        if found is not None and found.application is not None
        else None
    )
    if (
        found is None
        or account is None
        or not account.is_active
        or not account.principal.is_active
        or not account.institution.is_active
    ):
        return None
    scopes = frozenset(found.scope.split()) & frozenset(account.scopes)
    return ServiceAccess(account=account, scopes=scopes)


def service_call_record(
    *, access: ServiceAccess, method: str, path: str, status_code: int, duration_ms: int
) -> ServiceCall:
    return ServiceCall.objects.create(
        service_account=access.account,
        scope=access.scope_used,
        method=method[:10],
        path=path[:300],
        status_code=status_code,
        duration_ms=max(0, duration_ms),
    )


def service_calls_purge(*, now: Any = None) -> int:
    """Keeps each account's log bounded: rows older than ``SERVICE_CALL_LOG_DAYS`` go, and
    beyond the newest ``SERVICE_CALL_LOG_KEEP`` of an account. Also removes expired access
    tokens. Periodic (beat, with the API tokens' purge)."""
    now = now or timezone.now()
    removed, _kinds = ServiceCall.objects.filter(
        at__lt=now - timedelta(days=settings.SERVICE_CALL_LOG_DAYS)
    ).delete()
    keep = settings.SERVICE_CALL_LOG_KEEP
    for account_id in ServiceAccount.objects.values_list("pk", flat=True):
        oldest_kept = (
            ServiceCall.objects.filter(service_account_id=account_id)
            .order_by("-at", "-pk")
            .values_list("at", "pk")[keep - 1 : keep]
        )
        bound = list(oldest_kept)
        if bound:
            at, pk = bound[0]
            n, _kinds = (
                ServiceCall.objects.filter(service_account_id=account_id, at__lte=at)
                .exclude(pk__gte=pk, at=at)
                .delete()
            )
            removed += n
    expired, _kinds = AccessToken.objects.filter(
        application__service_account__isnull=False, expires__lt=now
    ).delete()
    return removed + expired
