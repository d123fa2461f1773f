"""The learner's recognition flow and the periodic status check (issue 23, part 3), in one
bank that trusts itself: its own record stands for another bank's (the two-bank run is in
test_two_portals.py). Status lists and addresses are read through ``outbound_get``, served
here by the test client."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from accounts.models import LedgerEntry, Notification
from accounts.services import OutboundFetchFailed, account_totals
from accreditation import services as accreditation
from accreditation.models import Decision, Recognition, Revocation
from outcomes.models import EvidenceFile, LearningOutcome
from tests.accounts.factories import ManagementCentreFactory
from tests.accreditation.factories import principal_entry_publish
from tests.accreditation.recognition_fixtures import agreement_publish
from tests.people import token_for
from tests.transfers.test_transfer_records import request_record
from transfers import recognitions
from transfers.certificates.linked_data import controller_document, issuer_did
from transfers.models import Certificate, OriginStatusList
from transfers.recognitions import recognised_statuses_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(monkeypatch, client):
    """``outbound_get`` answered by this portal's own pages (by path), as another bank would;
    the addresses asked for are listed."""
    asked: list[str] = []

    def fetch(*, url: str, max_bytes: int, seconds: float, **_: Any) -> bytes:
        asked.append(url)
        # A nested request activates its own language: keep the caller's.
        with translation.override(translation.get_language()):
            response = client.get(urlsplit(url).path)
        if response.status_code != 200:
            raise OutboundFetchFailed("unreachable", "status")
        return bytes(response.content)

    monkeypatch.setattr(recognitions, "outbound_get", fetch)
    return asked


@pytest.fixture
def world(certificate_world, management_admin, api_client, django_capture_on_commit_callbacks):
    """李爱丽's transfer record (her principal certificate, CQ-ZG-001 version 1, 120 h, 6
    credits), this bank on its own trust list, and an agreement: CQ-ZG-001 versions 1–2 count
    here as VQ-JY-001 with 100 hours and 3 credits."""
    ManagementCentreFactory()
    row = request_record(api_client, django_capture_on_commit_callbacks)
    record = api_client.get(urlsplit(row["record_url"]).path).content
    bank = accreditation.trusted_bank_add(
        name="甲学分银行",
        issuer=issuer_did(),
        key_document=controller_document(),
        reason="互认协议",
        actor=management_admin,
    )
    principal_entry_publish(management_admin)
    agreement = agreement_publish(
        management_admin, bank=bank, origin_code="CQ-ZG-001", version_from="1", version_to="2"
    )
    return {**certificate_world, "record": record, "row": row, "agreement": agreement}


def code_of(record: bytes) -> str:
    """The claim code its holder was shown beside ``record`` (its certificate's, found by the
    serial its id names); a well-formed code of nobody's for a record that names none."""
    try:
        serial = json.loads(record)["id"].rstrip("/").rpartition("/")[2]
        return Certificate.objects.get(serial=serial).claim_code
    except (ValueError, KeyError, AttributeError, Certificate.DoesNotExist):
        return "ZZZZ-ZZZZ-ZZZZ-ZZZZ"


def post_record(
    api_client,
    record: bytes,
    *,
    key: str | None = None,
    name="record.json",
    code: str | None = None,
):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api_client.post(
        "/api/v1/recognitions/",
        {
            "file": SimpleUploadedFile(name, record, content_type="application/json"),
            "claim_code": code_of(record) if code is None else code,
        },
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
        **headers,
    )


def written() -> dict[str, Any]:
    return {
        "decisions": Decision.objects.count(),
        "outcomes": LearningOutcome.objects.count(),
        "evidence": EvidenceFile.objects.count(),
        "claims": Recognition.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "files": sorted(default_storage.listdir("evidence")[1])
        if default_storage.exists("evidence")
        else [],
    }


def test_an_uploaded_record_is_recognised_with_its_provenance_and_its_hours_in_the_ledger(
    world, served, api_client
):
    before = account_totals(account=world["account"])
    response = post_record(api_client, world["record"], key="r-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["issuer_name"]
    [recognised] = body["recognised"]
    assert recognised["origin_issuer"] == issuer_did()
    assert recognised["origin_decision_id"] == str(world["decision"].pk)
    assert recognised["origin_entry_code"] == "CQ-ZG-001"
    assert recognised["origin_entry_version"] == "1"
    assert recognised["agreement_code"] == "CQ-ZG-001"
    assert recognised["agreement_version"] == world["agreement"].version
    assert (recognised["hours"], recognised["credits"]) == ("100.0", "3.0")
    assert body["saved"] == []
    assert body["revoked"] == []
    after = account_totals(account=world["account"])
    assert after[0] - before[0] == Decimal("100")
    # The status list of the entry was read (through the safe fetch), once.
    # The status lists (the record's own and its decisions'), each read once.
    assert sorted(urlsplit(url).path for url in served) == [
        "/credentials/status/0",
        "/credentials/status/decisions/0",
    ]
    decision = Decision.objects.get(pk=recognised["decision"])
    assert decision.basis == Decision.Basis.RECOGNITION
    assert decision.application.outcome.evidence.get().content_type == "application/ld+json"
    # The same key again: the stored answer, nothing new.
    replay = post_record(api_client, world["record"], key="r-1")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert Decision.objects.filter(basis=Decision.Basis.RECOGNITION).count() == 1


def test_a_second_import_of_the_same_record_is_refused_and_writes_nothing(
    world, served, api_client
):
    assert post_record(api_client, world["record"]).status_code == 201
    before = written()
    again = post_record(api_client, world["record"])
    assert again.status_code == 400
    assert list(again.json()) == ["file"]
    assert "already been recognised" in again.json()["file"][0]
    assert written() == before


def test_a_tampered_an_untrusted_and_a_malformed_record_are_refused_under_the_field(
    world, served, api_client, management_admin
):
    before = written()
    tampered = world["record"].replace(b'"120.0"', b'"920.0"', 1)
    assert tampered != world["record"]
    refused = post_record(api_client, tampered)
    assert refused.status_code == 400
    assert refused.json() == {
        "file": ["The record has been changed since the issuing bank signed it."]
    }
    garbage = post_record(api_client, b"{not json")
    assert garbage.status_code == 400
    assert list(garbage.json()) == ["file"]
    bank = accreditation.trusted_bank_for_issuer(issuer=issuer_did())
    assert bank is not None
    accreditation.trusted_bank_remove(bank=bank, reason="协议终止", actor=management_admin)
    untrusted = post_record(api_client, world["record"])
    assert untrusted.status_code == 400
    assert untrusted.json() == {"file": ["The issuer of the record is not on the trust list."]}
    assert written() == before


def test_a_record_by_its_address_is_read_through_the_safe_fetch(world, served, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    response = api_client.post(
        "/api/v1/recognitions/",
        {"url": world["row"]["record_url"], "claim_code": world["row"]["claim_code"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert served[0] == world["row"]["record_url"]
    assert len(response.json()["recognised"]) == 1


def test_an_address_inside_the_bank_network_or_none_at_all_is_refused(world, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    for url in ("https://10.0.0.7/record.json", "http://169.254.169.254/latest/meta-data/"):
        refused = api_client.post(
            "/api/v1/recognitions/",
            {"url": url, "claim_code": world["row"]["claim_code"]},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert refused.status_code == 400, url
        assert list(refused.json()) == ["url"], refused.json()
    neither = api_client.post(
        "/api/v1/recognitions/", {"claim_code": world["row"]["claim_code"]}, format="json"
    )
    assert neither.status_code == 400
    assert list(neither.json()) == ["file"]
    nothing = api_client.post("/api/v1/recognitions/", {}, format="json")
    assert nothing.status_code == 400
    assert list(nothing.json()) == ["claim_code"]


def test_an_outcome_the_origin_revoked_is_not_recognised_and_the_result_says_so(
    world, served, api_client, django_capture_on_commit_callbacks
):
    # A second accreditation, made into the record; then the first is revoked at the origin.
    from tests.accounts.factories import CentreFactory, UserFactory
    from tests.accreditation.factories import accredited_outcome, catalogue_version

    second = catalogue_version(code="CQ-JS-002", name="幼儿园教师资格证书")
    accredited_outcome(
        world["account"], second, UserFactory(role="centre_reviewer", centre=CentreFactory())
    )
    row = request_record(api_client, django_capture_on_commit_callbacks)
    record = api_client.get(urlsplit(row["record_url"]).path).content
    accreditation.accreditation_revoke_by_origin(decision=world["decision"], reason="证书系伪造")
    response = post_record(api_client, record)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recognised"] == []  # no agreement covers CQ-JS-002
    [saved] = body["saved"]
    assert saved["title"] == "幼儿园教师资格证书"
    [revoked] = body["revoked"]
    assert revoked["entry_code"] == "CQ-ZG-001"
    assert revoked["origin_decision_id"] == str(world["decision"].pk)


def origin_revoke(world) -> None:
    """The origin (this same bank, standing for A) revokes the decision that was recognised."""
    accreditation.accreditation_revoke_by_origin(decision=world["decision"], reason="证书系伪造")


def test_the_status_check_reverses_what_the_origin_revoked_once_and_tells_the_learner(
    world, served, api_client
):
    recognised = post_record(api_client, world["record"]).json()["recognised"][0]
    hours_before = account_totals(account=world["account"])[0]
    # Nothing revoked yet: the list is read, nothing reversed, the check recorded.
    report = recognised_statuses_check()
    assert (report.lists_read, report.reversed) == (1, 0)
    row = OriginStatusList.objects.get()
    assert row.last_read_at is not None
    assert row.last_error == ""
    origin_revoke(world)
    reversed_hours = account_totals(account=world["account"])[0]
    assert hours_before - reversed_hours == Decimal("120")  # the origin's own, at "A"
    report = recognised_statuses_check()
    assert report.reversed == 1
    decision = Decision.objects.get(pk=recognised["decision"])
    revocation = Revocation.objects.get(decision=decision)
    assert revocation.reason_code == Revocation.ReasonCode.CERTIFICATE_CANCELLED
    assert hours_before - account_totals(account=world["account"])[0] == Decimal("220")
    told = Notification.objects.filter(
        recipient=world["account"].holder, kind=Notification.Kind.ACCREDITATION_REVOKED
    )
    assert told.count() == 2  # the origin's own revocation, then the reversal here
    # Nothing left to check: a second run reverses nothing more.
    assert recognised_statuses_check().reversed == 0
    assert Revocation.objects.filter(decision=decision).count() == 1


def test_an_unreachable_origin_is_retried_later_and_never_taken_for_a_revocation(
    world, served, api_client, monkeypatch
):
    post_record(api_client, world["record"])
    origin_revoke(world)

    def down(*, url: str, max_bytes: int, seconds: float, **_: Any) -> bytes:
        raise OutboundFetchFailed("The address could not be reached.", "unreachable")

    monkeypatch.setattr(recognitions, "outbound_get", down)
    report = recognised_statuses_check()
    assert (report.lists_failed, report.reversed) == (1, 0)
    row = OriginStatusList.objects.get()
    assert row.failures == 1
    assert row.last_error
    assert row.last_checked_at is not None
    assert row.next_check_at is not None
    assert row.next_check_at > timezone.now()
    assert Revocation.objects.filter(decision__basis=Decision.Basis.RECOGNITION).count() == 0
    # Not due again before its retry time: skipped.
    assert recognised_statuses_check().lists_skipped == 1
    # Due again and reachable: reversed.
    OriginStatusList.objects.update(next_check_at=timezone.now())
    monkeypatch.undo()
    monkeypatch.setattr(recognitions, "outbound_get", served_fetch(api_client))
    assert recognised_statuses_check().reversed == 1


def served_fetch(client):
    def fetch(*, url: str, max_bytes: int, seconds: float, **_: Any) -> bytes:
        return bytes(client.get(urlsplit(url).path).content)

    return fetch


def test_a_list_another_worker_holds_is_left_to_it(world, served, api_client):
    post_record(api_client, world["record"])
    origin_revoke(world)
    url = Decision.objects.get(basis=Decision.Basis.RECOGNITION).origin_status_list
    now = timezone.now()
    assert recognitions._claim(url, now) is not None
    # The second worker, while the first holds the list: nothing read, nothing reversed.
    report = recognised_statuses_check()
    assert (report.lists_skipped, report.reversed) == (1, 0)


def test_the_learner_uploads_a_record_on_the_page_and_sees_what_was_recognised(
    world, served, client
):
    client.force_login(world["account"].holder)
    page = client.get("/recognitions/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    refused = client.post(
        "/recognitions/",
        {
            "file": SimpleUploadedFile(
                "r.json", world["record"].replace(b'"120.0"', b'"920.0"', 1)
            ),
            "claim_code": world["row"]["claim_code"],
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 400
    # Next to the field, in the learner's language (Chinese).
    assert "记录在签发银行签名后已被改动。" in refused.content.decode()
    no_code = client.post("/recognitions/", {"file": SimpleUploadedFile("r.json", world["record"])})
    assert no_code.status_code == 400
    assert not Decision.objects.filter(basis=Decision.Basis.RECOGNITION).exists()
    done = client.post(
        "/recognitions/",
        {
            "file": SimpleUploadedFile("r.json", world["record"]),
            "claim_code": world["row"]["claim_code"].lower(),
        },
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    html = done.content.decode()
    assert 'data-testid="recognition-result"' in html
    assert f"原决定 {world['decision'].pk}，对方条目 CQ-ZG-001 第 1 版" in html
    assert f"协议 CQ-ZG-001 第 {world['agreement'].version} 版" in html
    assert "100.0" in html
    # Shown once: the page after is the form again.
    assert 'data-testid="recognition-result"' not in client.get("/recognitions/").content.decode()


def test_beat_runs_the_status_check_hourly_and_the_worker_knows_the_task():
    from django.conf import settings

    from creditbank.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["check-recognised-decisions"]
    assert entry["task"] == "transfers.tasks.check_recognised_decisions"
    assert entry["schedule"] == 3600
    app.loader.import_default_modules()
    assert app.tasks[entry["task"]].name == entry["task"]


def test_a_record_is_recognised_for_the_person_it_binds_whatever_the_name_shown(
    world, served, api_client, django_capture_on_commit_callbacks
):
    from tests.people import RESIDENT, learner_register

    # Someone of the very same name but another identity number is another person.
    namesake = learner_register("李爱丽", RESIDENT, "13912345678")
    api_client.force_authenticate(namesake.holder)
    refused = api_client.post(
        "/api/v1/recognitions/",
        {
            "file": SimpleUploadedFile("r.json", world["record"], content_type="application/json"),
            "claim_code": world["row"]["claim_code"],
        },
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "claim_code": ["The record and this code do not belong to your account."]
    }
    assert not Decision.objects.filter(basis=Decision.Basis.RECOGNITION).exists()
    api_client.force_authenticate(None)
    # Her own record with a wrong code, or none: refused alike, nothing written.
    before = written()
    for wrong in ("0000-0000-0000-0000", "not a code", ""):
        if wrong == world["row"]["claim_code"]:
            continue
        response = post_record(api_client, world["record"], code=wrong)
        assert response.status_code == 400, wrong
        assert list(response.json()) == ["claim_code"], response.json()
    assert written() == before
    # A record that hides the name still names its holder (by her hashed identity): hers.
    row = request_record(api_client, django_capture_on_commit_callbacks, disclose=["items"])
    nameless = api_client.get(urlsplit(row["record_url"]).path).content
    assert "李爱丽" not in nameless.decode()
    accepted = post_record(api_client, nameless)
    assert accepted.status_code == 201, accepted.content
    assert Decision.objects.filter(basis=Decision.Basis.RECOGNITION).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_checking_at_once_reverse_a_revoked_decision_once(
    postgres, world, served, api_client, monkeypatch
):
    import threading

    from django.db import connection

    post_record(api_client, world["record"])
    origin_revoke(world)
    url = Decision.objects.get(basis=Decision.Basis.RECOGNITION).origin_status_list
    status_list = api_client.get(urlsplit(url).path).content

    one_done = threading.Event()

    def slow_fetch(*, url: str, max_bytes: int, seconds: float, **_: Any) -> bytes:
        # The worker that holds the list reads it only once the other has given up on it (or,
        # were there no claim, after 5 s with both reading it).
        one_done.wait(timeout=5)
        return bytes(status_list)

    monkeypatch.setattr(recognitions, "outbound_get", slow_fetch)
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(recognised_statuses_check())
            one_done.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.reversed for r in reports) == 1
    assert sum(r.lists_skipped for r in reports) == 1
    assert Revocation.objects.filter(decision__basis=Decision.Basis.RECOGNITION).count() == 1


def test_bringing_records_is_throttled_per_learner_on_the_api_and_the_page_together(
    world, served, api_client, client, monkeypatch
):
    rates = {"recognition": "2/hour"}
    monkeypatch.setattr("rest_framework.settings.api_settings.DEFAULT_THROTTLE_RATES", rates)
    assert post_record(api_client, b"{}").status_code == 400  # counted, refused as malformed
    client.force_login(world["account"].holder)
    page = client.post(
        "/recognitions/",
        {"file": SimpleUploadedFile("r.json", b"{}"), "claim_code": world["row"]["claim_code"]},
    )
    assert page.status_code == 400
    before = written()
    # The third, on either, is refused before the record is read: nothing written.
    assert post_record(api_client, world["record"]).status_code == 429
    third = client.post(
        "/recognitions/",
        {
            "file": SimpleUploadedFile("r.json", world["record"]),
            "claim_code": world["row"]["claim_code"],
        },
    )
    assert third.status_code == 429
    assert "您在短时间内提交了过多记录，请稍后再试。" in third.content.decode()
    assert written() == before


def test_an_address_on_loopback_is_not_read_unless_recognition_allows_it(
    world, api_client, settings, monkeypatch
):
    # Outside production the webhooks may call loopback; a learner's address may not.
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.RECOGNITION_ALLOW_LOCAL_HTTP = False
    asked: list[bool] = []
    real = recognitions.outbound_get

    def spy(**kwargs: Any) -> bytes:
        asked.append(kwargs["allow_local_http"])
        return real(**kwargs)

    monkeypatch.setattr(recognitions, "outbound_get", spy)
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    refused = api_client.post(
        "/api/v1/recognitions/",
        {"url": "http://127.0.0.1:9/record.json", "claim_code": world["row"]["claim_code"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 400
    assert asked == [False]
    assert "could not be reached" not in refused.json()["url"][0]


def test_refusals_keep_their_codes():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        recognitions.recognition_import(account=None, actor=None, url="", claim_code="x")  # type: ignore[arg-type]
    assert refused.value.error_dict["file"][0].code == "required"
    with pytest.raises(ValidationError) as refused:
        recognitions.recognition_import(
            account=None,  # type: ignore[arg-type]
            actor=None,  # type: ignore[arg-type]
            url="https://example.org/r.json",
            claim_code="",
        )
    assert refused.value.error_dict["claim_code"][0].code == "required"


def test_the_imports_fetches_share_one_deadline(world, api_client, settings, monkeypatch):
    settings.RECOGNITION_IMPORT_SECONDS = 0.05
    given: list[float] = []

    def slow(*, url: str, max_bytes: int, seconds: float, **_: Any) -> bytes:
        given.append(seconds)
        import time

        time.sleep(0.1)
        if "/credentials/records/" in url:
            return bytes(world["record"])
        return bytes(api_client.get(urlsplit(url).path).content)

    monkeypatch.setattr(recognitions, "outbound_get", slow)
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))
    refused = api_client.post(
        "/api/v1/recognitions/",
        {"url": world["row"]["record_url"], "claim_code": world["row"]["claim_code"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 400
    # The record was read within the deadline; no status list was fetched after it had passed.
    assert len(given) == 1
    assert given[0] <= 0.05
    assert refused.json() == {
        "url": ["The issuing bank's status list could not be read or checked."]
    }


def test_a_database_error_reversing_one_decision_is_recorded_and_releases_the_list(
    world, served, api_client, monkeypatch
):
    from django.db import DatabaseError

    post_record(api_client, world["record"])
    origin_revoke(world)

    def broken(**_: Any) -> None:
        raise DatabaseError("deadlock detected")

    monkeypatch.setattr(recognitions, "recognition_reverse", broken)
    report = recognised_statuses_check()
    assert (report.lists_failed, report.reversed) == (1, 0)
    row = OriginStatusList.objects.get()
    assert row.claimed_until is None
    assert "DatabaseError" in row.last_error
    assert row.next_check_at is not None
