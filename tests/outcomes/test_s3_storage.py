"""Evidence on S3-compatible storage: the real django-storages backend talking HTTP to a real
S3-compatible server (moto in server mode, started here), not a mock of the storage class."""

import shutil
import subprocess
import time
from collections.abc import Iterator

import boto3
import pytest
import requests
from django.core.exceptions import ValidationError

from outcomes.models import EvidenceFile
from outcomes.services import outcome_save
from outcomes.storage import Upload
from tests.processes import free_port, require

from .samples import pdf_bytes, png_bytes

# One moto S3 server for the module (starting it is most of the time), an empty bucket per test.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BUCKET = "evidence-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    binary = shutil.which("moto_server")
    require(binary is not None, "needs moto_server (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(url, timeout=2)
            break
        # Not listening yet, or listening and still importing its first answer (seen in CI:
        # a read timeout).
        except requests.RequestException:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3(settings, s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **CREDENTIALS)
    # The bucket an earlier test of the module filled is removed with what it holds: each test
    # starts from a new, empty one, as on a server of its own.
    if BUCKET in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]:
        for key in keys(client):
            client.delete_object(Bucket=BUCKET, Key=key)
        client.delete_bucket(Bucket=BUCKET)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": None,
                "file_overwrite": False,
                "addressing_style": "path",
            },
        },
    }
    return client


def keys(client) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


DESCRIPTION = {
    "kind": "vocational_qualification",
    "title": "幼儿园园长资格证书",
    "issuing_body": "重庆市教育委员会",
    "certificate_number": "YZ-2018-0042",
    "achieved_on": __import__("datetime").date(2018, 6, 30),
}


def test_evidence_is_stored_in_the_bucket_and_served_back_only_through_the_portal(s3, shao, client):
    document = pdf_bytes()
    outcome_save(
        account=shao, actor=shao.holder, data=DESCRIPTION, uploads=[Upload("证书.pdf", document)]
    )

    evidence = EvidenceFile.objects.get()
    assert keys(s3) == [evidence.file.name]
    assert s3.get_object(Bucket=BUCKET, Key=evidence.file.name)["Body"].read() == document

    client.force_login(shao.holder)
    response = client.get(f"/evidence/{evidence.pk}/")
    assert b"".join(response.streaming_content) == document
    assert response["Content-Disposition"].startswith("attachment")


def test_a_refused_file_among_good_ones_puts_nothing_in_the_bucket(s3, shao):
    with pytest.raises(ValidationError) as refused:
        outcome_save(
            account=shao,
            actor=shao.holder,
            data=DESCRIPTION,
            uploads=[Upload("a.png", png_bytes()), Upload("b.pdf", b"<html>not a pdf</html>")],
        )

    assert set(refused.value.message_dict) == {"evidence"}
    assert keys(s3) == []
    assert not EvidenceFile.objects.exists()


def test_a_failed_transaction_removes_what_it_stored_in_the_bucket(s3, shao, monkeypatch):
    from outcomes import services

    def fail(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "transaction_record", fail)
    with pytest.raises(RuntimeError):
        outcome_save(
            account=shao,
            actor=shao.holder,
            data=DESCRIPTION,
            uploads=[Upload("a.pdf", pdf_bytes()), Upload("b.png", png_bytes())],
        )

    assert keys(s3) == []


def test_readyz_checks_the_bucket(s3, client, settings):
    assert client.get("/readyz").json()["checks"]["storage"] == "ok"

    settings.STORAGES["default"]["OPTIONS"]["bucket_name"] = "no-such-bucket"
    settings.STORAGES = {**settings.STORAGES}

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]
