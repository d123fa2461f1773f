"""Service accounts: an institution's own systems calling the API with OAuth 2.0 client
credentials (django-oauth-toolkit), each bound to the institution and to a few scopes, and the
log of every call they make (ADR 0023).

A service account is three rows made together: the OAuth client (DOT's ``Application``, its
secret hashed at rest), a principal (a ``User`` with the role "service account", no password,
at the institution) in whose name the records the portal keeps (business transactions, events,
"decided by") name what the system did, and this row, which ties them to the scopes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.models import Institution, User

# Every access token of a service account starts so: the API's authentication knows it from a
# person's token (knox) at a glance.
ACCESS_TOKEN_PREFIX = "cbsa_"  # noqa: S105 - the tokens' prefix, not a secret


class Scope(models.TextChoices):
    """What a service account may do; each API endpoint open to service accounts names one."""

    MEMBERS_IMPORT = "members:import", _("Import members")
    BATCHES_WRITE = "batches:write", _("Report training results in batches")
    TRANSFERS_DECIDE = "transfers:decide", _("Decide credit transfers")
    READ = "read", _("Read members, batches and transfers")


class ServiceAccount(models.Model):
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="service_accounts",
    )
    name = models.CharField(_("name"), max_length=100)
    scopes = models.JSONField(_("scopes"), default=list)
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="service_account",
    )
    principal = models.OneToOneField(User, on_delete=models.PROTECT, related_name="service_account")
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    secret_rotated_at = models.DateTimeField(_("secret made at"), default=timezone.now)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("service account")
        verbose_name_plural = _("service accounts")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True, disabled_at__isnull=True)
                | Q(is_active=False, disabled_at__isnull=False),
                name="service_account_disabled_at_when_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def client_id(self) -> str:
        return str(self.application.client_id)

    def scope_labels(self) -> list[str]:
        return [str(Scope(s).label) for s in self.scopes if s in Scope.values]


class ServiceCall(models.Model):
    """One API call made with a service account's token: kept for the institution's
    administrator to see (the newest ``SERVICE_CALL_LOG_KEEP`` per account, for at most
    ``SERVICE_CALL_LOG_DAYS``)."""

    service_account = models.ForeignKey(
        ServiceAccount,
        verbose_name=_("service account"),
        on_delete=models.CASCADE,
        related_name="calls",
    )
    scope = models.CharField(_("scope"), max_length=30, blank=True)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=300)
    status_code = models.PositiveSmallIntegerField(_("status"))
    at = models.DateTimeField(_("time"), default=timezone.now)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("service account call")
        verbose_name_plural = _("service account calls")
        ordering = ["-at", "-id"]
        indexes = [
            # The log page (newest first per account) and the purge (per account, by age).
            models.Index(fields=["service_account", "-at"], name="service_call_by_account"),
            models.Index(fields=["at"], name="service_call_at"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"
