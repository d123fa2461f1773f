"""The certificate as a W3C Verifiable Credential v2 / Open Badges 3.0 credential, and the
public addresses it names."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone, translation

from accounts.notifications.services import portal_url

from ..models import Certificate
from .signing import base58btc_encode, canonical_bytes, key_id_of, signing_key

Kind = Certificate.Kind

OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


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
