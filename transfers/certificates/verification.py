"""Verification by anyone: a certificate checked by its serial on the portal
(:func:`certificate_verify`: genuine, current or revoked, and only what the learner chose to
disclose), and a downloaded PDF or credential checked offline (:func:`signed_document_check`,
``manage.py verify_certificate``)."""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from accounts.models import LearningAccount
from accreditation.models import Revocation

from ..models import Certificate
from .linked_data import is_rdfc_secured, proof_check
from .pades import PdfSignatureCheck, pdf_signature_check
from .pdf import CREDENTIAL_NAME, EMBEDDED_NAME
from .serials import Reading, serial_candidates, serial_read
from .signing import base58btc_decode, fingerprint_of, signature_check

Kind = Certificate.Kind
State = Certificate.State


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
    # Technical details for the page's folded section, read from what was issued (older
    # certificates lack some: then empty).
    serial_checked: bool = False  # a serial with a check symbol (not an older one)
    issuer_id: str = ""  # the credential's issuer (the bank's did:web)
    proof: str = ""  # the credential proof's type and cryptosuite
    status_index: str = ""  # the credential's bit in the status list
    status_list: str = ""  # the status list credential's address
    pdf_signature: str = ""  # what the signed content says the PDF carries ("" before PAdES)

    @property
    def revoked(self) -> bool:
        return self.status == "revoked"

    @property
    def kind_display(self) -> str:
        return str(Kind(self.kind).label) if self.kind in Kind.values else self.kind


def certificate_verify(*, serial: str) -> Verification | None:
    """The verification of an issued certificate, or None for any serial that names none
    (unknown, malformed, or not yet issued): all of those take the same single query."""
    certificate = _issued_certificate(serial)
    if certificate is None:
        return None
    content = certificate.content or {}
    genuine = signature_check(content, certificate.signature, key_id=certificate.key_id)
    first_revocation_id = certificate.first_revocation_id  # type: ignore[attr-defined]
    # Only a revoked certificate (rare) reads its revocation.
    revocation = (
        Revocation.objects.get(pk=first_revocation_id) if first_revocation_id is not None else None
    )
    learner = content.get("learner") or {}
    chosen = set(content.get("disclose") or [])
    if certificate.account_status == LearningAccount.Status.CLOSED:  # type: ignore[attr-defined]
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
        serial_checked=serial_read(certificate.serial)[0] is Reading.SERIAL,
        pdf_signature=str(content.get("pdf_signature") or ""),
        **_credential_details(certificate.vc_json),
    )


def _issued_certificate(serial: str) -> Certificate | None:
    """The issued certificate ``serial`` names, with its holder's account status as
    ``account_status`` and the id of the first revocation among the accreditation decisions it
    rests on (or None) as ``first_revocation_id``: one statement.

    The page is public and asked for often, and the ORM spent more Python building the query
    than PostgreSQL spends answering it: the statement is the ORM's own, built once per process
    for each number of candidate serials (one or two) with stand-ins for them, and run with the
    real ones."""
    candidates = serial_candidates(serial)
    statement = _ISSUED_STATEMENTS.get(len(candidates))
    if statement is None:
        stand_ins = [_stand_in(i) for i in range(len(candidates))]
        first_revocation = (
            Revocation.objects.filter(decision__certificates=OuterRef("pk"))
            .order_by("revoked_at", "pk")
            .values("pk")[:1]
        )
        query = (
            Certificate.objects.filter(serial__in=stand_ins, state=State.ISSUED)
            .annotate(
                account_status=F("account__status"), first_revocation_id=Subquery(first_revocation)
            )
            .order_by("pk")[:1]
        ).query
        sql, params = query.sql_with_params()
        statement = _ISSUED_STATEMENTS[len(candidates)] = (sql, tuple(params))
    sql, params = statement
    real = {_stand_in(i): candidate for i, candidate in enumerate(candidates)}
    found = list(Certificate.objects.raw(sql, [real.get(p, p) for p in params]))
    return found[0] if found else None


_ISSUED_STATEMENTS: dict[int, tuple[str, tuple[Any, ...]]] = {}


def _stand_in(i: int) -> str:
    return f"stand-in serial {i} (never sent)"


def _credential_details(credential: Any) -> dict[str, str]:
    """Issuer, proof and status entry of an issued credential, whatever its shape (older ones
    have no status entry; a proof or status may be one object or a list)."""
    if not isinstance(credential, dict):
        return {}

    def first(value: Any) -> dict[str, Any]:
        value = value[0] if isinstance(value, list) and value else value
        return value if isinstance(value, dict) else {}

    issuer = credential.get("issuer")
    proof = first(credential.get("proof"))
    status = first(credential.get("credentialStatus"))
    return {
        "issuer_id": str(issuer.get("id", "") if isinstance(issuer, dict) else issuer or ""),
        "proof": " ".join(str(proof[k]) for k in ("type", "cryptosuite") if proof.get(k)),
        "status_index": str(status.get("statusListIndex", "")),
        "status_list": str(status.get("statusListCredential", "")),
    }


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
    # For a PDF: what its PAdES signature check said ("" for a credential JSON).
    pdf_signature: str = ""
    # For a PDF: what the check of its attached credential against its signed content and its
    # printed page said ("" for a credential JSON).
    attachment: str = ""


def _embedded_json(data: bytes) -> Any:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    for name, contents in reader.attachments.items():
        if name == EMBEDDED_NAME and contents:
            return json.loads(contents[0])
    raise ValueError(f"no {EMBEDDED_NAME} embedded in the PDF")


def _credential_said(document: dict[str, Any]) -> str:
    """What an ``eddsa-rdfc-2022`` credential says, whichever shape it has: the OB 3.0
    AchievementCredential or CLR 2.0 ClrCredential issued now (the learner's disclosed name,
    the figures of the totals' results), or the plain VC 2.0 one issued before (session 6:
    ``name``, ``learningHours`` and ``credits`` on the subject)."""
    subject = document.get("credentialSubject") or {}
    types = document.get("type") or []
    name, hours, credits = subject.get("name", ""), None, None
    if "learningHours" in subject or "credits" in subject:
        hours, credits = subject.get("learningHours"), subject.get("credits")
    else:
        if "ClrCredential" in types:
            held = subject.get("verifiableCredential") or []
            totals = held[0] if isinstance(held, list) and held else held
            achievement_subject = (totals or {}).get("credentialSubject") or {}
        else:
            achievement_subject = subject
        identifiers = subject.get("identifier") or achievement_subject.get("identifier") or []
        name = next(
            (i.get("identityHash", "") for i in identifiers if i.get("identityType") == "name"),
            "",
        )
        achievement = achievement_subject.get("achievement") or {}
        kinds = {d.get("id"): d.get("resultType") for d in achievement.get("resultDescription", [])}
        for result in achievement_subject.get("result") or []:
            kind = kinds.get(result.get("resultDescription"))
            if kind == "ext:LearningHours":
                hours = result.get("value")
            elif kind == "ext:Credits":
                credits = result.get("value")
    return f"{name}, {hours} hours, {credits} credits, valid from {document.get('validFrom', '')}"


@dataclass(frozen=True)
class AttachmentCheck:
    ok: bool
    detail: str


_PDFA_3 = re.compile(rb"pdfaid:part(?:\s*=\s*[\"']|>)\s*3")


def _values(node: Any) -> list[Any]:
    """Every string and number in a JSON document."""
    if isinstance(node, dict):
        return [v for child in node.values() for v in _values(child)]
    if isinstance(node, list):
        return [v for child in node for v in _values(child)]
    return [node] if isinstance(node, str | int | float) and not isinstance(node, bool) else []


def _attachment_part(
    data: bytes, content: dict[str, Any], *, key: Ed25519PublicKey | None
) -> AttachmentCheck:
    """The PDF/A's attached credential (``credential.jsonld``): its proof valid, for this
    certificate (it names the serial of the signed content), and the printed page showing the
    signed serial and figures. A PDF issued before PDFs were PDF/A has no credential attached
    and passes as such; a PDF/A without one does not."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    attached = reader.attachments.get(CREDENTIAL_NAME) or []
    if not attached:
        root: Any = reader.trailer["/Root"]
        metadata = root.get("/Metadata")
        xmp = metadata.get_object().get_data() if metadata is not None else b""
        if _PDFA_3.search(xmp):
            return AttachmentCheck(False, f"the PDF/A has no {CREDENTIAL_NAME} attached")
        return AttachmentCheck(True, "no credential attached (issued before PDFs were PDF/A)")
    serial = str(content.get("serial", ""))
    check = signed_document_check(attached[0], key=key)
    if not check.genuine:
        return AttachmentCheck(False, f"attached credential not genuine: {check.detail}")
    named = {str(v).rstrip("/").rsplit("/", 1)[-1] for v in _values(json.loads(attached[0]))}
    if serial not in named:
        return AttachmentCheck(False, f"attached credential is not the one of certificate {serial}")
    try:
        page = "".join(p.extract_text() for p in reader.pages)
    except Exception as exc:  # a page that cannot be read shows nothing
        return AttachmentCheck(False, f"the printed page cannot be read: {exc}")
    printed = re.sub(r"[\s\x00]+", "", page)
    totals = content.get("totals") or {}
    for label, value in (
        ("serial", serial),
        ("hours", totals.get("hours")),
        ("credits", totals.get("credits")),
    ):
        if value is not None and re.sub(r"\s+", "", str(value)) not in printed:
            return AttachmentCheck(
                False, f"the printed page does not show the signed {label} {value}"
            )
    return AttachmentCheck(True, f"attached credential valid, for this certificate: {check.detail}")


def signed_document_check(
    data: bytes,
    *,
    key: Ed25519PublicKey | None = None,
    pdf_roots: list[asn1_x509.Certificate] | None = None,
    key_document: dict[str, Any] | None = None,
) -> DocumentCheck:
    """Check a downloaded certificate, PDF or credential JSON, against ``key`` (default: the
    bank's published keys). A PDF must also carry the bank's PAdES signature, intact, over the
    whole file, trusted through ``pdf_roots`` (default: the bank's CA), unless it was issued
    before PDFs were signed (its signed content does not say so). Never raises on a bad
    document: it is just not genuine, and ``detail`` says which part failed."""
    kind = "pdf" if data.lstrip()[:5] == b"%PDF-" else "json"
    try:
        document = _embedded_json(data) if kind == "pdf" else json.loads(data)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        if "proof" in document:
            proof = document["proof"]
            serial = str(document.get("id", "")).rstrip("/").rsplit("/", 1)[-1]
            subject = document.get("credentialSubject") or {}
            if is_rdfc_secured(document):
                genuine = proof_check(document, key=key, key_document=key_document)
                return DocumentCheck(genuine, "credential", serial, _credential_said(document))
            # Credentials issued before eddsa-rdfc-2022: Ed25519 over the sorted-keys JSON of
            # the credential without its proof.
            unsigned = {k: v for k, v in document.items() if k != "proof"}
            value = str(proof.get("proofValue", ""))
            if not value.startswith("z"):
                raise ValueError("proofValue is not base58btc")
            signature = base64.b64encode(base58btc_decode(value[1:])).decode()
            key_id = str(proof.get("verificationMethod", "")).rsplit("#", 1)[-1]
            genuine = signature_check(unsigned, signature, key=key, key_id=key_id)
            said = ", ".join(
                [str(subject.get("name", ""))]
                + [
                    f"{r.get('resultDescription')} {r.get('value')}"
                    for r in subject.get("results", [])
                ]
                + [f"valid from {document.get('validFrom', '')}"]
            )
            if not genuine:
                said = f"credential proof does not match ({said})"
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
        if not genuine:
            said = f"embedded signed content does not match its signature ({said})"
        if kind != "pdf":
            return DocumentCheck(genuine, "signed-content", serial, said)
        pdf_check = _pdf_part(data, promised=bool(content.get("pdf_signature")), roots=pdf_roots)
        if genuine and not pdf_check.ok and pdf_check.state != "none":
            genuine = False
            said = pdf_check.detail
        if not genuine:  # the PDF signature or the signed content failed: that is the answer
            return DocumentCheck(False, "pdf", serial, said, pdf_check.detail)
        attachment = _attachment_part(data, content, key=key)
        if not attachment.ok:
            genuine = False
            said = attachment.detail
        return DocumentCheck(genuine, "pdf", serial, said, pdf_check.detail, attachment.detail)
    except Exception as exc:  # a hostile or broken file is simply not genuine
        return DocumentCheck(False, kind, "", str(exc) or type(exc).__name__)


def _pdf_part(
    data: bytes, *, promised: bool, roots: list[asn1_x509.Certificate] | None
) -> PdfSignatureCheck:
    """The PDF signature's check. A PDF without one passes as "none" only if its signed content
    does not say it was signed (one issued before PDFs were signed); a newer one stripped of
    its signature, its page then edited, does not pass."""
    check = pdf_signature_check(data, roots=roots)
    if check.state != "none":
        return check
    if not promised:
        return PdfSignatureCheck("none", "no PDF signature (issued before PDFs were signed)")
    return PdfSignatureCheck(
        "broken", "PDF signature missing: its signed content says the PDF was signed"
    )
