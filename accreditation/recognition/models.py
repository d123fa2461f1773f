"""Mutual recognition: the other credit banks this bank trusts, the recognition agreements that
map their catalogue entries to ours (versioned like the catalogue), and the once-per-account
claim of an origin decision. Imported by :mod:`accreditation.models`, which owns the app's
models; a decision by recognition is a :class:`accreditation.models.Decision` with basis
``recognition`` and its provenance fields.
"""

from __future__ import annotations

import re

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AppendOnlyModel, LearningAccount, User
from outcomes.models import LearningOutcome

# A version of another bank's catalogue entry: dotted whole numbers ("3", "2.1"), compared
# part by part as numbers with missing parts read as 0 (so "2" == "2.0" < "2.1" < "10").
ORIGIN_VERSION_RE = re.compile(r"\d{1,6}(\.\d{1,6}){0,3}")


def origin_version_key(version: str) -> tuple[int, ...]:
    """The sort key of a version of another bank's entry (see ``ORIGIN_VERSION_RE``); trailing
    zeros are dropped so that "2" and "2.0" compare equal. Raises ValueError on any other text."""
    text = version.strip()
    if not ORIGIN_VERSION_RE.fullmatch(text):
        raise ValueError(version)
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


class TrustedBank(models.Model):
    """Another credit bank whose decisions this bank accepts through recognition agreements.

    ``issuer`` is the ``issuer.id`` its credentials carry (a ``did:web`` or an https URL);
    ``key_document`` is its controller document (the shape of ours, see
    ``transfers.certificates.linked_data.controller_document``): the Multikey verification
    methods a record's proof must resolve to. Removing a bank clears ``is_active``; the row
    stays, because agreements and recognised decisions point at it."""

    name = models.CharField(_("name"), max_length=200)
    issuer = models.CharField(_("issuer id"), max_length=300, unique=True)
    key_document = models.JSONField(_("verification key document"))
    is_active = models.BooleanField(_("trusted"), default=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("trusted credit bank")
        verbose_name_plural = _("trusted credit banks")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class TrustedBankEvent(AppendOnlyModel):
    """One change of the trust list: who, when, what and why; never changed."""

    class Action(models.TextChoices):
        ADD = "add", _("Added to the trust list")
        KEYS = "keys", _("Verification keys replaced")
        REMOVE = "remove", _("Removed from the trust list")

    bank = models.ForeignKey(
        TrustedBank, verbose_name=_("bank"), on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    # The key document as it was after the change, so the history shows what was trusted when.
    key_document = models.JSONField(_("verification key document"))

    class Meta:
        verbose_name = _("trust list change")
        verbose_name_plural = _("trust list changes")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="trust_event_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_id} {self.action}"


class RecognitionAgreement(models.Model):
    """What another bank's catalogue entry (by its code) counts for here; identified by the
    bank and the code across versions, like a catalogue entry."""

    bank = models.ForeignKey(
        TrustedBank, verbose_name=_("bank"), on_delete=models.PROTECT, related_name="agreements"
    )
    origin_code = models.CharField(_("their catalogue entry code"), max_length=60)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("recognition agreement")
        verbose_name_plural = _("recognition agreements")
        ordering = ["bank", "origin_code"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "origin_code"], name="agreement_once"),
        ]

    def __str__(self) -> str:
        return f"{self.bank} {self.origin_code}"


# Defined after the catalogue: accreditation.models imports this module at its end.
from accreditation.models import CatalogueEntry, Decision, VersionedRow  # noqa: E402


class AgreementVersion(VersionedRow):
    """What an agreement says from one date on (see :class:`VersionedRow`): the other bank's
    entry, in the versions ``origin_version_from`` to ``origin_version_to`` (inclusive; open
    when empty; compared by :func:`origin_version_key`), counts as our ``entry`` with
    ``hours`` and ``credits``. A new version supersedes, never edits."""

    agreement = models.ForeignKey(
        RecognitionAgreement,
        verbose_name=_("agreement"),
        on_delete=models.PROTECT,
        related_name="versions",
    )
    origin_version_from = models.CharField(_("from their version"), max_length=30)
    origin_version_to = models.CharField(_("to their version"), max_length=30, blank=True)
    entry = models.ForeignKey(
        CatalogueEntry,
        verbose_name=_("our catalogue entry"),
        on_delete=models.PROTECT,
        related_name="recognition_versions",
    )
    hours = models.DecimalField(_("learning hours"), max_digits=7, decimal_places=1)
    credits = models.DecimalField(_("credits"), max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = _("recognition agreement version")
        verbose_name_plural = _("recognition agreement versions")
        ordering = ["agreement", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "version"], name="agreement_version_once"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="agreement_hours_positive"),
            models.CheckConstraint(condition=Q(credits__gte=0), name="agreement_credits_not_neg"),
            VersionedRow.period_in_order(name="agreement_period_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} v{self.version}"

    def covers(self, origin_version: str) -> bool:
        """Whether the other bank's entry version falls in this version's range."""
        try:
            key = origin_version_key(origin_version)
        except ValueError:
            return False
        if key < origin_version_key(self.origin_version_from):
            return False
        return not self.origin_version_to or key <= origin_version_key(self.origin_version_to)


class Recognition(AppendOnlyModel):
    """The claim of one origin decision (another bank's, named by its issuer and its own id) by
    one account: written in the booking's transaction, unique across all accounts, so the same
    record imported twice, or twice at once, or by someone else, is recognised once. Points at
    the decision it booked, or at the saved outcome when no agreement covered it."""

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="recognitions"
    )
    origin_issuer = models.CharField(_("origin issuer"), max_length=300)
    origin_decision_id = models.CharField(_("origin decision"), max_length=200)
    decision = models.OneToOneField(
        Decision,
        verbose_name=_("decision"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recognition",
    )
    outcome = models.ForeignKey(
        LearningOutcome, on_delete=models.PROTECT, related_name="recognitions"
    )
    recognised_at = models.DateTimeField(_("recognised at"), default=timezone.now)

    class Meta:
        verbose_name = _("recognised origin decision")
        verbose_name_plural = _("recognised origin decisions")
        ordering = ["-recognised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                # Across all accounts: an origin decision is one person's, so a second account
                # bringing it is someone else's record (the record's holder check aside).
                fields=["origin_issuer", "origin_decision_id"],
                name="recognition_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.origin_issuer} {self.origin_decision_id}"
