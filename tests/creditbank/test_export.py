"""The learner's data export: a ZIP of everything the portal holds about them, made by a worker,
downloadable by them only, for 24 hours."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import BusinessTransaction, Role
from accounts.services import staff_file_view_record
from creditbank.celery import app as celery_app
from creditbank.export import account_exports_erase, data_export_request, data_exports_resend_stale
from creditbank.models import DataExport
from creditbank.tasks import build_data_export, purge_expired_data_exports
from tests.accounts.factories import PersonalAccountFactory, UserFactory
from tests.outcomes.factories import certificate_save
from transfers.models import Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(statement_history):
    return statement_history


KINDS = [
    "account.json",
    "file.json",
    "outcomes.json",
    "evidence.json",
    "applications.json",
    "application_events.json",
    "decisions.json",
    "ledger.json",
    "transfers.json",
    "certificates.json",
    "notifications.json",
    "transactions.json",
    "rights.json",
    "staff_views.json",
]


@pytest.fixture
def everything(history, reviewer):
    """The learner of ``history`` with a saved outcome and its evidence, a certificate and a
    staff view; and another learner with data of their own."""
    account = history["account"]
    saved = certificate_save(account, title="幼儿园教师资格证书")
    Certificate.objects.create(
        serial="SERIAL-OF-ALICE-0001",
        account=account,
        kind=Certificate.Kind.TRANSCRIPT,
        content={"name": "李爱丽", "credits": "12"},
    )
    staff_file_view_record(staff=reviewer, account=account, reason="审核材料核对")
    other = PersonalAccountFactory(
        number="GR9999999990", holder=UserFactory(name="赵其他人", role=Role.LEARNER)
    )
    certificate_save(other, title="别人的茶艺师证书")
    return {**history, "saved": saved, "other": other}


def login(client, user) -> None:
    client.force_login(user)


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """Ask for an export on the page; the worker's task runs when the request commits."""

    def asking() -> DataExport:
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post("/file/export/").status_code == 302
        return DataExport.objects.get()

    return asking


def zip_of(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_export_holds_every_kind_of_record_and_nothing_of_another_learner(
    client, learner, everything, ask
):
    login(client, learner)
    export = ask()
    assert (export.state, export.progress) == (DataExport.State.READY, 100)
    response = client.get(f"/file/export/{export.token}/")
    assert response.status_code == 200
    archive = zip_of(response)
    names = archive.namelist()
    for kind in KINDS:
        assert kind in names
    data: dict[str, Any] = {name: json.loads(archive.read(name)) for name in KINDS}
    assert data["account.json"]["account"]["number"] == everything["account"].number
    assert "id_number_encrypted" not in data["account.json"]["account"]
    assert {o["title"] for o in data["outcomes.json"]} >= {"幼儿园教师资格证书"}
    assert len(data["ledger.json"]) == 3
    assert data["decisions.json"]["decisions"]
    assert data["applications.json"]
    assert data["transfers.json"]["items"][0]["state"] == "accepted"
    assert data["certificates.json"][0]["content"]["name"] == "李爱丽"
    assert data["notifications.json"]
    assert data["transactions.json"]
    assert data["staff_views.json"][0]["reason"] == "审核材料核对"
    assert data["staff_views.json"][0]["staff__name"] == "王审核"
    evidence = everything["saved"].evidence.get()
    stored = evidence.file.open("rb").read()
    (name,) = [n for n in names if n.startswith("evidence/")]
    assert archive.read(name) == stored

    other = everything["other"]
    everything_in_zip = b"".join(archive.read(n) for n in names)
    for secret in (other.number, other.holder.name, "别人的茶艺师证书"):
        assert secret.encode() not in everything_in_zip
        assert json.dumps(secret)[1:-1].encode() not in everything_in_zip


def test_asking_again_while_one_is_made_gives_the_same_export(
    learner, django_capture_on_commit_callbacks
):
    account = PersonalAccountFactory(holder=learner)
    # Not committed yet: the worker has not started.
    with django_capture_on_commit_callbacks(execute=False):
        first, created = data_export_request(account=account)
        again, created_again = data_export_request(account=account)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert DataExport.objects.count() == 1


def test_the_page_refreshes_itself_while_the_export_is_made(client, learner):
    account = PersonalAccountFactory(holder=learner)
    DataExport.objects.create(account=account, state=DataExport.State.RUNNING, progress=40)
    login(client, learner)

    response = client.get("/file/export/", HTTP_ACCEPT_LANGUAGE="en")

    assert b'http-equiv="refresh" content="3"' in response.content
    assert b'value="40"' in response.content


def test_the_link_expires_after_24_hours(client, learner, everything, ask):
    login(client, learner)
    export = ask()
    assert export.expires_at is not None
    assert export.expires_at - timezone.now() > datetime.timedelta(hours=23)

    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())

    assert client.get(f"/file/export/{export.token}/").status_code == 410


def test_another_user_gets_404(client, learner, everything, ask):
    login(client, learner)
    export = ask()
    someone = UserFactory(role=Role.LEARNER)
    PersonalAccountFactory(holder=someone)

    client.force_login(someone)

    assert client.get(f"/file/export/{export.token}/").status_code == 404
    assert client.get(f"/file/export/{'0' * 32}/").status_code == 404


def test_the_api_asks_lists_and_downloads(
    api_client, learner, everything, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(learner)

    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post("/api/v1/accounts/me/exports/")
    assert created.status_code == 201, created.content
    listed = api_client.get("/api/v1/accounts/me/exports/").json()
    assert listed[0]["state"] == "ready"
    response = api_client.get(listed[0]["download"])
    assert response.status_code == 200
    assert "outcomes.json" in zip_of(response).namelist()

    DataExport.objects.update(expires_at=timezone.now())
    export = DataExport.objects.get()
    assert api_client.get(f"/api/v1/accounts/me/exports/{export.token}/").status_code == 410

    stranger = UserFactory(role=Role.LEARNER)
    PersonalAccountFactory(holder=stranger)
    api_client.force_authenticate(stranger)
    assert api_client.get(f"/api/v1/accounts/me/exports/{export.token}/").status_code == 404


# --- The request is a business transaction; expired ZIPs leave storage ---------------------------


def test_asking_for_an_export_is_recorded_as_a_business_transaction_once(
    client, learner, everything, django_capture_on_commit_callbacks
):
    login(client, learner)
    with django_capture_on_commit_callbacks(execute=False):
        client.post("/file/export/")
        client.post("/file/export/")  # again while it is being made: the same export

    (asked,) = everything["account"].transactions.filter(
        kind=BusinessTransaction.Kind.DATA_EXPORT_REQUESTED
    )
    assert asked.actor == learner
    assert asked.details == {"export": DataExport.objects.get().pk}


def expired(export: DataExport) -> None:
    DataExport.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )


def test_the_purge_deletes_expired_zips_from_storage_and_running_it_twice_changes_nothing(
    client, learner, everything, ask, django_capture_on_commit_callbacks
):
    login(client, learner)
    old = ask()
    name = old.file.name
    expired(old)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/file/export/")
    fresh = DataExport.objects.latest("pk")
    assert fresh.pk != old.pk
    assert fresh.file
    assert default_storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        first = purge_expired_data_exports.delay().get()
    state = list(DataExport.objects.order_by("pk").values())
    with django_capture_on_commit_callbacks(execute=True):
        second = purge_expired_data_exports.delay().get()

    assert (first, second) == (1, 0)
    assert list(DataExport.objects.order_by("pk").values()) == state
    assert not default_storage.exists(name)
    old.refresh_from_db()
    assert old.file.name == ""
    assert default_storage.exists(str(fresh.file.name))
    # The learner's old link still says that it expired.
    assert client.get(f"/file/export/{old.token}/").status_code == 410
    assert client.get(f"/file/export/{fresh.token}/").status_code == 200


def test_beat_runs_the_purge_of_expired_exports():
    schedule = settings.CELERY_BEAT_SCHEDULE
    tasks = {entry["task"] for entry in schedule.values()}

    assert "creditbank.tasks.purge_expired_data_exports" in tasks
    assert "creditbank.tasks.purge_expired_data_exports" in celery_app.tasks


def test_closing_the_account_deletes_its_exports_from_storage(
    client, learner, everything, ask, django_capture_on_commit_callbacks
):
    login(client, learner)
    export = ask()

    with django_capture_on_commit_callbacks(execute=True):
        account_exports_erase(everything["account"])

    assert not default_storage.exists(export.file.name or "missing")
    export.refresh_from_db()
    assert export.file.name == ""


def test_an_export_asked_for_while_the_broker_was_down_is_made_by_the_periodic_resend(
    client, learner, everything, monkeypatch, settings, django_capture_on_commit_callbacks
):
    def broker_down(**kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    login(client, learner)
    with monkeypatch.context() as broken:
        broken.setattr(build_data_export, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            # Taken, not a server error; asking again would only show this one.
            assert client.post("/file/export/").status_code == 302
    export = DataExport.objects.get()
    assert export.state == DataExport.State.REQUESTED
    assert data_exports_resend_stale() == 0

    later = timezone.now() + datetime.timedelta(seconds=settings.STALE_REQUEST_SECONDS + 1)
    assert data_exports_resend_stale(now=later) == 1
    export.refresh_from_db()
    assert export.state == DataExport.State.READY
    assert data_exports_resend_stale(now=later) == 0


def test_the_zip_is_named_by_the_beijing_time_it_was_asked_for(client, learner, everything, ask):
    # 23:30 UTC on 6 December is 07:30 on 7 December in Beijing: the learner's own date.
    login(client, learner)
    export = ask()
    late_evening_utc = datetime.datetime(2026, 12, 6, 23, 30, tzinfo=datetime.UTC)
    DataExport.objects.filter(pk=export.pk).update(created_at=late_evening_utc)

    response = client.get(f"/file/export/{export.token}/")

    assert response.status_code == 200
    assert 'filename="creditbank-export-20261207-0730.zip"' in response["Content-Disposition"]
