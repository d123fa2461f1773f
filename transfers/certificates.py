"""Certificates the bank issues, and their verification by anyone.

A learner requests a certificate (:func:`certificate_request`); a worker renders it
(:func:`certificate_render`, run by ``transfers.tasks.render_certificate``): it builds the
*content* (the canonical payload: issuer, serial, kind, learner, period, items, totals, issue
date), signs it with the bank's Ed25519 key, writes the W3C Verifiable Credential / Open Badges
3.0 form beside it and renders the PDF, which prints the signature and carries the content and
signature as an embedded file (``certificate.json``) for offline checks.

Anyone checks a certificate by its serial (:func:`certificate_verify`): genuine (the signature
holds over the stored content), current or revoked (an accreditation it relied on has been
revoked since), and only what the learner chose to disclose. The public key is published
(:func:`signing_key_public`), so a downloaded PDF or JSON can be checked offline
(:func:`signed_document_check`, ``manage.py verify_certificate``).

Signing: ``signature = base64(Ed25519(canonical_bytes(content)))`` where ``canonical_bytes`` is
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` as UTF-8. The content
holds only strings, whole numbers, lists, objects and null (amounts are strings), so this is
also its JCS (RFC 8785) form.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessTransaction, LearningAccount, Notification, User
from accounts.notifications.services import notify, portal_url
from accounts.services import account_totals, transaction_record
from accreditation.models import Decision
from common.pdf import BankDocument
from common.tasks import task_after_commit
from outcomes.services import outcomes_in_file

from .models import Certificate, TransferItem, TransferItemState

logger = logging.getLogger(__name__)

Kind = Certificate.Kind
State = Certificate.State

# What the learner may show on the public verification page besides kind, period, totals and
# dates: their name, their masked identity number, their account number, the list of items.
DISCLOSABLE: dict[str, Any] = {
    "name": _("Name"),
    "id_number": _("Masked identity number"),
    "account_number": _("Account number"),
    "items": _("The list of accredited outcomes"),
}
DEFAULT_DISCLOSE = ("name", "items")


def stale_request() -> datetime.timedelta:
    """A request still being made after this long (``STALE_REQUEST_SECONDS``) probably lost its
    message (the broker was down when it was sent, or the worker died holding it): asking again,
    or the periodic :func:`certificates_resend_stale`, sends the render task once more."""
    return datetime.timedelta(seconds=settings.STALE_REQUEST_SECONDS)


RESEND_LIMIT = 1_000
CONTENT_VERSION = 1
EMBEDDED_NAME = "certificate.json"
SIGNATURE_ALGORITHM = "Ed25519"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


# --- Canonical JSON and the signing key ---------------------------------------------------------


def canonical_bytes(value: Any) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8 (JCS for our value types)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _key_from_file(path: Path) -> str:
    """Development only: a key generated once and kept in VAR_DIR, so certificates issued on a
    developer's machine keep verifying across restarts."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        try:
            # O_EXCL: two processes starting at once end up with the same key, the first one's.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(raw).decode() + "\n")
    return path.read_text().strip()


def signing_key() -> Ed25519PrivateKey:
    """The bank's private key: CERTIFICATE_SIGNING_KEY (base64 of the raw 32 bytes), or in
    development the key kept in VAR_DIR."""
    encoded = str(getattr(settings, "CERTIFICATE_SIGNING_KEY", "") or "")
    if not encoded:
        if getattr(settings, "PRODUCTION", False):
            raise ImproperlyConfigured("CERTIFICATE_SIGNING_KEY is required in production.")
        encoded = _key_from_file(Path(settings.CERTIFICATE_SIGNING_KEY_FILE))
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded, validate=True))
    except ValueError as exc:
        raise ImproperlyConfigured(
            "CERTIFICATE_SIGNING_KEY must be the base64 of a raw Ed25519 private key."
        ) from exc


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key from its base64 raw form or PEM. Raises ValueError otherwise."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def public_keys() -> dict[str, Ed25519PublicKey]:
    """The keys certificates may be signed with, by key id: the current one and the retired
    ones still trusted for certificates issued before a rotation."""
    current = signing_key().public_key()
    keys = {key_id_of(current): current}
    for text in getattr(settings, "CERTIFICATE_RETIRED_PUBLIC_KEYS", []):
        retired = public_key_from_text(text)
        keys.setdefault(key_id_of(retired), retired)
    return keys


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    algorithm: str
    public_key: str  # base64 of the raw 32 bytes
    pem: str


def signing_key_public() -> PublishedKey:
    """The public half of the signing key, as published for offline checks."""
    public = signing_key().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return PublishedKey(
        key_id=key_id_of(public),
        algorithm=SIGNATURE_ALGORITHM,
        public_key=base64.b64encode(_raw_public(public)).decode(),
        pem=pem,
    )


def content_sign(content: Mapping[str, Any]) -> tuple[str, str]:
    """(base64 signature, key id) of ``content``."""
    key = signing_key()
    signature = key.sign(canonical_bytes(content))
    return base64.b64encode(signature).decode(), key_id_of(key.public_key())


def signature_check(
    content: Any, signature: str, *, key: Ed25519PublicKey | None = None, key_id: str = ""
) -> bool:
    """Whether ``signature`` (base64) is the bank's over ``content``: with ``key`` if given,
    else with the published key named ``key_id``. Never raises on bad input."""
    try:
        if key is None:
            key = public_keys().get(key_id)
            if key is None:
                return False
        key.verify(base64.b64decode(signature, validate=True), canonical_bytes(content))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def fingerprint_of(content: Any) -> str:
    """The SHA-256 of the signed bytes, shown on the PDF and on the verification page so that a
    reader can tell that both speak of the same content."""
    digest = hashlib.sha256(canonical_bytes(content)).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


# --- Requesting ----------------------------------------------------------------------------------


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
                        serial=secrets.token_urlsafe(18),
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
    from .tasks import render_certificate

    # robust: a broker that is down must not undo the request; the periodic
    # certificates_resend_stale (or asking again) re-sends it.
    task_after_commit(render_certificate, certificate_id=certificate.pk)


def certificates_resend_stale(*, now: datetime.datetime | None = None) -> int:
    """Periodic (beat): send the render task again for every certificate still requested after
    :func:`stale_request`; returns how many. Rendering is idempotent, so one whose first message
    turns up after all is still issued once."""
    from .tasks import render_certificate

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
    return Certificate.objects.filter(serial=serial, account__holder=user).first()


# --- Content ------------------------------------------------------------------------------------


def _amount(value: Decimal | None) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.1")))


def _both(message: Any) -> str:
    """Chinese and English, for the PDF, which is read by people of either language."""
    with translation.override("zh-hans"):
        chinese = str(message)
    with translation.override("en"):
        english = str(message)
    return chinese if chinese == english else f"{chinese} {english}"


def _accredited_decisions(account: LearningAccount) -> QuerySet[Decision]:
    """Accreditations of the account that still hold (not revoked)."""
    return (
        Decision.objects.filter(
            application__account=account,
            result=Decision.Result.ACCREDITED,
            revocation__isnull=True,
        )
        .select_related(
            "application__outcome",
            "application__centre",
            "catalogue_version__entry",
        )
        .order_by("decided_at", "id")
    )


def _learning_date(decision: Decision) -> datetime.date:
    outcome = decision.application.outcome
    return outcome.ended_on or outcome.achieved_on


def _decision_item(decision: Decision) -> dict[str, Any]:
    outcome = decision.application.outcome
    version = decision.catalogue_version
    return {
        "outcome": outcome.title,
        "catalogue_code": version.entry.code if version else "",
        "learned_on": _learning_date(decision).isoformat(),
        "accredited_on": timezone.localdate(decision.decided_at).isoformat(),
        "centre": decision.application.centre.name,
        "hours": _amount(decision.hours),
        "credits": _amount(decision.credits),
    }


def _transfer_items(account: LearningAccount) -> list[dict[str, Any]]:
    accepted = (
        TransferItem.objects.filter(account=account, state=TransferItemState.ACCEPTED)
        .select_related("course", "programme__institution", "outcome")
        .order_by("decided_at", "id")
    )
    return [
        {
            "institution": item.programme.institution.name,
            "programme": item.programme.name,
            "course": item.course.name,
            "course_code": item.course.code,
            "outcome": item.outcome.title,
            "credits": _amount(item.credits),
            "decided_on": timezone.localdate(item.decided_at).isoformat()
            if item.decided_at
            else "",
        }
        for item in accepted
    ]


def certificate_content_build(
    certificate: Certificate, *, issued_at: datetime.datetime
) -> tuple[dict[str, Any], list[Decision]]:
    """The payload to sign and the accreditations it relies on."""
    account = certificate.account
    holder = account.holder
    decisions = list(_accredited_decisions(account))
    start, end = certificate.period_from, certificate.period_to
    if certificate.kind == Kind.HOURS_CERTIFICATE and start and end:
        decisions = [d for d in decisions if start <= _learning_date(d) <= end]
    items = [_decision_item(d) for d in decisions]
    totals = {
        "hours": _amount(sum((d.hours for d in decisions), Decimal(0))),
        "credits": _amount(sum((d.credits for d in decisions), Decimal(0))),
    }
    content: dict[str, Any] = {
        "version": CONTENT_VERSION,
        "issuer": {"name": _both(settings.PORTAL_NAME), "url": portal_url() + "/"},
        "serial": certificate.serial,
        "kind": certificate.kind,
        "issued_on": timezone.localdate(issued_at).isoformat(),
        "period": (
            {"from": certificate.period_from.isoformat(), "to": certificate.period_to.isoformat()}
            if certificate.period_from and certificate.period_to
            else None
        ),
        "learner": {
            "name": holder.name if holder else "",
            "id_type": account.id_type,
            "id_number_masked": account.id_number_masked,
            "account_number": account.number,
        },
        "items": items,
        "totals": totals,
        "disclose": list(certificate.disclose or []),
    }
    if certificate.kind == Kind.TRANSCRIPT:
        transfers = _transfer_items(account)
        content["transfers"] = transfers
        totals["transferred_credits"] = _amount(
            sum((Decimal(t["credits"]) for t in transfers), Decimal(0))
        )
    elif certificate.kind == Kind.LEARNING_FILE:
        hours, credits = account_totals(account=account)
        totals["account_hours"], totals["account_credits"] = _amount(hours), _amount(credits)
        content["outcomes"] = [
            {
                "title": outcome.title,
                "kind": outcome.kind,
                "provider": outcome.provider or outcome.issuing_body,
                "from": outcome.started_on.isoformat() if outcome.started_on else "",
                "to": (outcome.ended_on or outcome.achieved_on).isoformat(),
                "hours": _amount(outcome.hours) if outcome.hours else "",
                "status": outcome.status,
            }
            for outcome in outcomes_in_file(account=account)
        ]
    return content, decisions


# --- Verifiable Credential -----------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _B58.index(char)  # ValueError on a foreign character
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def verify_url(serial: str) -> str:
    return f"{portal_url()}/verify/{serial}/"


def verify_api_url(serial: str) -> str:
    return f"{portal_url()}/api/v1/certificates/verify/{serial}/"


def signing_key_url() -> str:
    return f"{portal_url()}/api/v1/certificates/signing-key/"


KIND_ACHIEVEMENT_TYPE = {
    Kind.HOURS_CERTIFICATE: "Certificate",
    Kind.TRANSCRIPT: "Certificate",
    Kind.LEARNING_FILE: "LearningProgram",
}


def credential_build(
    certificate: Certificate, content: Mapping[str, Any], *, issued_at: datetime.datetime
) -> dict[str, Any]:
    """The certificate as a W3C Verifiable Credential v2 / Open Badges 3.0 credential, signed
    with a DataIntegrityProof in the style of ``eddsa-jcs-2022``.

    Simplification: the proof is Ed25519 over the JCS form (sorted-keys compact JSON) of the
    credential without its ``proof``, not over the hashes of proof options and document that
    the cryptosuite specifies; the contexts are named, never fetched."""
    totals = content["totals"]
    with translation.override("en"):
        kind_en = str(Kind(certificate.kind).label)
    with translation.override("zh-hans"):
        kind_zh = str(Kind(certificate.kind).label)
    period = content.get("period")
    description = f"{totals['hours']} learning hours, {totals['credits']} credits"
    if period:
        description += f", {period['from']} – {period['to']}"
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB3_CONTEXT],
        "id": verify_url(certificate.serial),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": content["issuer"]["url"],
            "type": ["Profile"],
            "name": content["issuer"]["name"],
        },
        "validFrom": issued_at.replace(microsecond=0).isoformat(),
        "name": kind_zh if kind_zh == kind_en else f"{kind_zh} {kind_en}",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": content["learner"]["name"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "identifier",
                    "identityHash": content["learner"]["account_number"],
                    "hashed": False,
                }
            ],
            "creditsEarned": float(Decimal(totals["credits"])),
            "achievement": {
                "id": verify_url(certificate.serial) + "#achievement",
                "type": ["Achievement"],
                "achievementType": KIND_ACHIEVEMENT_TYPE[Kind(certificate.kind)],
                "name": kind_en,
                "description": description,
                "criteria": {
                    "narrative": "Learning outcomes accredited by the credit bank "
                    "against its catalogue or individually.",
                },
            },
            "results": [
                {
                    "type": ["Result"],
                    "resultDescription": "learning-hours",
                    "value": totals["hours"],
                },
                {"type": ["Result"], "resultDescription": "credits", "value": totals["credits"]},
            ],
        },
        "evidence": [
            {
                "type": ["Evidence"],
                "name": item["outcome"],
                "description": f"{item['hours']} h, {item['credits']} credits, "
                f"accredited {item['accredited_on']}",
            }
            for item in content["items"]
        ],
        "credentialStatus": {
            "id": verify_api_url(certificate.serial),
            "type": "CreditBankVerificationService",
        },
    }
    signature = signing_key().sign(canonical_bytes(credential))
    credential["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": timezone.now().replace(microsecond=0).isoformat(),
        "verificationMethod": f"{signing_key_url()}#{key_id_of(signing_key().public_key())}",
        "proofPurpose": "assertionMethod",
        "proofValue": "z" + base58btc_encode(signature),
    }
    return credential


# --- PDF ----------------------------------------------------------------------------------------


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    return buffer


def certificate_pdf(
    certificate: Certificate, content: Mapping[str, Any], signature: str, key_id: str
) -> bytes:
    """The PDF: Chinese and English labels, the learner's masked identity number, serial, issue
    date, QR code to the verification page, the signature printed, and ``certificate.json``
    (content, signature, key id) embedded for offline checks."""
    kind_label = _both(Kind(certificate.kind).label)
    pdf = BankDocument(kind_label)
    pdf.set_subject(f"{certificate.serial}")
    pdf.set_keywords(f"serial:{certificate.serial} key:{key_id}")
    pdf.heading(kind_label, size=18)
    learner = content["learner"]
    totals = content["totals"]
    top = pdf.get_y()
    rows = [
        (_both(_("Name")), learner["name"]),
        (_both(_("Identity number")), learner["id_number_masked"]),
        (_both(_("Account number")), learner["account_number"]),
    ]
    if content.get("period"):
        period = content["period"]
        rows.append((_both(_("Period")), f"{period['from']} – {period['to']}"))
    rows += [
        (_both(_("Learning hours")), totals["hours"]),
        (_both(_("Credits")), totals["credits"]),
    ]
    if "transferred_credits" in totals:
        rows.append((_both(_("Transferred credits")), totals["transferred_credits"]))
    rows += [
        (_both(_("Serial number")), certificate.serial),
        (_both(_("Issued on")), content["issued_on"]),
    ]
    # Bilingual labels need a wider column than BankDocument.facts gives; the QR code sits on
    # the right, beside them.
    pdf.set_font(pdf.font_family, size=10)
    for label, value in rows:
        pdf.set_text_color(90, 100, 115)
        pdf.cell(58, 7, label)
        pdf.set_text_color(31, 41, 51)
        pdf.multi_cell(pdf.w - pdf.l_margin - 58 - 62, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    after = pdf.get_y()
    pdf.image(_qr_png(verify_url(certificate.serial)), x=pdf.w - 56, y=top, w=38, h=38)
    pdf.set_xy(pdf.w - 60, top + 39)
    pdf.set_font(pdf.font_family, size=7)
    pdf.multi_cell(46, 3.5, _both(_("Scan to verify")), align="C")
    pdf.set_xy(pdf.l_margin, max(after, top + 48))

    if content["items"]:
        pdf.heading(_both(_("Accredited learning outcomes")), size=12)
        pdf.rows_table(
            [
                _both(_("Learning outcome")),
                _both(_("Learned on")),
                _both(_("Accredited on")),
                _both(_("Hours")),
                _both(_("Credits")),
            ],
            [
                [
                    item["outcome"],
                    item["learned_on"],
                    item["accredited_on"],
                    item["hours"],
                    item["credits"],
                ]
                for item in content["items"]
            ],
            widths=[70, 28, 28, 24, 24],
        )
    else:
        pdf.set_font(pdf.font_family, size=10)
        pdf.multi_cell(0, 6, _both(_("No accredited learning outcome in this period.")))
        pdf.ln(3)
    if content.get("transfers"):
        pdf.heading(_both(_("Credit transfers")), size=12)
        pdf.rows_table(
            [_both(_("Institution")), _both(_("Course")), _both(_("Credits"))],
            [
                [t["institution"], f"{t['programme']} · {t['course']}", t["credits"]]
                for t in content["transfers"]
            ],
            widths=[54, 96, 24],
        )
    if content.get("outcomes"):
        pdf.heading(_both(_("Learning programmes")), size=12)
        pdf.rows_table(
            [_both(_("Learning programme")), _both(_("Time")), _both(_("Hours"))],
            [
                [o["title"], f"{o['from']} – {o['to']}" if o["from"] else o["to"], o["hours"]]
                for o in content["outcomes"]
            ],
            widths=[100, 50, 24],
        )

    pdf.heading(_both(_("Verification")), size=12)
    pdf.set_font(pdf.font_family, size=8)
    for line in (
        f"{_both(_('Verify at'))}: {verify_url(certificate.serial)}",
        f"{_both(_('Content fingerprint (SHA-256)'))}: {fingerprint_of(content)}",
        f"{_both(_('Signature'))} ({SIGNATURE_ALGORITHM}, key {key_id}): {signature}",
    ):
        pdf.multi_cell(0, 4.5, line, align="L", new_x="LMARGIN", new_y="NEXT")
    embedded = {
        "content": content,
        "signature": signature,
        "key_id": key_id,
        "algorithm": SIGNATURE_ALGORITHM,
    }
    pdf.embed_file(
        basename=EMBEDDED_NAME,
        bytes=json.dumps(embedded, ensure_ascii=False, indent=1).encode(),
        desc="Signed content of the certificate",
        compress=True,
    )
    return pdf.render()


# --- Rendering (the worker) -----------------------------------------------------------------------


def certificate_render(*, certificate_id: int) -> Certificate:
    """Make a requested certificate: content, signature, credential, PDF; then issued, the
    learner notified. Idempotent: an issued (or failed) certificate is returned as it is, so a
    retried or redelivered task makes nothing new.

    The row lock holds a second worker on the same certificate until the first commits. The
    PDF is stored under the name fixed at request time, so a render killed after storing and
    retried writes over the same file rather than adding one; any failure before the commit
    deletes what was stored."""
    stored: list[str] = []
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
            credential = credential_build(certificate, content, issued_at=issued_at)
            pdf = certificate_pdf(certificate, content, signature, key_id)
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
            certificate.state = State.ISSUED
            certificate.issued_at = issued_at
            certificate.save()
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
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return certificate


def certificate_fail(*, certificate_id: int) -> None:
    """The worker gave up: the certificate is marked failed (the learner may ask again)."""
    Certificate.objects.filter(pk=certificate_id, state=State.REQUESTED).update(state=State.FAILED)


# --- Verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What the public is told about a certificate."""

    serial: str
    genuine: bool
    status: str  # "current" or "revoked"
    kind: str
    issued_on: str
    period: dict[str, str] | None
    totals: dict[str, str]
    disclosed: dict[str, Any]
    fingerprint: str
    key_id: str
    revoked_on: str | None = None
    revocation_reason_code: str | None = None

    @property
    def revoked(self) -> bool:
        return self.status == "revoked"

    @property
    def kind_display(self) -> str:
        return str(Kind(self.kind).label) if self.kind in Kind.values else self.kind


def certificate_verify(*, serial: str) -> Verification | None:
    """The verification of an issued certificate, or None for any serial that names none
    (unknown, malformed, or not yet issued): all of those take the same single query."""
    certificate = (
        Certificate.objects.select_related("account")
        .filter(serial=str(serial)[:64], state=State.ISSUED)
        .first()
    )
    if certificate is None:
        return None
    content = certificate.content or {}
    genuine = signature_check(content, certificate.signature, key_id=certificate.key_id)
    revoked = (
        Decision.objects.filter(certificates=certificate, revocation__isnull=False)
        .select_related("revocation")
        .order_by("revocation__revoked_at")
        .first()
    )
    learner = content.get("learner") or {}
    chosen = set(content.get("disclose") or [])
    if certificate.account.status == LearningAccount.Status.CLOSED:
        # The holder closed the account: the signed content stays (it still verifies), but
        # the page no longer shows who the certificate was issued to.
        chosen -= {"name", "id_number", "account_number"}
    disclosed: dict[str, Any] = {}
    if "name" in chosen:
        disclosed["name"] = learner.get("name", "")
    if "id_number" in chosen:
        disclosed["id_number_masked"] = learner.get("id_number_masked", "")
    if "account_number" in chosen:
        disclosed["account_number"] = learner.get("account_number", "")
    if "items" in chosen:
        disclosed["items"] = content.get("items", [])
        if "transfers" in content:
            disclosed["transfers"] = content["transfers"]
    revocation = revoked.revocation if revoked is not None else None
    return Verification(
        serial=certificate.serial,
        genuine=genuine,
        status="revoked" if revocation is not None else "current",
        kind=str(content.get("kind", "")),
        issued_on=str(content.get("issued_on", "")),
        period=content.get("period"),
        totals=dict(content.get("totals") or {}),
        disclosed=disclosed,
        fingerprint=fingerprint_of(content),
        key_id=certificate.key_id,
        revoked_on=(timezone.localdate(revocation.revoked_at).isoformat() if revocation else None),
        revocation_reason_code=revocation.reason_code if revocation else None,
    )


def revocation_reason_display(code: str | None) -> str:
    from accreditation.models import Revocation

    if code in Revocation.ReasonCode.values:
        return str(Revocation.ReasonCode(code).label)
    return code or ""


# --- Offline checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentCheck:
    genuine: bool
    kind: str  # "pdf", "credential" or "signed-content"
    serial: str
    # What the signed data says (to compare with what is printed), or why it is not genuine.
    detail: str


def _embedded_json(data: bytes) -> Any:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    for name, contents in reader.attachments.items():
        if name == EMBEDDED_NAME and contents:
            return json.loads(contents[0])
    raise ValueError(f"no {EMBEDDED_NAME} embedded in the PDF")


def signed_document_check(data: bytes, *, key: Ed25519PublicKey | None = None) -> DocumentCheck:
    """Check a downloaded certificate, PDF or credential JSON, against ``key`` (default: the
    bank's published keys). Never raises on a bad document: it is just not genuine."""
    kind = "pdf" if data.lstrip()[:5] == b"%PDF-" else "json"
    try:
        document = _embedded_json(data) if kind == "pdf" else json.loads(data)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        if "proof" in document:
            proof = document["proof"]
            unsigned = {k: v for k, v in document.items() if k != "proof"}
            value = str(proof.get("proofValue", ""))
            if not value.startswith("z"):
                raise ValueError("proofValue is not base58btc")
            signature = base64.b64encode(base58btc_decode(value[1:])).decode()
            key_id = str(proof.get("verificationMethod", "")).rsplit("#", 1)[-1]
            serial = str(document.get("id", "")).rstrip("/").rsplit("/", 1)[-1]
            genuine = signature_check(unsigned, signature, key=key, key_id=key_id)
            subject = document.get("credentialSubject") or {}
            said = ", ".join(
                [str(subject.get("name", ""))]
                + [
                    f"{r.get('resultDescription')} {r.get('value')}"
                    for r in subject.get("results", [])
                ]
                + [f"valid from {document.get('validFrom', '')}"]
            )
            return DocumentCheck(genuine, "credential", serial, said)
        content = document["content"]
        genuine = signature_check(
            content, str(document["signature"]), key=key, key_id=str(document.get("key_id", ""))
        )
        serial = str(content.get("serial", ""))
        totals = content.get("totals") or {}
        said = (
            f"{(content.get('learner') or {}).get('name', '')}, {totals.get('hours')} hours, "
            f"{totals.get('credits')} credits, issued on {content.get('issued_on', '')}"
        )
        return DocumentCheck(genuine, "pdf" if kind == "pdf" else "signed-content", serial, said)
    except Exception as exc:  # a hostile or broken file is simply not genuine
        return DocumentCheck(False, kind, "", str(exc) or type(exc).__name__)
