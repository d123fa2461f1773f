"""A trusted bank, an agreement and a transfer record's entries, for the recognition tests."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from accreditation import services
from accreditation.services import RecognisedEntry

SHANGHAI = "did:web:shcb.example.cn"
KEY = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
STATUS_LIST = "https://shcb.example.cn/status/1"
RECORD = json.dumps({"type": ["VerifiableCredential", "ClrCredential"]}).encode()


def key_document(issuer: str = SHANGHAI, key: str = KEY) -> dict[str, Any]:
    """A controller document in the shape of ours (one Multikey, allowed to assert)."""
    method = f"{issuer}#key-1"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": issuer,
        "verificationMethod": [
            {"id": method, "type": "Multikey", "controller": issuer, "publicKeyMultibase": key}
        ],
        "assertionMethod": [method],
    }


def shanghai_trust(manager: Any) -> Any:
    return services.trusted_bank_add(
        name="上海终身教育学分银行",
        issuer=SHANGHAI,
        key_document=key_document(),
        reason="长三角学分互认协议",
        actor=manager,
    )


def agreement_publish(
    manager: Any,
    *,
    bank: Any,
    entry_code: str = "VQ-JY-001",
    origin_code: str = "SH-JY-01",
    version_from: str = "1",
    version_to: str = "2",
    hours: str = "100",
    credits: str = "3",
    effective_from: datetime.date = datetime.date(2024, 1, 1),
) -> Any:
    version, _what = services.agreement_publish_from(
        fields={
            "bank": bank,
            "origin_code": origin_code,
            "origin_version_from": version_from,
            "origin_version_to": version_to,
            "entry_code": entry_code,
            "hours": hours,
            "credits": credits,
            "effective_from": effective_from,
            "approving_body": "重庆学分银行管理中心",
            "rationale": "长三角互认",
        },
        actor=manager,
    )
    return version


def entry(
    decision_id: str = "urn:uuid:sh-1",
    *,
    code: str = "SH-JY-01",
    version: str = "2",
    issuer: str = SHANGHAI,
    index: int = 7,
) -> RecognisedEntry:
    return RecognisedEntry(
        origin_issuer=issuer,
        origin_decision_id=decision_id,
        entry_code=code,
        entry_version=version,
        title="幼儿园园长任职资格证书",
        hours=Decimal("120"),
        credits=Decimal("4"),
        decided_on=datetime.date(2025, 3, 14),
        centre_name="上海市学习成果认证中心",
        status_list_credential=STATUS_LIST,
        status_index=index,
    )
