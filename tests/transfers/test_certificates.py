"""Certificates: requested by the learner, made once by a worker, signed, and verifiable by
anyone from the serial printed on them."""

from __future__ import annotations

import base64
import datetime
import io
import json
import random
import re
import string
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from celery.exceptions import Retry
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from jsonschema import Draft201909Validator
from kombu.exceptions import OperationalError
from pypdf import PdfReader, PdfWriter

from accounts.models import BusinessTransaction, Notification, Role
from accreditation.models import Decision, Revocation
from tests.accounts.factories import PersonalAccountFactory, UserFactory
from tests.people import token_for
from transfers.certificates import issuing as certificates
from transfers.certificates.issuing import (
    certificate_render,
    certificate_request,
    certificates_resend_stale,
)
from transfers.certificates.signing import (
    canonical_bytes,
    public_key_from_text,
    signing_key_public,
)
from transfers.certificates.verification import certificate_verify, signed_document_check
from transfers.models import Certificate
from transfers.tasks import RENDER_RETRIES, render_certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(certificate_world):
    return certificate_world


PERIOD: dict[str, Any] = {
    "period_from": datetime.date(2024, 1, 1),
    "period_to": datetime.date(2024, 12, 31),
}


def issue(world, django_capture_on_commit_callbacks, **kwargs) -> Certificate:
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_request(
            account=world["account"],
            actor=world["account"].holder,
            kind=kwargs.pop("kind", Certificate.Kind.HOURS_CERTIFICATE),
            **{**PERIOD, **kwargs},
        )
    certificate.refresh_from_db()
    return certificate


def content_of(certificate: Certificate) -> dict[str, Any]:
    assert certificate.content is not None
    return certificate.content


def vc_of(certificate: Certificate) -> dict[str, Any]:
    assert certificate.vc_json is not None
    return certificate.vc_json


def stored_files(prefix: str = "certificates") -> list[str]:
    root = Path(default_storage.location) / prefix  # type: ignore[attr-defined]
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def pdf_text(data: bytes) -> str:
    """The PDF's text without spaces: pypdf reads fpdf2's two-byte glyph codes with NULs
    between characters, and long lines wrap."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[\s\x00]+", "", text)


# --- Issuing --------------------------------------------------------------------------------------


def test_a_requested_certificate_is_issued_with_the_chinese_name_and_the_hours_in_its_pdf(
    world, django_capture_on_commit_callbacks
):
    certificate = issue(world, django_capture_on_commit_callbacks)

    assert certificate.state == Certificate.State.ISSUED
    assert len(certificate.serial) == 22  # grouped Crockford Base32: test_certificate_serials
    text = pdf_text(certificate.pdf.read())
    assert "李爱丽" in text
    assert "120.0" in text
    assert "5001**********123X" not in text  # not ticked for disclosure
    assert certificate.serial in text
    assert f"/verify/{certificate.serial}/" in text
    assert certificate.signature in text
    assert Notification.objects.filter(
        recipient=world["account"].holder, kind=Notification.Kind.CERTIFICATE_READY
    ).exists()
    assert BusinessTransaction.objects.filter(
        account=world["account"], kind=BusinessTransaction.Kind.CERTIFICATE_ISSUED
    ).exists()
    assert list(certificate.decisions.all()) == [world["decision"]]


def test_learner_text_is_printed_as_signed_even_when_it_holds_the_page_count_alias(
    world, django_capture_on_commit_callbacks
):
    # fpdf2 replaced "{nb}" in any text with the page count: the printed title said "茶艺1师"
    # while the signed content said "茶艺{nb}师".
    world["outcome"].__class__.objects.filter(pk=world["outcome"].pk).update(title="茶艺{nb}师")

    certificate = issue(world, django_capture_on_commit_callbacks)

    assert content_of(certificate)["items"][0]["outcome"] == "茶艺{nb}师"
    text = pdf_text(certificate.pdf.read())
    assert "茶艺{nb}师" in text
    assert "1/1" in text  # the footer still counts the pages


def test_an_hours_certificate_for_a_period_with_no_accredited_learning_is_refused(world):
    # The world's only accreditation was learned in 2024: a certificate of 2025 would have said
    # "经学分银行认定学习时长 0.0 学时".
    with pytest.raises(ValidationError) as refused:
        certificate_request(
            account=world["account"],
            actor=world["account"].holder,
            kind=Certificate.Kind.HOURS_CERTIFICATE,
            period_from=datetime.date(2025, 1, 1),
            period_to=datetime.date(2025, 6, 30),
        )

    assert set(refused.value.message_dict) == {"period_from", "period_to"}
    assert Certificate.objects.count() == 0


def test_a_transcript_with_nothing_accredited_or_transferred_is_refused():
    account = PersonalAccountFactory()
    assert account.holder is not None

    with pytest.raises(ValidationError) as refused:
        certificate_request(account=account, actor=account.holder, kind=Certificate.Kind.TRANSCRIPT)

    assert set(refused.value.message_dict) == {"kind"}
    assert Certificate.objects.count() == 0


def test_a_transcript_and_a_file_export_are_issued_too(world, django_capture_on_commit_callbacks):
    transcript = issue(world, django_capture_on_commit_callbacks, kind=Certificate.Kind.TRANSCRIPT)
    file_export = issue(
        world, django_capture_on_commit_callbacks, kind=Certificate.Kind.LEARNING_FILE
    )

    assert content_of(transcript)["totals"]["credits"] == "6.0"
    assert content_of(transcript)["period"] is None
    assert content_of(file_export)["outcomes"][0]["title"] == world["outcome"].title
    assert "李爱丽" in pdf_text(file_export.pdf.read())


def test_requesting_the_same_twice_while_it_is_being_made_gives_one(world):
    # The worker has not run yet: the callbacks are not executed.
    first = certificate_request(
        account=world["account"], actor=world["account"].holder, kind="hours_certificate", **PERIOD
    )
    second = certificate_request(
        account=world["account"], actor=world["account"].holder, kind="hours_certificate", **PERIOD
    )

    assert first.pk == second.pk
    assert Certificate.objects.count() == 1


def test_the_same_request_after_it_was_issued_makes_a_new_certificate(
    world, django_capture_on_commit_callbacks
):
    first = issue(world, django_capture_on_commit_callbacks)
    second = issue(world, django_capture_on_commit_callbacks)

    assert first.serial != second.serial
    assert Certificate.objects.filter(state="issued").count() == 2


def test_two_racing_requests_make_one_certificate(transactional_db, postgres, learner):
    account = PersonalAccountFactory(holder=learner)
    barrier = threading.Barrier(2)
    serials: list[str] = []

    def request() -> None:
        try:
            barrier.wait()
            # The learning file export: a transcript of an account with nothing accredited
            # is refused, and the race is about the request, not the content.
            certificate = certificate_request(
                account=account, actor=learner, kind="learning_file", disclose=["name"]
            )
            serials.append(certificate.serial)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(serials) == 2
    assert len(set(serials)) == 1
    assert Certificate.objects.count() == 1


def test_a_render_killed_before_its_commit_and_retried_leaves_one_certificate_and_one_file(
    world, monkeypatch
):
    certificate = certificate_request(
        account=world["account"], actor=world["account"].holder, kind="transcript"
    )
    real_notify = certificates.notify
    calls = {"n": 0}

    def dies_the_first_time(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            # After the PDF was rendered and stored, before the commit.
            raise ConnectionError("worker lost")
        return real_notify(**kwargs)

    monkeypatch.setattr(certificates, "notify", dies_the_first_time)

    with pytest.raises(ConnectionError):
        certificate_render(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.REQUESTED
    assert stored_files() == []

    render_certificate.delay(certificate_id=certificate.pk)
    render_certificate.delay(certificate_id=certificate.pk)  # redelivered: nothing new

    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED
    assert Certificate.objects.count() == 1
    assert len(stored_files()) == 1
    assert BusinessTransaction.objects.filter(kind="certificate_issued").count() == 1
    assert Notification.objects.filter(kind="certificate_ready").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_commit_keeps_the_pdf_of_the_issued_certificate(world, monkeypatch):
    """An on-commit callback that raises (a broker down when a notice's e-mail is queued, say)
    comes out of certificate_render after the certificate was committed as issued: its PDF must
    stay where the issued row points."""
    # The request's own render task (run at its commit, eagerly here) is left out: the render
    # below is the one that fails.
    monkeypatch.setattr(certificates, "task_after_commit", lambda *args, **kwargs: None)
    certificate = certificate_request(
        account=world["account"], actor=world["account"].holder, kind="transcript"
    )
    real_notify = certificates.notify

    def then_fails_after_commit(**kwargs):
        def broker_down() -> None:
            raise ConnectionError("broker lost after the commit")

        transaction.on_commit(broker_down)
        return real_notify(**kwargs)

    monkeypatch.setattr(certificates, "notify", then_fails_after_commit)

    with pytest.raises(ConnectionError):
        certificate_render(certificate_id=certificate.pk)

    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED
    assert len(stored_files()) == 1
    assert certificate.pdf.read().startswith(b"%PDF-")


def test_a_file_left_by_a_worker_killed_outright_is_replaced_not_doubled(world):
    certificate = certificate_request(
        account=world["account"], actor=world["account"].holder, kind="transcript"
    )
    # A worker killed after storing, before its commit (no cleanup ran): the file is there.
    name = certificate.pdf.field.generate_filename(certificate, "x.pdf")
    default_storage.save(name, io.BytesIO(b"%PDF-1.4 half"))

    certificate_render(certificate_id=certificate.pk)

    certificate.refresh_from_db()
    assert stored_files() == [str(Path(default_storage.location) / name)]  # type: ignore[attr-defined]
    assert certificate.pdf.read() != b"%PDF-1.4 half"


def test_a_render_that_keeps_failing_marks_the_certificate_failed(world, monkeypatch):
    certificate = certificate_request(
        account=world["account"], actor=world["account"].holder, kind="transcript"
    )

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(certificates, "certificate_pdf", broken)

    with pytest.raises(Retry):
        render_certificate.delay(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.REQUESTED
    with pytest.raises(OSError, match="disk full"):
        render_certificate.apply(kwargs={"certificate_id": certificate.pk}, retries=RENDER_RETRIES)

    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.FAILED
    assert stored_files() == []


# --- Signature ------------------------------------------------------------------------------------


def test_changing_one_byte_of_the_signed_content_makes_verification_fail(
    world, django_capture_on_commit_callbacks
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    key = public_key_from_text(signing_key_public().public_key)
    signed = canonical_bytes(certificate.content)
    signature = base64.b64decode(certificate.signature)
    key.verify(signature, signed)

    for position in range(0, len(signed), 7):
        tampered = bytearray(signed)
        tampered[position] ^= 0x01
        with pytest.raises(InvalidSignature):
            key.verify(signature, bytes(tampered))

    content = content_of(certificate)
    content["totals"]["hours"] = "130.0"  # one byte: 2 -> 3
    Certificate.objects.filter(pk=certificate.pk).update(content=content)
    verification = certificate_verify(serial=certificate.serial)
    assert verification is not None
    assert verification.genuine is False


def test_the_verify_command_says_genuine_for_the_pdf_and_the_credential_and_not_for_a_forgery(
    world, django_capture_on_commit_callbacks, tmp_path, capsys
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(certificate.pdf.read())
    credential = tmp_path / "credential.json"
    credential.write_text(json.dumps(vc_of(certificate), ensure_ascii=False))
    key = tmp_path / "key.pem"
    key.write_text(signing_key_public().pem)

    call_command("verify_certificate", str(pdf), "--public-key", str(key))
    call_command("verify_certificate", str(credential))
    out = capsys.readouterr().out
    assert out.count("GENUINE") == 2
    assert "NOT GENUINE" not in out

    forged = json.loads(json.dumps(vc_of(certificate)))
    forged["credentialSubject"]["identifier"][0]["identityHash"] = "张三"
    credential.write_text(json.dumps(forged, ensure_ascii=False))
    with pytest.raises(SystemExit):
        call_command("verify_certificate", str(credential))
    assert "NOT GENUINE" in capsys.readouterr().out


def test_a_pdf_whose_embedded_content_was_edited_is_not_genuine(
    world, django_capture_on_commit_callbacks
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    original = certificate.pdf.read()
    embedded = json.loads(PdfReader(io.BytesIO(original)).attachments["certificate.json"][0])
    embedded["content"]["totals"]["hours"] = "999.0"
    forged = PdfWriter()
    forged.append(PdfReader(io.BytesIO(original)))
    forged.add_attachment("certificate.json", json.dumps(embedded).encode())
    buffer = io.BytesIO()
    forged.write(buffer)

    assert signed_document_check(original).genuine is True
    assert signed_document_check(buffer.getvalue()).genuine is False
    assert signed_document_check(b"%PDF-1.4 garbage").genuine is False
    assert signed_document_check(b"{not json").genuine is False


def test_the_credential_is_a_vc_2_credential_with_an_eddsa_rdfc_2022_proof_by_the_banks_did(
    world, django_capture_on_commit_callbacks, client
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    credential = vc_of(certificate)

    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert credential["type"][0] == "VerifiableCredential"
    # Figures are strings: no re-serialisation turns 6.0 into 6.
    results = {
        r["resultDescription"].rsplit("-", 1)[1]: r["value"]
        for r in credential["credentialSubject"]["result"]
    }
    assert results == {"hours": "120.0", "credits": "6.0"}
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    did = client.get("/.well-known/did.json").json()
    assert credential["issuer"]["id"] == did["id"]
    assert credential["proof"]["verificationMethod"] in did["assertionMethod"]
    assert signed_document_check(json.dumps(credential).encode()).genuine is True
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    status_list = client.get(urlsplit(status["statusListCredential"]).path)
    assert status_list.status_code == 200
    assert status_list.json()["credentialSubject"]["type"] == "BitstringStatusList"
    # A list number naming no certificate is not found, however large.
    assert client.get("/credentials/status/99999999999999999999999").status_code == 404
    assert client.get("/credentials/status/1").status_code == 404


def test_a_credential_issued_before_the_rdfc_proofs_still_verifies_offline(
    world, django_capture_on_commit_callbacks
):
    """Credentials already downloaded carry the earlier proof: Ed25519 over the sorted-keys
    JSON of the credential without its proof (shape: OB 3.0 context, no rdfc cryptosuite)."""
    from transfers.certificates.signing import base58btc_encode, key_id_of, signing_key

    old: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "http://localhost/verify/old-serial/",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "credentialSubject": {"name": "李爱丽", "creditsEarned": 6.5},
    }
    key = signing_key()
    signature = key.sign(canonical_bytes(old))
    old["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": f"http://localhost/api/v1/certificates/signing-key/#"
        f"{key_id_of(key.public_key())}",
        "proofPurpose": "assertionMethod",
        "proofValue": "z" + base58btc_encode(signature),
    }

    assert signed_document_check(json.dumps(old).encode()).genuine is True
    old["credentialSubject"]["creditsEarned"] = 7.5
    assert signed_document_check(json.dumps(old).encode()).genuine is False


FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The key the fixture credentials were signed with (a test key: the raw bytes 0..31).
FIXTURE_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()


@pytest.mark.parametrize(
    "name",
    ["credential-vc2-rdfc-hours_certificate.json", "credential-vc2-rdfc-transcript.json"],
)
def test_a_credential_of_the_session_6_shape_still_verifies_offline(name):
    """Credentials downloaded before the OB 3.0 / CLR 2.0 shapes (VC 2.0, eddsa-rdfc-2022, the
    bank's own terms under the "undefined terms" context) keep verifying, and say what they
    certify; one changed figure still fails."""
    data = (FIXTURES / name).read_bytes()
    old = json.loads(data)
    assert old["type"] == ["VerifiableCredential", "CreditBankCertificate"]

    check = signed_document_check(data, key=FIXTURE_KEY)
    assert check.genuine is True
    assert check.detail.startswith("李爱丽, 120.0 hours, 6.0 credits")
    old["credentialSubject"]["credits"] = "7.0"
    assert signed_document_check(json.dumps(old).encode(), key=FIXTURE_KEY).genuine is False


SCHEMAS = Path(__file__).resolve().parents[2] / "transfers" / "certificates" / "schemas"


def schema_errors(credential: dict[str, Any], schema_file: str) -> list[str]:
    """The vendored 1EdTech JSON Schema's complaints (Draft 2019-09, as it declares)."""
    schema = json.loads((SCHEMAS / schema_file).read_text())
    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(credential)]


def test_the_hours_certificate_is_an_open_badges_3_achievement_credential(
    world, django_capture_on_commit_callbacks
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    credential = vc_of(certificate)

    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["credentialSchema"] == [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
            "ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    assert schema_errors(credential, "ob_v3p0_achievementcredential_schema.json") == []
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["achievement"]["achievementType"] == "Certificate"
    assert subject["term"] == "2024-01-01/2024-12-31"
    assert {i["identityType"]: i["identityHash"] for i in subject["identifier"]} == {
        "name": "李爱丽"
    }
    issuer = credential["issuer"]
    assert issuer["type"] == ["Profile"]
    assert issuer["name"] == "终身学习学分银行"
    assert issuer["description"] == "Credit Bank for Lifelong Learning"
    assert issuer["address"] == {
        "type": ["Address"],
        "streetAddress": "学分银行路 1 号 · 1 Credit Bank Road",
    }
    assert issuer["email"] == "service@creditbank.example"
    assert issuer["phone"] == "+86 400 000 0000"
    assert [e["name"] for e in credential["evidence"]] == [world["outcome"].title]
    assert signed_document_check(json.dumps(credential).encode()).genuine is True


def test_the_issuer_profile_follows_the_bank_settings(
    world, django_capture_on_commit_callbacks, settings
):
    settings.BANK_NAME_ZH = "某市学分银行"
    settings.BANK_NAME_EN = "City Credit Bank"
    settings.BANK_ADDRESS = "人民路 9 号"
    settings.BANK_CONTACT = "0571-1234567"
    certificate = issue(world, django_capture_on_commit_callbacks)
    credential = vc_of(certificate)

    issuer = credential["issuer"]
    assert (issuer["name"], issuer["description"]) == ("某市学分银行", "City Credit Bank")
    assert content_of(certificate)["issuer"]["name"] == "某市学分银行 City Credit Bank"
    assert issuer["address"]["streetAddress"] == "人民路 9 号"
    assert issuer["phone"] == "0571-1234567"
    assert "email" not in issuer


@pytest.mark.parametrize("kind", [Certificate.Kind.TRANSCRIPT, Certificate.Kind.LEARNING_FILE])
def test_the_transcript_and_the_learning_file_are_clr_2_credentials_holding_signed_badges(
    world, django_capture_on_commit_callbacks, kind
):
    certificate = issue(world, django_capture_on_commit_callbacks, kind=kind)
    credential = vc_of(certificate)

    assert credential["@context"][:3] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "ClrCredential"]
    assert credential["credentialSchema"][0]["id"].endswith("/clr_v2p0_clrcredential_schema.json")
    assert schema_errors(credential, "clr_v2p0_clrcredential_schema.json") == []
    held = credential["credentialSubject"]["verifiableCredential"]
    # The totals, then the accredited outcome the learner chose to show (default: the list).
    assert [c["id"].rsplit("#", 1)[1] for c in held] == ["totals", "item-1"]
    totals = {
        r["resultDescription"].rsplit("#achievement-", 1)[1]: r["value"]
        for r in held[0]["credentialSubject"]["result"]
    }
    assert totals["hours"] == "120.0"
    assert totals["credits"] == "6.0"
    assert held[1]["name"] == world["outcome"].title
    for inner in held:
        assert schema_errors(inner, "ob_v3p0_achievementcredential_schema.json") == []
        assert signed_document_check(json.dumps(inner).encode()).genuine is True
    if kind == Certificate.Kind.LEARNING_FILE:
        achievements = credential["credentialSubject"]["achievement"]
        assert [a["name"] for a in achievements] == [world["outcome"].title]
    assert signed_document_check(json.dumps(credential).encode()).genuine is True
    # A held credential's figure changed: the CLR's own proof covers it.
    forged = json.loads(json.dumps(credential))
    forged["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["result"][0][
        "value"
    ] = "920.0"
    assert signed_document_check(json.dumps(forged).encode()).genuine is False


@pytest.mark.parametrize("kind", list(Certificate.Kind))
def test_what_the_learner_left_out_is_not_in_the_credential(
    world, django_capture_on_commit_callbacks, kind
):
    shown = vc_of(
        issue(
            world,
            django_capture_on_commit_callbacks,
            kind=kind,
            disclose=["name", "id_number", "account_number", "items"],
        )
    )
    hidden = vc_of(issue(world, django_capture_on_commit_callbacks, kind=kind, disclose=[]))
    schema = (
        "ob_v3p0_achievementcredential_schema.json"
        if kind == Certificate.Kind.HOURS_CERTIFICATE
        else "clr_v2p0_clrcredential_schema.json"
    )

    account = world["account"]
    private = ["李爱丽", account.number, "5001**********123X", world["outcome"].title]
    for value in private:
        assert value in json.dumps(shown, ensure_ascii=False)
    if kind == Certificate.Kind.TRANSFER_RECORD:
        # A transfer record is its list of outcomes (ADR 0022): only the identities are a choice.
        assert world["outcome"].title in json.dumps(hidden, ensure_ascii=False)
        private.remove(world["outcome"].title)
    for value in private:
        assert value not in json.dumps(hidden, ensure_ascii=False)
    assert schema_errors(shown, schema) == []
    assert schema_errors(hidden, schema) == []


# --- Verification ---------------------------------------------------------------------------------


def test_anyone_verifies_a_certificate_and_sees_only_what_the_learner_disclosed(
    world, django_capture_on_commit_callbacks, api_client
):
    certificate = issue(world, django_capture_on_commit_callbacks, disclose=["name"])

    response = api_client.get(f"/api/v1/certificates/verify/{certificate.serial}/")

    assert response.status_code == 200
    body = response.json()
    assert body["genuine"] is True
    assert body["status"] == "current"
    assert body["totals"]["hours"] == "120.0"
    assert body["disclosed"] == {"name": "李爱丽"}
    assert "5001" not in json.dumps(body)
    assert world["account"].number not in json.dumps(body)


def test_the_public_verification_page_shows_genuine_and_current(
    world, django_capture_on_commit_callbacks, client
):
    certificate = issue(world, django_capture_on_commit_callbacks, disclose=["name", "items"])

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(f"/verify/{certificate.serial}/").content.decode()

    assert "Genuine" in english
    assert "Current" in english
    assert "李爱丽" in english
    assert world["outcome"].title in english
    assert "5001**********123X" not in english


def test_a_certificate_that_relied_on_a_revoked_accreditation_shows_revoked(
    world, django_capture_on_commit_callbacks, api_client, client, centre_admin
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    Revocation.objects.create(
        decision=world["decision"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造",
        revoked_by=centre_admin,
        revoked_at=datetime.datetime(2025, 3, 4, 10, 0, tzinfo=datetime.UTC),
    )

    body = api_client.get(f"/api/v1/certificates/verify/{certificate.serial}/").json()
    assert body["genuine"] is True
    assert body["status"] == "revoked"
    assert body["revoked_on"] == "2025-03-04"
    assert body["revocation_reason_code"] == "evidence_false"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/verify/{certificate.serial}/").content.decode()
    assert "Revoked" in page
    assert "2025-03-04" in page
    assert "evidence_false" in page


def test_a_new_certificate_leaves_out_a_revoked_accreditation(
    world, django_capture_on_commit_callbacks, centre_admin
):
    Revocation.objects.create(
        decision=world["decision"],
        reason_code="decided_in_error",
        reason="错",
        revoked_by=centre_admin,
    )

    # (An hours certificate or a transcript with nothing accredited is refused; the learning
    # file export still lists the file.)
    certificate = issue(
        world, django_capture_on_commit_callbacks, kind=Certificate.Kind.LEARNING_FILE
    )

    assert content_of(certificate)["totals"]["hours"] == "0.0"
    assert content_of(certificate)["items"] == []
    assert certificate_verify(serial=certificate.serial).status == "current"  # type: ignore[union-attr]


def _random_serials(n: int) -> list[str]:
    rng = random.Random(7)  # noqa: S311 - reproducible, not secret
    alphabet = string.ascii_letters + string.digits + "-_"
    serials = ["".join(rng.choices(alphabet, k=24)) for _ in range(n - 6)]
    # Malformed ones get the same answer: too short, too long, odd characters. (A NUL is
    # refused before any view, by the portal's middleware, for every address alike.)
    return [*serials, "a", "x" * 300, "%0A", "证书", "..", "' OR 1=1 --"]


def test_a_thousand_random_serials_all_get_the_same_not_found_answer(world, settings, api_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "certificate_verify": None,
        },
    }
    # One requested, not yet issued: it is not found either.
    pending = certificate_request(
        account=world["account"], actor=world["account"].holder, kind="transcript"
    )

    answers = {
        (response.status_code, response.content)
        for response in (
            api_client.get(f"/api/v1/certificates/verify/{serial}/")
            for serial in [*_random_serials(1000), pending.serial]
        )
    }

    assert len(answers) == 1
    status_code, body = answers.pop()
    assert status_code == 404
    assert json.loads(body) == {"detail": "No certificate has this serial number."}


def test_unknown_serials_get_the_same_verification_page(world, settings, client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "certificate_verify": None,
        },
    }
    pages = set()
    for serial in _random_serials(100):
        response = client.get(f"/verify/{serial}/")
        assert response.status_code == 404
        page = response.content.decode()
        # The layout's language switcher carries the address and a fresh CSRF token; the
        # answer itself never names the serial.
        pages.add(_without_csrf_and_next(page))

    assert len(pages) == 1
    assert 'data-testid="not-found"' in pages.pop()


def _without_csrf_and_next(page: str) -> str:
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return re.sub(r'name="next" type="hidden" value="[^"]*"', "", page)


def test_verification_is_rate_limited(world, settings, api_client, client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "certificate_verify": "3/min",
        },
    }

    statuses = [api_client.get(f"/api/v1/certificates/verify/x{n}/").status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert client.get("/verify/anything/").status_code == 429


def test_the_signing_key_is_published(api_client, world, django_capture_on_commit_callbacks):
    certificate = issue(world, django_capture_on_commit_callbacks)

    body = api_client.get("/api/v1/certificates/signing-key/").json()

    assert body["algorithm"] == "Ed25519"
    assert body["key_id"] == certificate.key_id
    assert "BEGIN PUBLIC KEY" in body["pem"]
    key = public_key_from_text(body["public_key"])
    key.verify(base64.b64decode(certificate.signature), canonical_bytes(certificate.content))


# --- The learner's API and pages ----------------------------------------------------------------


def test_the_learner_requests_and_downloads_a_certificate_over_the_api(
    world, api_client, django_capture_on_commit_callbacks
):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/certificates/",
            {"kind": "hours_certificate", "period_from": "2024-01-01", "period_to": "2024-12-31"},
            format="json",
        )

    assert response.status_code == 202, response.content
    serial = response.json()["serial"]
    listed = api_client.get("/api/v1/certificates/").json()
    assert [c["serial"] for c in listed] == [serial]
    assert listed[0]["state"] == "issued"  # tasks run eagerly in tests
    pdf = api_client.get(f"/api/v1/certificates/{serial}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert "李爱丽" in pdf_text(b"".join(pdf.streaming_content))
    credential = api_client.get(f"/api/v1/certificates/{serial}/credential.json")
    assert credential.json()["proof"]["cryptosuite"] == "eddsa-rdfc-2022"


def test_a_bad_request_gets_field_errors_and_makes_nothing(world, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    future = (datetime.date.today() + datetime.timedelta(days=40)).isoformat()

    no_period = api_client.post(
        "/api/v1/certificates/", {"kind": "hours_certificate"}, format="json"
    )
    backwards = api_client.post(
        "/api/v1/certificates/",
        {"kind": "hours_certificate", "period_from": "2024-05-01", "period_to": "2024-01-01"},
        format="json",
    )
    in_future = api_client.post(
        "/api/v1/certificates/",
        {"kind": "hours_certificate", "period_from": "2024-05-01", "period_to": future},
        format="json",
    )
    bad_disclose = api_client.post(
        "/api/v1/certificates/", {"kind": "transcript", "disclose": ["password"]}, format="json"
    )
    bad_kind = api_client.post("/api/v1/certificates/", {"kind": "diploma"}, format="json")

    assert no_period.status_code == 400
    assert set(no_period.json()) == {"period_from", "period_to"}
    assert "period_to" in backwards.json()
    assert "period_to" in in_future.json()
    # Issue 22: an item of a list is keyed by its path (it was {"disclose": {"0": [...]}}).
    assert list(bad_disclose.json()) == ["disclose[0]"]
    assert "kind" in bad_kind.json()
    assert Certificate.objects.count() == 0


def test_the_api_refuses_an_hours_certificate_of_a_period_with_nothing_accredited(
    world, api_client
):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))

    empty = api_client.post(
        "/api/v1/certificates/",
        {"kind": "hours_certificate", "period_from": "2025-01-01", "period_to": "2025-06-30"},
        format="json",
    )

    assert empty.status_code == 400
    assert set(empty.json()) == {"period_from", "period_to"}
    assert Certificate.objects.count() == 0


def test_the_page_refuses_an_hours_certificate_of_a_period_with_nothing_accredited(world, client):
    client.force_login(world["account"].holder)

    response = client.post(
        "/certificates/",
        {"kind": "hours_certificate", "period_from": "2025-01-01", "period_to": "2025-06-30"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "这段时间内没有经认定的学习" in page
    assert "0.0 学时" not in page
    assert Certificate.objects.count() == 0


def test_only_the_owner_downloads_a_certificate(
    world, django_capture_on_commit_callbacks, api_client, client
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    other = UserFactory(username="bob", name="王博", role=Role.LEARNER)
    PersonalAccountFactory(holder=other)

    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "bob"))
    for suffix in ("", "pdf/", "credential.json"):
        assert (
            api_client.get(f"/api/v1/certificates/{certificate.serial}/{suffix}").status_code == 404
        )
    client.force_login(other)
    assert client.get(f"/certificates/{certificate.serial}/pdf/").status_code == 404
    assert client.get(f"/certificates/{certificate.serial}/credential.json").status_code == 404
    client.logout()
    assert client.get(f"/certificates/{certificate.serial}/pdf/").status_code == 302
    anonymous = api_client.__class__()
    assert anonymous.get(f"/api/v1/certificates/{certificate.serial}/pdf/").status_code in (
        401,
        403,
    )

    client.force_login(world["account"].holder)
    own = client.get(f"/certificates/{certificate.serial}/pdf/")
    assert own.status_code == 200
    assert b"".join(own.streaming_content).startswith(b"%PDF")


def test_the_certificates_page_in_english_and_chinese(
    world, client, django_capture_on_commit_callbacks
):
    client.force_login(world["account"].holder)

    chinese = client.get("/certificates/")
    assert chinese.status_code == 200
    assert chinese["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in chinese.content.decode()

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/certificates/",
            {
                "kind": "hours_certificate",
                "period_from": "2024-01-01",
                "period_to": "2024-12-31",
                "disclose": ["name"],
            },
        )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "My certificates" in page
    assert "is being prepared" in page
    certificate = Certificate.objects.get()
    assert certificate.serial in page
    assert f"/certificates/{certificate.serial}/pdf/" in page  # issued by the eager worker


def test_the_request_form_shows_errors_beside_the_fields(world, client):
    client.force_login(world["account"].holder)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    response = client.post("/certificates/", {"kind": "hours_certificate", "period_from": ""})

    assert response.status_code == 400
    assert "Give the first day of the period." in response.content.decode()
    assert Certificate.objects.count() == 0


def test_amounts_on_the_certificate_are_the_decisions(world, django_capture_on_commit_callbacks):
    certificate = issue(world, django_capture_on_commit_callbacks)
    decision = Decision.objects.get()

    assert Decimal(content_of(certificate)["totals"]["hours"]) == decision.hours
    assert Decimal(content_of(certificate)["items"][0]["credits"]) == decision.credits


@pytest.mark.slow
def test_production_refuses_to_start_without_a_signing_key():
    from tests.processes import PRODUCTION_ENV, manage

    result = manage("check", **{**PRODUCTION_ENV, "CERTIFICATE_SIGNING_KEY": ""})

    assert result.returncode != 0
    assert "CERTIFICATE_SIGNING_KEY is required in production" in result.stderr


def test_a_request_whose_render_task_was_lost_is_issued_once_by_the_periodic_resend(
    world, api_client, monkeypatch, settings, django_capture_on_commit_callbacks
):
    def broker_down(**kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    with monkeypatch.context() as broken:
        broken.setattr(render_certificate, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(
                "/api/v1/certificates/", {"kind": "transcript"}, format="json"
            )
    # The request is taken although its task could not be queued.
    assert response.status_code == 202, response.content
    certificate = Certificate.objects.get()
    assert certificate.state == Certificate.State.REQUESTED
    assert certificates_resend_stale() == 0  # its first task may still be on its way

    later = timezone.now() + datetime.timedelta(seconds=settings.STALE_REQUEST_SECONDS + 1)
    assert certificates_resend_stale(now=later) == 1
    assert certificates_resend_stale(now=later) == 0

    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED
    assert len(stored_files()) == 1
    assert Notification.objects.filter(kind=Notification.Kind.CERTIFICATE_READY).count() == 1
