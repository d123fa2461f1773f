"""Issuing: the learner's request (:func:`certificate_request`), the worker's render
(:func:`certificate_render`, run by ``transfers.tasks.render_certificate``), its failure, and
the periodic re-send of requests whose message was lost.

The render task is imported inside the functions that send it: ``transfers.tasks`` imports this
module to run the render, so a module-level import would make a cycle."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessTransaction, LearningAccount, Notification, User
from accounts.notifications.services import notify
from accounts.services import transaction_record
from common.tasks import task_after_commit

from ..models import Certificate, CertificateEvent
from ..workflow import CERTIFICATE
from .content import (
    DEFAULT_DISCLOSE,
    DISCLOSABLE,
    certificate_content_build,
    certificate_has_content,
)
from .credential import claim_code_generate, credential_build
from .pades import pdf_sign
from .pdf import certificate_pdf
from .serials import serial_candidates, serial_new
from .signing import content_sign

logger = logging.getLogger(__name__)

Kind = Certificate.Kind
State = Certificate.State
Action = CertificateEvent.Action


def stale_request() -> datetime.timedelta:
    """A request still being made after this long (``STALE_REQUEST_SECONDS``) probably lost its
    message (the broker was down when it was sent, or the worker died holding it): asking again,
    or the periodic :func:`certificates_resend_stale`, sends the render task once more."""
    return datetime.timedelta(seconds=settings.STALE_REQUEST_SECONDS)


RESEND_LIMIT = 1_000


def _disclose_clean(disclose: Iterable[str] | None) -> list[str]:
    chosen = list(DEFAULT_DISCLOSE if disclose is None else disclose)
    unknown = [value for value in chosen if value not in DISCLOSABLE]
    if unknown:
        raise ValidationError(
            {"disclose": _("Unknown choice: %(values)s.") % {"values": ", ".join(unknown)}}
        )
    return [value for value in DISCLOSABLE if value in chosen]


def _period_clean(
    kind: str, period_from: datetime.date | None, period_to: datetime.date | None
) -> tuple[datetime.date | None, datetime.date | None]:
    if kind != Kind.HOURS_CERTIFICATE:
        return None, None
    errors: dict[str, Any] = {}
    if period_from is None:
        errors["period_from"] = _("Give the first day of the period.")
    if period_to is None:
        errors["period_to"] = _("Give the last day of the period.")
    if period_from and period_to:
        if period_to < period_from:
            errors["period_to"] = _("The period ends before it starts.")
        elif period_to > timezone.localdate():
            errors["period_to"] = _("The period cannot end in the future.")
    if errors:
        raise ValidationError(errors)
    return period_from, period_to


def certificate_request(
    *,
    account: LearningAccount,
    actor: User,
    kind: str,
    period_from: datetime.date | None = None,
    period_to: datetime.date | None = None,
    disclose: Iterable[str] | None = None,
) -> Certificate:
    """The learner asks for a certificate; a worker makes it after the commit. While one of the
    same kind and period is being made, asking again returns that one."""
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Choose a kind of certificate.")})
    if account.holder_id != actor.pk or account.kind != LearningAccount.Kind.PERSONAL:
        raise ValidationError({"account": _("Only the holder of the account may request it.")})
    if account.status != LearningAccount.Status.ACTIVE:
        raise ValidationError({"account": _("The learning account is not active.")})
    period_from, period_to = _period_clean(kind, period_from, period_to)
    chosen = _disclose_clean(disclose)
    if kind == Kind.TRANSFER_RECORD and "items" not in chosen:
        # A transfer record is its list of accredited outcomes (ADR 0022): without it, it
        # says nothing another bank could recognise. Name and numbers stay the learner's choice.
        chosen = _disclose_clean([*chosen, "items"])
    if not certificate_has_content(
        account=account, kind=kind, period_from=period_from, period_to=period_to
    ):
        if kind == Kind.HOURS_CERTIFICATE:
            message = _(
                "None of your accredited learning falls in this period: choose a period that "
                "includes the dates of your accredited results."
            )
            raise ValidationError({"period_from": message, "period_to": message})
        if kind == Kind.TRANSFER_RECORD:
            raise ValidationError(
                {"kind": _("You have no accredited results to put in a transfer record yet.")}
            )
        raise ValidationError(
            {"kind": _("You have no accredited results or transferred credits to list yet.")}
        )
    same = {"account": account, "kind": kind, "period_from": period_from, "period_to": period_to}
    with transaction.atomic():
        existing = Certificate.objects.filter(**same, state=State.REQUESTED).first()
        if existing is None:
            try:
                # A savepoint: a racing request that inserted the same one first fails only
                # this insert (the partial unique index), and we return its row.
                with transaction.atomic():
                    certificate = Certificate.objects.create(
                        **same,
                        serial=serial_new(),
                        disclose=chosen,
                        requested_by=actor,
                    )
            except IntegrityError:
                existing = Certificate.objects.filter(**same, state=State.REQUESTED).first()
                if existing is None:
                    raise
        if existing is not None:
            if existing.requested_at < timezone.now() - stale_request():
                _render_after_commit(existing)
            return existing
        _render_after_commit(certificate)
    return certificate


def _render_after_commit(certificate: Certificate) -> None:
    from transfers.tasks import render_certificate

    # robust: a broker that is down must not undo the request; the periodic
    # certificates_resend_stale (or asking again) re-sends it.
    task_after_commit(render_certificate, certificate_id=certificate.pk)


def certificates_resend_stale(*, now: datetime.datetime | None = None) -> int:
    """Periodic (beat): send the render task again for every certificate still requested after
    :func:`stale_request`; returns how many. Rendering is idempotent, so one whose first message
    turns up after all is still issued once."""
    from transfers.tasks import render_certificate

    now = now or timezone.now()
    stale = list(
        Certificate.objects.filter(
            state=State.REQUESTED, requested_at__lt=now - stale_request()
        ).values_list("pk", flat=True)[:RESEND_LIMIT]
    )
    for certificate_id in stale:
        render_certificate.delay(certificate_id=certificate_id)
    if stale:
        logger.warning("re-sent the render of %d stale certificate requests", len(stale))
    return len(stale)


def certificates_of(*, account: LearningAccount) -> QuerySet[Certificate]:
    return Certificate.objects.filter(account=account).order_by("-requested_at", "-id")


def certificate_of_owner(*, user: User, serial: str) -> Certificate | None:
    """The user's own certificate with this serial, or None (anyone else's is None too)."""
    return Certificate.objects.filter(
        serial__in=serial_candidates(serial), account__holder=user
    ).first()


def transfer_record_published(*, token: uuid.UUID) -> Certificate | None:
    """The issued transfer record at its public address (``/credentials/records/<token>``,
    ADR 0022), or None: unknown, not a transfer record, not issued, or its holder's account
    closed (what the record says of the learner is no longer given out)."""
    return (
        Certificate.objects.filter(file_token=token, kind=Kind.TRANSFER_RECORD, state=State.ISSUED)
        .exclude(account__status=LearningAccount.Status.CLOSED)
        .first()
    )


@transaction.atomic
def transfer_record_address_renew(*, user: User, serial: str) -> Certificate:
    """Give the user's issued transfer record a new public address and a new claim code: the
    old address answers 404 from now on (she gave it to someone she should not have, or it
    leaked), and the record is signed again over the new code (same content, same status; the
    PDF keeps the record as first issued). Raises ValidationError keyed ``record`` for a
    certificate that is not her issued transfer record."""
    certificate = (
        Certificate.objects.select_for_update()
        .filter(serial__in=serial_candidates(serial), account__holder=user)
        .first()
    )
    if (
        certificate is None
        or certificate.kind != Kind.TRANSFER_RECORD
        or certificate.state != State.ISSUED
    ):
        raise ValidationError({"record": _("This is not an issued transfer record of yours.")})
    certificate.file_token = uuid.uuid4()
    # A new claim code with it: the record is signed again over the new code's hash (same
    # content, id and status), so whoever had the old address and code holds a record that no
    # longer goes with her current code.
    certificate.claim_code = claim_code_generate()
    certificate.vc_json = credential_build(
        certificate, certificate.content or {}, issued_at=certificate.issued_at or timezone.now()
    )
    certificate.save(update_fields=["file_token", "claim_code", "vc_json"])
    return certificate


def certificate_render(*, certificate_id: int) -> Certificate:
    """Make a requested certificate: content, signature, credential, PDF; then issued, the
    learner notified. Idempotent: an issued (or failed) certificate is returned as it is, so a
    retried or redelivered task makes nothing new.

    The row lock holds a second worker on the same certificate until the first commits. The
    PDF is stored under the name fixed at request time, so a render killed after storing and
    retried writes over the same file rather than adding one; any failure before the commit
    deletes what was stored, a failure while committing or after keeps it."""
    stored: list[str] = []
    committing = False
    try:
        with transaction.atomic():
            certificate = (
                Certificate.objects.select_for_update(of=("self",))
                .select_related("account__holder")
                .get(pk=certificate_id)
            )
            if certificate.state != State.REQUESTED:
                return certificate
            issued_at = timezone.now()
            content, decisions = certificate_content_build(certificate, issued_at=issued_at)
            signature, key_id = content_sign(content)
            if certificate.kind == Kind.TRANSFER_RECORD:
                certificate.claim_code = claim_code_generate()
            credential = credential_build(certificate, content, issued_at=issued_at)
            # The PAdES signature over the rendered bytes: editing a printed figure breaks it.
            # The credential is attached before signing: the PDF signature covers it too.
            pdf = pdf_sign(
                certificate_pdf(certificate, content, signature, key_id, credential=credential)
            )
            name = certificate.pdf.field.generate_filename(certificate, "certificate.pdf")
            if default_storage.exists(name):  # left by a render that was killed
                default_storage.delete(name)
            saved = default_storage.save(name, ContentFile(pdf))
            stored.append(saved)
            certificate.pdf.name = saved
            certificate.content = content
            certificate.signature = signature
            certificate.key_id = key_id
            certificate.vc_json = credential
            certificate.issued_at = issued_at
            CERTIFICATE.move(certificate, action=Action.ISSUE, save=lambda c: c.save())
            certificate.decisions.set(decisions)
            transaction_record(
                account=certificate.account,
                kind=BusinessTransaction.Kind.CERTIFICATE_ISSUED,
                actor=None,
                details={"serial": certificate.serial, "kind": certificate.kind},
            )
            if certificate.account.holder is not None:
                notify(
                    recipient=certificate.account.holder,
                    kind=Notification.Kind.CERTIFICATE_READY,
                    params={"serial": certificate.serial},
                    link="/certificates/",
                    key=f"certificate:{certificate.pk}:ready",
                )
            committing = True
    except BaseException:
        # Only a failure inside the block rolled back for certain. One raised on the way out
        # (by COMMIT itself, whose answer may be lost after the server committed, or by an
        # on-commit callback after it did) may leave the certificate issued: its PDF stays
        # (an orphan is written over by the next render of the same certificate).
        if not committing:
            for name in stored:
                default_storage.delete(name)
        raise
    return certificate


def certificate_fail(*, certificate_id: int) -> None:
    """The worker gave up: the certificate is marked failed (the learner may ask again). One
    that is no longer requested (issued after all, or failed already) is left as it is."""
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
        if certificate is None or not CERTIFICATE.is_allowed(certificate.state, Action.FAIL):
            return
        CERTIFICATE.move(
            certificate, action=Action.FAIL, save=lambda c: c.save(update_fields=["state"])
        )
