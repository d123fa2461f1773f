"""The credentials checked by a verifier the bank did not write: Digital Bazaar's stock
``@digitalbazaar/vc`` with the ``eddsa-rdfc-2022`` cryptosuite (tests/vc-verifier, a pinned,
locked npm project), offline, given only the credential and the bank's DID document as
the portal serves them."""

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
    bundle = {"credential": credential, "documents": documents}
    done = subprocess.run(
        [node, "verify.mjs"],
        cwd=VERIFIER,
        input=json.dumps(bundle),
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


def issued_credential(api_client, capture) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A credential issued through the portal's API, as downloaded, and the DID document the
    portal serves."""
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    with capture(execute=True):
        response = api_client.post(
            "/api/v1/certificates/",
            {"kind": "hours_certificate", "period_from": "2024-01-01", "period_to": "2024-12-31"},
            format="json",
        )
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

    # One byte changed: the learner's credits.
    text = json.dumps(credential, ensure_ascii=False)
    figure = f'"credits": "{credential["credentialSubject"]["credits"]}"'
    assert text.count(figure) == 1
    forged_figure = figure[:-2] + ("1" if figure[-2] != "1" else "2") + '"'
    forged = json.loads(text.replace(figure, forged_figure))
    assert js_verify(node, forged, did_document, status_list)["verified"] is False
    assert signed_document_check(json.dumps(forged).encode()).genuine is False
    assert signed_document_check(json.dumps(credential).encode()).genuine is True


def test_a_credential_resaved_by_javascript_still_verifies_everywhere(
    certificate_world, api_client, django_capture_on_commit_callbacks, node, tmp_path
):
    _serial, credential, did_document = issued_credential(
        api_client, django_capture_on_commit_callbacks
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


def test_a_revoked_credential_fails_the_stock_status_check(
    certificate_world, api_client, django_capture_on_commit_callbacks, node, centre_admin
):
    _serial, credential, did_document = issued_credential(
        api_client, django_capture_on_commit_callbacks
    )
    Revocation.objects.create(
        decision=certificate_world["decision"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造",
        revoked_by=centre_admin,
        revoked_at=timezone.now(),
    )

    verdict = js_verify(node, credential, did_document, status_list_of(api_client, credential))
    assert verdict["verified"] is False
    assert any(error.startswith("status:") for error in verdict["errors"]), verdict


def test_the_portals_vendored_contexts_are_the_standard_ones(node):
    """The contexts the portal canonicalizes with are those the stock verifier ships."""
    packaged = VERIFIER / "node_modules" / "@digitalbazaar" / "credentials-context" / "contexts"
    vendored = Path(__file__).resolve().parents[2] / "transfers" / "certificates" / "contexts"
    for ours, theirs in [
        ("credentials-v2.jsonld", "v2.jsonld"),
        ("credentials-undefined-terms-v2.jsonld", "undefined-terms-v2.jsonld"),
    ]:
        assert json.loads((vendored / ours).read_text()) == json.loads(
            (packaged / theirs).read_text()
        )
