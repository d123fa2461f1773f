"""Transfer records: the learner asks for a signed record of her accredited outcomes with their
provenance, for another credit bank; that bank checks one offline (ADR 0022)."""

from __future__ import annotations

import hashlib
import json
import random
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.utils import timezone, translation

from accounts.models import LearningAccount
from accreditation.models import Revocation
from tests.accounts.factories import CentreFactory, UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.people import RESIDENT, learner_register, token_for
from tests.worlds import LI_AILI_ID_NUMBER
from transfers.certificates.linked_data import (
    controller_document,
    issuer_did,
    multikey_of,
    proof_add,
)
from transfers.certificates.serials import serial_new
from transfers.certificates.signing import signing_key
from transfers.certificates.transfer_records import (
    TransferRecordRefused,
    VerifiedEntry,
    transfer_record_holder_matches,
    transfer_record_verify,
)
from transfers.certificates.verification import signed_document_check
from transfers.models import Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(certificate_world):
    """李爱丽 with two accreditations: the principal certificate (120 h, 6 credits) and the
    preschool teacher certificate (80 h, 4 credits) decided at another centre."""
    account = certificate_world["account"]
    version = catalogue_version(code="CQ-JS-002", name="幼儿园教师资格证书")
    version.hours, version.credits = Decimal("80"), Decimal("4")
    version.save()
    other = accredited_outcome(
        account, version, UserFactory(role="centre_reviewer", centre=CentreFactory())
    )
    return {**certificate_world, "second": other.applications.get().decision}


def request_record(client, capture, disclose: list[str] | None = None) -> dict[str, Any]:
    """A transfer record requested over the API and made by the worker: its API row."""
    client.credentials(HTTP_AUTHORIZATION="Token " + token_for(client, "alice"))
    body: dict[str, Any] = {"kind": "transfer_record"}
    if disclose is not None:
        body["disclose"] = disclose
    with capture(execute=True):
        response = client.post("/api/v1/certificates/", body, format="json")
    assert response.status_code == 202, response.content
    row = client.get(f"/api/v1/certificates/{response.json()['serial']}/").json()
    client.credentials()
    return dict(row)


def trust_ourselves(issuer: str) -> dict[str, Any] | None:
    return controller_document() if issuer == issuer_did() else None


def fetch_with(client):
    def fetch(url: str) -> bytes:
        response = client.get(urlsplit(url).path)
        assert response.status_code == 200, url
        return bytes(response.content)

    return fetch


def record_of(client, row: dict[str, Any]) -> dict[str, Any]:
    response = client.get(urlsplit(row["record_url"]).path)
    assert response.status_code == 200
    return dict(json.loads(response.content))


def refusal(document: Any, client=None, key_for_issuer=trust_ourselves) -> TransferRecordRefused:
    with pytest.raises(TransferRecordRefused) as refused:
        transfer_record_verify(
            document=document,
            key_for_issuer=key_for_issuer,
            status_fetch=fetch_with(client) if client else None,
        )
    return refused.value


def test_a_record_holds_each_accredited_outcome_with_its_provenance_and_its_own_status_bit(
    world, api_client, django_capture_on_commit_callbacks
):
    row = request_record(api_client, django_capture_on_commit_callbacks, disclose=["name"])
    assert row["state"] == "issued"
    # The list is what a record is: kept even when the learner ticked only her name.
    assert row["disclose"] == ["name", "items"]
    record = record_of(api_client, row)

    assert record["type"] == ["VerifiableCredential", "ClrCredential"]
    held = record["credentialSubject"]["verifiableCredential"]
    outcomes = [c for c in held if "#decision-" in c["id"]]
    decision = world["decision"]
    first = next(c for c in outcomes if c["id"].endswith(f"#decision-{decision.pk}"))
    achievement = first["credentialSubject"]["achievement"]
    assert achievement["humanCode"] == "CQ-ZG-001"
    assert achievement["version"] == "1"
    assert achievement["otherIdentifier"] == [
        {
            "type": "IdentifierEntry",
            "identifier": str(decision.pk),
            "identifierType": "ext:AccreditationDecisionId",
        }
    ]
    centre = decision.application.centre
    assert first["credentialSubject"]["source"]["name"] == centre.name
    assert first["credentialSubject"]["source"]["otherIdentifier"][0]["identifier"] == centre.code
    assert first["awardedDate"].startswith(timezone.localdate(decision.decided_at).isoformat())
    assert first["credentialStatus"]["statusListCredential"].endswith(
        "/credentials/status/decisions/0"
    )
    assert first["credentialStatus"]["statusListIndex"] == str(decision.pk)
    # The record itself keeps the certificate's bit, like every other certificate.
    assert record["credentialStatus"]["statusListCredential"].endswith("/credentials/status/0")
    # Her name as she chose; her identity and account numbers not.
    identifiers = record["credentialSubject"]["identifier"]
    assert {i["identityType"] for i in identifiers if not i["hashed"]} == {"name"}
    assert "5001" not in json.dumps(record)
    # Always bound to her, by her full number and the claim code hashed (OB 3.0 IdentityHash);
    # the code, shown only to her, is not in the record: no salt to try every number with.
    (holder,) = [i for i in identifiers if i["hashed"]]
    assert holder["identityType"] == "nationalIdentityNumber"
    assert "salt" not in holder
    code = row["claim_code"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
    assert code not in json.dumps(record)
    assert code.replace("-", "") not in json.dumps(record)
    assert (
        holder["identityHash"]
        == "sha256$"
        + hashlib.sha256((LI_AILI_ID_NUMBER + code.replace("-", "")).encode()).hexdigest()
    )


def test_the_bank_that_trusts_the_issuer_gets_each_entry_with_its_provenance(
    world, api_client, django_capture_on_commit_callbacks
):
    row = request_record(api_client, django_capture_on_commit_callbacks)
    record = record_of(api_client, row)

    verified = transfer_record_verify(
        document=json.dumps(record).encode(),
        key_for_issuer=trust_ourselves,
        status_fetch=fetch_with(api_client),
    )

    decision, second = world["decision"], world["second"]
    assert verified.issuer_id == issuer_did()
    assert verified.learner_name == "李爱丽"
    assert verified.status_checked is True
    assert verified.entries == (
        VerifiedEntry(
            origin_issuer=issuer_did(),
            origin_decision_id=str(decision.pk),
            entry_code="CQ-ZG-001",
            entry_version="1",
            title=decision.application.outcome.title,
            hours=Decimal("120.0"),
            credits=Decimal("6.0"),
            decided_on=timezone.localdate(decision.decided_at),
            centre_name=decision.application.centre.name,
            centre_code=decision.application.centre.code,
            status_list_url=record["credentialSubject"]["verifiableCredential"][1][
                "credentialStatus"
            ]["statusListCredential"],
            status_index=decision.pk,
            revoked=False,
        ),
        VerifiedEntry(
            origin_issuer=issuer_did(),
            origin_decision_id=str(second.pk),
            entry_code="CQ-JS-002",
            entry_version="1",
            title="幼儿园教师资格证书",
            hours=Decimal("80.0"),
            credits=Decimal("4.0"),
            decided_on=timezone.localdate(second.decided_at),
            centre_name=second.application.centre.name,
            centre_code=second.application.centre.code,
            status_list_url=verified.entries[0].status_list_url,
            status_index=second.pk,
            revoked=False,
        ),
    )
    # The offline check of a downloaded credential takes an issuer's key document too.
    document = json.dumps(record).encode()
    assert signed_document_check(document, key_document=controller_document()).genuine is True
    other = Ed25519PrivateKey.generate().public_key()
    elsewhere = {
        **controller_document(),
        "verificationMethod": [
            {**method, "publicKeyMultibase": multikey_of(other)}
            for method in controller_document()["verificationMethod"]
        ],
    }
    assert signed_document_check(document, key_document=elsewhere).genuine is False
    # Without a status fetch the entries are given unchecked.
    unchecked = transfer_record_verify(
        document=record, key_for_issuer=trust_ourselves, status_fetch=None
    )
    assert [e.revoked for e in unchecked.entries] == [None, None]


def test_a_revoked_accreditation_is_reported_revoked_and_its_neighbour_stays_current(
    world, api_client, django_capture_on_commit_callbacks, centre_admin
):
    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    Revocation.objects.create(
        decision=world["decision"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造",
        revoked_by=centre_admin,
        revoked_at=timezone.now(),
    )

    verified = transfer_record_verify(
        document=record, key_for_issuer=trust_ourselves, status_fetch=fetch_with(api_client)
    )

    assert [(e.entry_code, e.revoked) for e in verified.entries] == [
        ("CQ-ZG-001", True),
        ("CQ-JS-002", False),
    ]
    assert [e.entry_code for e in verified.current_entries] == ["CQ-JS-002"]


def test_a_record_is_bound_to_its_holder_and_another_persons_account_is_refused(
    world, api_client, django_capture_on_commit_callbacks
):
    row = request_record(api_client, django_capture_on_commit_callbacks)
    record = record_of(api_client, row)
    verified = transfer_record_verify(
        document=record, key_for_issuer=trust_ourselves, status_fetch=None
    )
    code = row["claim_code"]
    mine = world["account"]
    assert transfer_record_holder_matches(record=verified, account=mine, claim_code=code)
    # Typed in lower case, without hyphens, with O for 0 and I or L for 1: still her code.
    typed = code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    assert transfer_record_holder_matches(record=verified, account=mine, claim_code=typed)
    # Without the code, or with another, the record is not hers to bring.
    other = "0000-0000-0000-0000" if code != "0000-0000-0000-0000" else "1111-1111-1111-1111"
    for wrong in ("", other, code[:-1]):
        assert not transfer_record_holder_matches(record=verified, account=mine, claim_code=wrong)
    # Someone else who got hold of the record (its public address, a forwarded file) and code.
    stranger = learner_register("邵涛涛", RESIDENT, "13912345678")
    assert not transfer_record_holder_matches(record=verified, account=stranger, claim_code=code)
    # The same number under another kind of document is not her either.
    mine.id_type = "foreign_permanent_resident"
    assert not transfer_record_holder_matches(record=verified, account=mine, claim_code=code)


def test_replacing_the_address_replaces_the_claim_code_and_the_record_goes_with_the_new_one(
    world, api_client, django_capture_on_commit_callbacks
):
    row = request_record(api_client, django_capture_on_commit_callbacks)
    old = transfer_record_verify(
        document=record_of(api_client, row), key_for_issuer=trust_ourselves, status_fetch=None
    )
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    renewed = api_client.get(f"/api/v1/certificates/{row['serial']}/")
    assert renewed.json()["claim_code"] == row["claim_code"]
    client = Client()
    client.force_login(world["account"].holder)
    assert client.post(f"/certificates/{row['serial']}/record-address/").status_code == 302
    new_row = api_client.get(f"/api/v1/certificates/{row['serial']}/").json()
    assert new_row["claim_code"] != row["claim_code"]
    assert new_row["record_url"] != row["record_url"]
    new = transfer_record_verify(
        document=record_of(api_client, new_row), key_for_issuer=trust_ourselves, status_fetch=None
    )
    account = world["account"]
    assert transfer_record_holder_matches(
        record=new, account=account, claim_code=new_row["claim_code"]
    )
    assert not transfer_record_holder_matches(
        record=new, account=account, claim_code=row["claim_code"]
    )
    assert not transfer_record_holder_matches(
        record=old, account=account, claim_code=new_row["claim_code"]
    )


def test_two_records_of_one_learner_cannot_be_linked_by_their_hash(
    world, api_client, django_capture_on_commit_callbacks
):
    first = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    second = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    hashes = {
        i["identityHash"]
        for r in (first, second)
        for i in r["credentialSubject"]["identifier"]
        if i["hashed"]
    }
    assert len(hashes) == 2


def test_a_record_that_names_no_holder_is_refused(world):
    unbound = issued_record_without_holder(world)
    refused = refusal(unbound)
    assert refused.reason == "no_holder"
    assert refused.field == "record.credentialSubject.identifier"


def issued_record_without_holder(world) -> dict[str, Any]:
    """A record signed by this bank (right key) for an account with no identity number."""
    from transfers.certificates.issuing import certificate_render

    world["account"].id_number_encrypted = ""
    world["account"].save(update_fields=["id_number_encrypted"])
    certificate = Certificate.objects.create(
        account=world["account"],
        kind=Certificate.Kind.TRANSFER_RECORD,
        serial=serial_new(),
        disclose=["items"],
        requested_by=world["account"].holder,
    )
    certificate = certificate_render(certificate_id=certificate.pk)
    assert certificate.vc_json is not None
    return dict(certificate.vc_json)


def changed(record: dict[str, Any], edit) -> dict[str, Any]:
    copy = json.loads(json.dumps(record))
    edit(copy)
    return copy


def test_a_changed_number_a_changed_byte_another_key_or_no_trust_is_refused_with_its_reason(
    world, api_client, django_capture_on_commit_callbacks
):
    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))

    def more_hours(r):
        held = r["credentialSubject"]["verifiableCredential"][1]
        held["credentialSubject"]["result"][0]["value"] = "121.0"

    refused = refusal(changed(record, more_hours))
    assert refused.reason == "tampered"
    # The record's own proof is checked first (one signature before any held credential's).
    assert refused.field == "record"

    text = json.dumps(record, ensure_ascii=False)
    assert refusal(text.replace("CQ-ZG-001", "CQ-ZG-002").encode()).reason == "tampered"
    assert refusal(changed(record, lambda r: r.update(name="X"))).reason == "tampered"

    # Changed and signed again, by someone else's key: not the issuer's.
    forged = proof_add(
        {k: v for k, v in changed(record, lambda r: r.update(name="X")).items() if k != "proof"},
        key=Ed25519PrivateKey.generate(),
        created=timezone.now(),
    )
    assert refusal(forged).reason == "forged"

    untrusted = refusal(record, key_for_issuer=lambda issuer: None)
    assert untrusted.reason == "untrusted_issuer"
    with translation.override("zh-hans"):
        assert untrusted.message_dict["record.issuer"] == ["记录的签发机构不在信任名单上。"]
    with translation.override("en"):
        assert untrusted.message_dict["record.issuer"] == [
            "The issuer of the record is not on the trust list."
        ]


def test_an_expired_record_and_a_transcript_are_refused(
    world, api_client, django_capture_on_commit_callbacks
):
    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    unsigned = {k: v for k, v in record.items() if k != "proof"}
    unsigned["validUntil"] = "2025-01-01T00:00:00Z"
    expired = proof_add(unsigned, key=signing_key(), created=timezone.now())
    assert refusal(expired).reason == "expired"

    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    with django_capture_on_commit_callbacks(execute=True):
        serial = api_client.post(
            "/api/v1/certificates/", {"kind": "transcript"}, format="json"
        ).json()["serial"]
    transcript = api_client.get(f"/api/v1/certificates/{serial}/credential.json").content
    assert refusal(transcript).reason == "not_transfer_record"


def test_a_status_list_not_signed_by_the_issuer_makes_the_status_unavailable(
    world, api_client, django_capture_on_commit_callbacks
):
    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))

    def forged_list(url: str) -> dict[str, Any]:
        real = json.loads(api_client.get(urlsplit(url).path).content)
        unsigned = {k: v for k, v in real.items() if k != "proof"}
        return proof_add(unsigned, key=Ed25519PrivateKey.generate(), created=timezone.now())

    def broken(url: str) -> bytes:
        raise ConnectionError("down")

    for fetch in (forged_list, broken, lambda url: b"\x00garbage", lambda url: {"id": url}):
        with pytest.raises(TransferRecordRefused) as refused:
            transfer_record_verify(
                document=record, key_for_issuer=trust_ourselves, status_fetch=fetch
            )
        assert refused.value.reason == "status_unavailable"


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[" * 100_000,
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        b"[]",
        b"null",
        {},
        {"type": 5},
        {"type": ["VerifiableCredential", "ClrCredential"]},
        {"type": ["VerifiableCredential", "ClrCredential"], "issuer": {"id": []}},
        b"x" * 3_000_000,
    ],
)
def test_garbage_is_refused_as_malformed_field_by_field(db, document):
    refused = refusal(document)
    assert refused.reason in ("malformed", "not_transfer_record")
    assert refused.message_dict


def test_a_deeply_nested_dict_is_refused_without_recursing(db):
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(50_000):
        node["x"] = {}
        node = node["x"]
    assert refusal(deep).reason == "malformed"


def test_three_hundred_random_mutations_of_a_record_are_each_verified_or_refused_never_raised(
    world, api_client, django_capture_on_commit_callbacks
):
    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    text = json.dumps(record, ensure_ascii=False)
    rng = random.Random(23)  # noqa: S311 - reproducible, not secret
    outcomes = {"accepted": 0}
    for _ in range(300):
        mutated = bytearray(text.encode())
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(mutated))
            mutated[position] = rng.choice(b'{}[]",:0123456789abcxyz\x00 ')
        try:
            transfer_record_verify(
                document=bytes(mutated), key_for_issuer=trust_ourselves, status_fetch=None
            )
        except TransferRecordRefused as refused:
            outcomes[refused.reason] = outcomes.get(refused.reason, 0) + 1
        else:
            outcomes["accepted"] += 1
    # Most changes break the JSON or the proof; a change in whitespace or in a key order may not.
    assert outcomes.get("tampered", 0) + outcomes.get("malformed", 0) > 200, outcomes


def test_the_record_is_public_at_its_token_only_and_gone_once_the_account_is_closed(
    world, api_client, client, django_capture_on_commit_callbacks
):
    row = request_record(api_client, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(serial=row["serial"])
    path = urlsplit(row["record_url"]).path
    assert path == f"/credentials/records/{certificate.file_token}"

    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert json.loads(response.content)["id"].endswith(f"/verify/{certificate.serial}/")
    # Not by the serial, not for another kind, not for an unknown token.
    assert client.get(f"/credentials/records/{certificate.serial}").status_code == 404
    assert client.get("/credentials/records/00000000-0000-0000-0000-000000000000").status_code == (
        404
    )
    Certificate.objects.filter(pk=certificate.pk).update(kind=Certificate.Kind.TRANSCRIPT)
    assert client.get(path).status_code == 404
    Certificate.objects.filter(pk=certificate.pk).update(kind=Certificate.Kind.TRANSFER_RECORD)
    LearningAccount.objects.filter(pk=world["account"].pk).update(
        status=LearningAccount.Status.CLOSED
    )
    assert client.get(path).status_code == 404


def test_a_learner_without_an_accredited_outcome_is_told_there_is_nothing_to_record(
    learner, api_client
):
    from tests.accounts.factories import PersonalAccountFactory

    PersonalAccountFactory(holder=learner)
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    response = api_client.post(
        "/api/v1/certificates/",
        {"kind": "transfer_record"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "transfer record" in json.dumps(response.json())
    assert not Certificate.objects.exists()


def test_the_decision_status_list_sets_only_the_revoked_accreditations_bit(
    world, client, centre_admin
):
    Revocation.objects.create(
        decision=world["second"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造",
        revoked_by=centre_admin,
        revoked_at=timezone.now(),
    )
    import base64
    import gzip

    response = client.get("/credentials/status/decisions/0")
    assert response.status_code == 200
    encoded = json.loads(response.content)["credentialSubject"]["encodedList"][1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    set_bits = [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]
    assert set_bits == [world["second"].pk]
    assert client.get("/credentials/status/decisions/1").status_code == 404


def test_the_learner_asks_for_a_record_on_the_certificates_page_and_is_given_its_address(
    world, learner, client, django_capture_on_commit_callbacks
):
    client.force_login(learner)
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post("/certificates/", {"kind": "transfer_record", "disclose": ["name"]})
    assert asked.status_code == 302
    response = client.get("/certificates/")
    certificate = Certificate.objects.get(kind=Certificate.Kind.TRANSFER_RECORD)
    assert certificate.state == Certificate.State.ISSUED
    page = response.content.decode()
    assert "学分转移记录" in page
    assert f'href="/credentials/records/{certificate.file_token}"' in page
    assert 'data-testid="transfer-record-link"' in page


def resigned(record: dict[str, Any], edit) -> dict[str, Any]:
    """``record`` changed by ``edit`` (given the copy) and signed again by this bank, the held
    credentials and then the record: what the bank itself could issue."""
    copy = changed(record, edit)
    now, key = timezone.now(), signing_key()
    subject = copy["credentialSubject"]
    subject["verifiableCredential"] = [
        proof_add({k: v for k, v in held.items() if k != "proof"}, key=key, created=now)
        for held in subject["verifiableCredential"]
    ]
    return proof_add({k: v for k, v in copy.items() if k != "proof"}, key=key, created=now)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("achievement", "otherIdentifier", 0, "identifier"), "9" * 201),
        (("achievement", "humanCode"), "C" * 61),
        (("achievement", "version"), "1." * 16),
    ],
)
def test_a_provenance_field_longer_than_its_column_is_refused_as_malformed(
    world, api_client, django_capture_on_commit_callbacks, path, value
):
    """Booked, it would fail the insert (a DataError, a 500 on PostgreSQL): refused first."""
    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))

    def lengthen(r):
        node = r["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    refused = refusal(resigned(record, lengthen))
    assert refused.reason == "malformed"
    assert refused.field == "record.credentialSubject.verifiableCredential[1]"


def test_the_records_own_proof_is_checked_before_any_held_credentials(
    world, api_client, django_capture_on_commit_callbacks, monkeypatch
):
    from transfers.certificates import transfer_records

    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    checks = []
    real = transfer_records.proof_check

    def counted(document, **kwargs):
        checks.append(document.get("id"))
        return real(document, **kwargs)

    monkeypatch.setattr(transfer_records, "proof_check", counted)
    refused = refusal(changed(record, lambda r: r.update(name="X")))
    assert refused.reason == "tampered"
    assert checks == [record["id"]]


def test_too_many_or_too_large_held_credentials_are_refused_before_any_signature_check(
    world, api_client, django_capture_on_commit_callbacks, monkeypatch
):
    from transfers.certificates import transfer_records

    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    monkeypatch.setattr(transfer_records, "proof_check", pytest.fail)
    held = record["credentialSubject"]["verifiableCredential"]

    many = changed(record, lambda r: r["credentialSubject"].update(verifiableCredential=held * 101))
    assert len(many["credentialSubject"]["verifiableCredential"]) > 201
    assert refusal(many).field == "record.credentialSubject.verifiableCredential"

    def pad(r):
        r["credentialSubject"]["verifiableCredential"][1]["description"] = "x" * 40_000

    refused = refusal(changed(record, pad))
    assert (refused.reason, refused.field) == (
        "malformed",
        "record.credentialSubject.verifiableCredential[1]",
    )


def test_a_record_padded_outside_its_held_credentials_is_refused_before_any_signature_check(
    world, api_client, django_capture_on_commit_callbacks, monkeypatch
):
    from transfers.certificates import transfer_records

    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    # Each held credential within its 16 KB, but the record around them 20 KB larger: far
    # under the 2 MB of a file, still not a record of a few entries.
    held = record["credentialSubject"]["verifiableCredential"][1]
    held["description"] = "x" * 10_000  # one long name: still read (the signature fails)
    assert refusal(record).reason == "tampered"
    monkeypatch.setattr(transfer_records, "proof_check", pytest.fail)
    padded = changed(record, lambda r: r.update(description="x" * 20_000))
    refused = refusal(padded)
    assert (refused.reason, refused.field) == ("malformed", "record")
    over = changed(
        record,
        lambda r: r["credentialSubject"]["verifiableCredential"][1].update(
            description="x" * 17_000
        ),
    )
    assert refusal(over).field == "record.credentialSubject.verifiableCredential[1]"


def test_a_record_naming_more_than_five_status_lists_is_refused_before_fetching_any(
    world, api_client, django_capture_on_commit_callbacks, monkeypatch
):
    from transfers.certificates import transfer_records

    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    held = record["credentialSubject"]["verifiableCredential"]
    entries = [c for c in held if "#decision-" in c["id"]]
    # Six distinct lists (each held credential's signature is skipped: only the count matters).
    monkeypatch.setattr(transfer_records, "proof_check", lambda *a, **k: True)
    many = [dict(entries[0], id=f"{entries[0]['id']}{n}") for n in range(6)]
    for n, entry in enumerate(many):
        entry["credentialStatus"] = dict(
            entry["credentialStatus"],
            statusListCredential=entry["credentialStatus"]["statusListCredential"] + f"{n}",
        )
        subject = dict(entry["credentialSubject"])
        achievement = dict(subject["achievement"])
        achievement["otherIdentifier"] = [
            dict(achievement["otherIdentifier"][0], identifier=f"9{n}")
        ]
        entry["credentialSubject"] = dict(subject, achievement=achievement)
    record["credentialSubject"]["verifiableCredential"] = many
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        raise AssertionError("fetched")

    with pytest.raises(TransferRecordRefused) as refused:
        transfer_record_verify(document=record, key_for_issuer=trust_ourselves, status_fetch=fetch)
    assert refused.value.reason == "malformed"
    assert refused.value.field == "record.credentialSubject.verifiableCredential"
    assert fetched == []


def test_a_status_list_over_plain_http_is_refused_unless_allowed(
    world, api_client, django_capture_on_commit_callbacks, settings
):
    record = record_of(api_client, request_record(api_client, django_capture_on_commit_callbacks))
    assert record["credentialStatus"]["statusListCredential"].startswith("http://")
    settings.RECOGNITION_ALLOW_HTTP = False
    refused = refusal(record)
    assert refused.reason == "malformed"
    assert refused.field.endswith(".credentialStatus.statusListCredential")
    settings.RECOGNITION_ALLOW_HTTP = True
    assert transfer_record_verify(
        document=record, key_for_issuer=trust_ourselves, status_fetch=None
    ).entries


def test_the_learner_replaces_her_records_public_address_and_the_old_one_stops_working(
    world, api_client, client, django_capture_on_commit_callbacks
):
    row = request_record(api_client, django_capture_on_commit_callbacks)
    old = urlsplit(row["record_url"]).path
    assert api_client.get(old).status_code == 200

    client.force_login(world["account"].holder)
    page = client.get("/certificates/").content.decode()
    assert 'data-testid="transfer-record-renew"' in page
    response = client.post(f"/certificates/{row['serial']}/record-address/")
    assert response.status_code == 302

    assert api_client.get(old).status_code == 404
    certificate = Certificate.objects.get(serial=row["serial"])
    new = f"/credentials/records/{certificate.file_token}"
    assert new != old
    assert api_client.get(new).status_code == 200
    assert new in client.get("/certificates/").content.decode()


def test_nobody_else_can_replace_a_records_address(
    world, api_client, client, django_capture_on_commit_callbacks
):
    row = request_record(api_client, django_capture_on_commit_callbacks)
    old = urlsplit(row["record_url"]).path
    stranger = learner_register("邵涛涛", RESIDENT, "13912345678")
    client.force_login(stranger.holder)
    assert client.post(f"/certificates/{row['serial']}/record-address/").status_code == 404
    assert api_client.get(old).status_code == 200
