"""The certificate as a W3C Verifiable Credential 2.0, and the public addresses it names."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.utils import timezone, translation

from accounts.notifications.services import portal_url

from ..models import Certificate
from .linked_data import UNDEFINED_TERMS_CONTEXT, VC_CONTEXT, issuer_did, proof_add, xsd_datetime
from .signing import signing_key
from .status_list import status_entry

Kind = Certificate.Kind


def verify_url(serial: str) -> str:
    return f"{portal_url()}/verify/{serial}/"


def credential_build(
    certificate: Certificate, content: Mapping[str, Any], *, issued_at: datetime.datetime
) -> dict[str, Any]:
    """The certificate as a W3C Verifiable Credential (Data Model 2.0), issued by the bank's
    ``did:web`` and secured with an ``eddsa-rdfc-2022`` Data Integrity proof
    (:mod:`.linked_data`), which stock verifiers check offline.

    Only standard contexts are named (vendored, never fetched): the VC 2.0 one, and the
    "undefined terms" one for the bank's own terms. Figures are strings as in the signed content
    (``"6.0"``), so no re-serialisation can change them. Its ``credentialStatus`` is a bit of
    a Bitstring Status List (:mod:`.status_list`)."""
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
        "@context": [VC_CONTEXT, UNDEFINED_TERMS_CONTEXT],
        "id": verify_url(certificate.serial),
        "type": ["VerifiableCredential", "CreditBankCertificate"],
        "issuer": {"id": issuer_did(), "name": content["issuer"]["name"]},
        "validFrom": xsd_datetime(issued_at),
        "name": kind_zh if kind_zh == kind_en else f"{kind_zh} {kind_en}",
        "description": description,
        "credentialSubject": {
            "type": ["Learner"],
            "name": content["learner"]["name"],
            "accountNumber": content["learner"]["account_number"],
            "learningHours": str(totals["hours"]),
            "credits": str(totals["credits"]),
            "certificateKind": str(certificate.kind),
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
    }
    credential["credentialStatus"] = status_entry(certificate)
    if period:
        credential["credentialSubject"]["period"] = {
            "from": str(period["from"]),
            "to": str(period["to"]),
        }
    return proof_add(credential, key=signing_key(), created=timezone.now())
