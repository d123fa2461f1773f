"""Issue 23, done when: two banks on one machine (two databases, two keys, two gunicorns). A
learner's accredited outcome at bank A is recognised at bank B through an agreement, over B's
API, with its provenance on B's file and ledger pages; a record from a bank B does not trust,
a tampered one and a second import are refused; A's revocation is reversed at B by B's status
check. One pair of banks serves every test of the module (starting them is the slow part), so
the tests run in the order written and each builds on the one before."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.db import connection

from tests.people import PASSWORD
from tests.processes import start, stop
from tests.transfers.test_two_portals import REVOKE_AT_A, WORLD_AT_A
from tests.transfers.two_portals import Portal, two_portals

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.portals]

# At B: the management centre and its admin, our principal entry (VQ-JY-001), and 李爱丽's new
# personal account here. A is not on B's trust list yet.
WORLD_AT_B = """
from accounts.identity.crypto import encrypt
from tests.accounts.factories import ManagementCentreFactory, PersonalAccountFactory, UserFactory
from tests.accreditation.factories import principal_entry_publish

ManagementCentreFactory()
manager = UserFactory(username="mona.b", name="孟管理", role="management_admin", is_staff=True)
principal_entry_publish(manager)
# The same person as at A: her identity number binds the record to her (with its claim code).
PersonalAccountFactory(
    holder=UserFactory(username="alice.b", name="李爱丽", role="learner"),
    id_number_encrypted=encrypt("50010319900101123X"),
)
"""

# At B: A on the trust list with the did.json it publishes (stdin), and an agreement: A's
# CQ-ZG-001 versions 1-2 count here as VQ-JY-001 with 100 hours and 3 credits.
TRUST_A_AT_B = """
import json, sys
from accounts.models import User
from accreditation import services
from tests.accreditation.recognition_fixtures import agreement_publish

manager = User.objects.get(username="mona.b")
document = json.loads(sys.stdin.read())
bank = services.trusted_bank_add(
    name="甲学分银行", issuer=document["id"], key_document=document, reason="川渝互认协议",
    actor=manager,
)
version = agreement_publish(manager, bank=bank, origin_code="CQ-ZG-001", version_to="2")
print(json.dumps({"agreement_version": version.version}))
"""

STATUS_CHECK_AT_B = """
import json
from transfers.tasks import check_recognised_decisions
print("REPORT " + json.dumps(check_recognised_decisions()))
"""


def status_check(bank: Portal) -> dict[str, int]:
    """B's periodic task, run once in B's settings: its report."""
    output = bank.run(STATUS_CHECK_AT_B)
    report: dict[str, int] = json.loads(output.rpartition("REPORT ")[2])
    return report


def token(bank: Portal, username: str) -> str:
    answer = bank.post("/api/v1/auth/token/", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def signed_in(bank: Portal, username: str) -> requests.Session:
    """A browser-like session signed in on ``bank``'s login page."""
    session = requests.Session()
    session.get(bank.url + "/login/", timeout=30)
    answer = session.post(
        bank.url + "/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": bank.url + "/login/"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[-2000:]
    assert "/login/" not in answer.url
    return session


@pytest.fixture(scope="module")
def banks(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    with two_portals(tmp_path_factory.mktemp("banks")) as (a, b):
        decision = json.loads(a.run(WORLD_AT_A))["decision"]
        b.run(WORLD_AT_B)
        # 李爱丽 asks A for her transfer record over A's API.
        auth = {"Authorization": "Token " + token(a, "alice.a")}
        asked = a.post("/api/v1/certificates/", json={"kind": "transfer_record"}, headers=auth)
        assert asked.status_code == 202, asked.text
        row = a.get(f"/api/v1/certificates/{asked.json()['serial']}/", headers=auth).json()
        assert row["state"] == "issued", row
        record = a.get(row["record_url"].removeprefix(a.url)).content
        yield {
            "a": a,
            "b": b,
            "decision": decision,
            "record": record,
            "record_url": row["record_url"],
            # Shown to her only, beside the address (A's certificates page and API row).
            "claim_code": row["claim_code"],
            "b_auth": {"Authorization": "Token " + token(b, "alice.b"), "Accept-Language": "en"},
            "state": {},
        }


def upload(banks: dict[str, Any], record: bytes) -> requests.Response:
    b: Portal = banks["b"]
    return b.post(
        "/api/v1/recognitions/",
        files={"file": ("record.json", record, "application/json")},
        data={"claim_code": banks["claim_code"]},
        headers=banks["b_auth"],
    )


def test_a_record_from_a_bank_b_does_not_trust_is_refused(banks):
    refused = upload(banks, banks["record"])
    assert refused.status_code == 400, refused.text
    assert refused.json() == {"file": ["The issuer of the record is not on the trust list."]}


def test_once_b_trusts_a_a_tampered_record_is_refused(banks):
    a, b = banks["a"], banks["b"]
    trusted = json.loads(b.run(TRUST_A_AT_B, stdin=a.get("/.well-known/did.json").text))
    banks["state"]["agreement_version"] = trusted["agreement_version"]
    tampered = banks["record"].replace(b'"120.0"', b'"920.0"', 1)
    assert tampered != banks["record"]
    refused = upload(banks, tampered)
    assert refused.status_code == 400
    assert refused.json() == {
        "file": ["The record has been changed since the issuing bank signed it."]
    }


def test_b_recognises_the_record_by_its_address_with_its_provenance(banks):
    a, b = banks["a"], banks["b"]
    # The address alone is not enough: without its claim code (shown only to her at A) or
    # with another, B refuses it and books nothing.
    for wrong in ("", "0000-0000-0000-0000"):
        refused = b.post(
            "/api/v1/recognitions/",
            json={"url": banks["record_url"], "claim_code": wrong},
            headers=banks["b_auth"],
        )
        assert refused.status_code == 400, refused.text
        assert list(refused.json()) == ["claim_code"]
    answer = b.post(
        "/api/v1/recognitions/",
        json={"url": banks["record_url"], "claim_code": banks["claim_code"]},
        headers={**banks["b_auth"], "Idempotency-Key": "bring-1"},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["issuer_name"] == "甲学分银行"
    [recognised] = body["recognised"]
    a_did = a.get("/.well-known/did.json").json()["id"]
    assert recognised["origin_issuer"] == a_did
    assert recognised["origin_bank"] == "甲学分银行"
    assert recognised["origin_decision_id"] == str(banks["decision"])
    assert recognised["origin_centre"] == "渝中区认证分中心"
    assert (recognised["origin_entry_code"], recognised["origin_entry_version"]) == (
        "CQ-ZG-001",
        "1",
    )
    assert recognised["agreement_version"] == banks["state"]["agreement_version"]
    assert (recognised["hours"], recognised["credits"]) == ("100.0", "3.0")
    me = b.get("/api/v1/accounts/me/", headers=banks["b_auth"]).json()
    assert (me["hours"], me["credits"]) == ("100.0", "3.0")


def test_the_provenance_shows_on_bs_file_and_ledger_pages(banks):
    b = banks["b"]
    session = signed_in(b, "alice.b")
    for path in ("/file/", "/file/statement/"):
        page = session.get(b.url + path, timeout=30)
        assert page.status_code == 200, path
        shown = re.sub(r"\s+", " ", page.text)
        assert "互认自甲学分银行（渝中区认证分中心" in shown, path
        assert f"原决定 {banks['decision']}，对方条目 CQ-ZG-001 第 1 版" in shown, path
        assert f"协议 CQ-ZG-001 第 {banks['state']['agreement_version']} 版" in shown, path


def test_a_second_import_of_the_same_record_is_refused(banks):
    again = upload(banks, banks["record"])
    assert again.status_code == 400
    assert "already been recognised" in again.json()["file"][0]


def test_a_revocation_at_a_is_reversed_at_b_by_bs_status_check(banks):
    a, b = banks["a"], banks["b"]
    # Before A revokes: B's check reads A's lists and reverses nothing.
    assert status_check(b)["reversed"] == 0
    a.run(REVOKE_AT_A, stdin=str(banks["decision"]))
    # B's beat and a real worker of B's, the check every second: the reversal arrives.
    env = {**b.env, "RECOGNITION_STATUS_CHECK_INTERVAL_SECONDS": "1"}
    log = b.log.parent
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", "check@%h"],
        env,
        log / "worker.log",
    )
    beat = start(["beat", "--loglevel", "INFO"], env, log / "beat.log")
    try:
        deadline = time.monotonic() + 90
        me = b.get("/api/v1/accounts/me/", headers=banks["b_auth"]).json()
        while me["hours"] != "0.0" and time.monotonic() < deadline:
            time.sleep(0.5)
            me = b.get("/api/v1/accounts/me/", headers=banks["b_auth"]).json()
    finally:
        stop(beat, worker)
    logs = (log / "worker.log").read_text()[-3000:] + (log / "beat.log").read_text()[-2000:]
    assert (me["hours"], me["credits"]) == ("0.0", "0.0"), logs
    assert "check_recognised_decisions" in logs
    ledger = b.get("/api/v1/accounts/me/ledger/", headers=banks["b_auth"]).json()
    entries = ledger["results"] if isinstance(ledger, dict) else ledger
    assert len(entries) == 2, entries  # the recognition and its reversal
    # Run again: nothing more to reverse.
    assert status_check(b)["reversed"] == 0
