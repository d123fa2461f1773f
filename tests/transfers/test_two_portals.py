"""Two banks on one machine (issue 23): a learner's transfer record from bank A, checked by
bank B's own code with A's key document, over loopback, as B would check it once A is on its
trust list; and A's revocation seen by B through A's published status list."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.people import PASSWORD
from tests.transfers.two_portals import Portal, two_portals

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.portals]

# At A: a centre, its administrator, and 李爱丽 with the principal certificate accredited there.
WORLD_AT_A = """
import json
from accounts.identity.crypto import encrypt
from tests.accounts.factories import CentreFactory, PersonalAccountFactory, UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version

centre = CentreFactory(name="渝中区认证分中心", code="YZ")
reviewer = UserFactory(role="centre_reviewer", centre=centre)
UserFactory(role="centre_admin", centre=centre, username="carl.a")
learner = UserFactory(username="alice.a", name="李爱丽", role="learner")
# Her full identity number as registration keeps it: the record is bound to it (hashed).
account = PersonalAccountFactory(holder=learner, id_number_encrypted=encrypt("50010319900101123X"))
decision = accredited_outcome(account, catalogue_version(), reviewer).applications.get().decision
print(json.dumps({"decision": decision.pk}))
"""

REVOKE_AT_A = """
import sys
from accounts.models import User
from accreditation.models import Decision, Revocation
from accreditation.services import accreditation_revoke

accreditation_revoke(
    decision=Decision.objects.get(pk=int(sys.stdin.read())),
    actor=User.objects.get(username="carl.a"),
    reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
    reason="证书系伪造",
)
"""

# At B: transfer_record_verify on each case given (JSON on stdin), with the key document the
# case says B's trust list holds for the issuer (None: not on it), the status lists fetched over
# HTTP from where the record says they are. Prints one verdict per case.
VERIFY_AT_B = """
import json, sys, urllib.request
from dataclasses import asdict
from django.utils import translation
from transfers.certificates.transfer_records import TransferRecordRefused, transfer_record_verify

def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()

verdicts = []
for case in json.load(sys.stdin):
    trusted = case["key_document"]
    try:
        record = transfer_record_verify(
            document=case["record"].encode(),
            key_for_issuer=lambda issuer: trusted if trusted and trusted["id"] == issuer else None,
            status_fetch=fetch,
        )
    except TransferRecordRefused as refused:
        with translation.override("en"):
            verdicts.append({"refused": refused.reason, "messages": refused.message_dict})
    else:
        verdicts.append(
            {"issuer": record.issuer_id, "entries": [asdict(e) for e in record.entries]}
        )
print(json.dumps(verdicts, default=str))
"""


def verify_at(bank: Portal, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    verdicts: list[dict[str, Any]] = json.loads(bank.run(VERIFY_AT_B, stdin=json.dumps(cases)))
    return verdicts


def impostor(named: dict[str, Any], keyed: dict[str, Any]) -> dict[str, Any]:
    """A controller document with ``named``'s id and ``keyed``'s keys."""
    did = named["id"]
    methods = [
        {**method, "id": did + "#" + method["id"].partition("#")[2], "controller": did}
        for method in keyed["verificationMethod"]
    ]
    return {
        **keyed,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def test_bank_b_accepts_a_record_of_bank_a_with_its_provenance_refuses_a_changed_or_untrusted_one_and_sees_a_revocation(  # noqa: E501
    postgres, tmp_path
):
    with two_portals(tmp_path) as (a, b):
        decision = json.loads(a.run(WORLD_AT_A))["decision"]
        a_did, b_did = a.get("/.well-known/did.json").json(), b.get("/.well-known/did.json").json()
        assert a_did["id"] != b_did["id"]
        assert (
            a_did["verificationMethod"][0]["publicKeyMultibase"]
            != b_did["verificationMethod"][0]["publicKeyMultibase"]
        )

        # The learner asks A for her transfer record over A's API.
        token = a.post(
            "/api/v1/auth/token/", json={"username": "alice.a", "password": PASSWORD}
        ).json()["token"]
        auth = {"Authorization": f"Token {token}", "Accept-Language": "en"}
        asked = a.post("/api/v1/certificates/", json={"kind": "transfer_record"}, headers=auth)
        assert asked.status_code == 202, asked.text
        row = a.get(f"/api/v1/certificates/{asked.json()['serial']}/", headers=auth).json()
        assert row["state"] == "issued", row
        assert row["record_url"].startswith(a.url + "/credentials/records/")
        # The address she gives bank B: public, no sign-in.
        fetched = a.get(row["record_url"].removeprefix(a.url))
        assert fetched.status_code == 200
        text = fetched.text
        record = json.loads(text)
        assert record["issuer"]["id"] == a_did["id"]
        assert record["issuer"]["name"] == "甲学分银行"

        changed = json.loads(text)
        held = changed["credentialSubject"]["verifiableCredential"][1]
        held["credentialSubject"]["result"][1]["value"] = "60.0"  # credits, ten times as many
        one_byte = text.replace('"120.0"', '"920.0"', 1)
        assert one_byte != text
        verdicts = verify_at(
            b,
            [
                {"record": text, "key_document": a_did},
                {"record": json.dumps(changed), "key_document": a_did},
                {"record": one_byte, "key_document": a_did},
                {"record": text, "key_document": None},
                # A's issuer id with another key (B's) on the trust list: not what A signed with.
                {"record": text, "key_document": impostor(a_did, b_did)},
            ],
        )

        accepted, changed_verdict, one_byte_verdict, untrusted, other_key = verdicts
        assert accepted["issuer"] == a_did["id"]
        [entry] = accepted["entries"]
        assert entry["origin_issuer"] == a_did["id"]
        assert entry["origin_decision_id"] == str(decision)
        assert entry["entry_code"] == "CQ-ZG-001"
        assert entry["entry_version"] == "1"
        assert entry["hours"] == "120.0"
        assert entry["credits"] == "6.0"
        assert entry["centre_name"] == "渝中区认证分中心"
        assert entry["centre_code"] == "YZ"
        assert entry["status_list_url"] == a.url + "/credentials/status/decisions/0"
        assert entry["status_index"] == decision
        assert entry["revoked"] is False
        assert changed_verdict["refused"] == "tampered"
        assert one_byte_verdict["refused"] == "tampered"
        assert untrusted == {
            "refused": "untrusted_issuer",
            "messages": {"record.issuer": ["The issuer of the record is not on the trust list."]},
        }
        assert other_key["refused"] == "forged"

        # A revokes the accreditation; B, reading A's status list again, sees it.
        a.run(REVOKE_AT_A, stdin=str(decision))
        [after] = verify_at(b, [{"record": text, "key_document": a_did}])
        assert after["entries"][0]["revoked"] is True
