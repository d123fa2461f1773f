"""POST /api/v1/outcomes/ as JSON, one schema per kind, the evidence uploaded beforehand
(POST /api/v1/evidence/uploads/); the multipart form stays (test_outcomes.py)."""

import datetime
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F

from outcomes.models import EvidenceFile, LearningOutcome, StagedUpload
from tests.outcomes.helpers import certificate, pending_files, stored_files

from .samples import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


def uploaded(api_client, *files: tuple[str, bytes]) -> list[dict]:
    response = api_client.post(
        "/api/v1/evidence/uploads/",
        {"files": [SimpleUploadedFile(name, data) for name, data in files]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_an_outcome_goes_up_as_json_naming_its_uploaded_evidence(
    api_client, shao, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(shao.holder)
    uploads = uploaded(api_client, ("证书.pdf", pdf_bytes()), ("photo.png", png_bytes()))

    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post(
            "/api/v1/outcomes/",
            {**certificate(), "uploads": [u["token"] for u in uploads]},
            format="json",
        )

    assert created.status_code == 201, created.json()
    assert [e["original_name"] for e in created.json()["evidence"]] == ["证书.pdf", "photo.png"]
    assert uploads[0]["content_type"] == "application/pdf"
    outcome = LearningOutcome.objects.get(account=shao)
    assert outcome.kind == "vocational_qualification"
    assert outcome.evidence.count() == 2
    # The pending copies are gone once the outcome holds the files.
    assert pending_files() == []


def test_each_kind_is_refused_without_its_own_fields_and_nothing_is_written(api_client, shao):
    api_client.force_authenticate(shao.holder)
    token = uploaded(api_client, ("a.pdf", pdf_bytes()))[0]["token"]

    response = api_client.post(
        "/api/v1/outcomes/",
        {
            "kind": "training",
            "title": "Safety training",
            "achieved_on": "2024-05-01",
            "uploads": [token],
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"provider", "hours", "started_on"}
    assert not LearningOutcome.objects.exists()
    # The upload waits for the corrected request.
    fixed = api_client.post(
        "/api/v1/outcomes/",
        {
            "kind": "training",
            "title": "Safety training",
            "achieved_on": "2024-05-01",
            "provider": "Chongqing Safety Academy",
            "hours": "16",
            "started_on": "2024-04-29",
            "uploads": [token],
        },
        format="json",
    )
    assert fixed.status_code == 201, fixed.json()


def test_an_unknown_kind_is_refused_on_the_kind(api_client, shao):
    api_client.force_authenticate(shao.holder)

    response = api_client.post(
        "/api/v1/outcomes/", {**certificate(kind="diploma"), "uploads": ["x"]}, format="json"
    )

    assert response.status_code == 400
    assert "kind" in response.json()


@pytest.mark.parametrize("body", [[], "text", 7])
def test_a_body_that_is_not_an_object_is_a_400(api_client, shao, body):
    api_client.force_authenticate(shao.holder)

    response = api_client.post("/api/v1/outcomes/", body, format="json")

    assert response.status_code == 400


def test_a_token_names_one_outcome_and_only_its_learners(
    api_client, shao, wang, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(shao.holder)
    token, unused = (
        u["token"] for u in uploaded(api_client, ("a.pdf", pdf_bytes()), ("b.png", png_bytes()))
    )
    body = {**certificate(), "uploads": [token]}
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post("/api/v1/outcomes/", body, format="json").status_code == 201

    again = api_client.post(
        "/api/v1/outcomes/", {**body, "certificate_number": "X-2"}, format="json"
    )
    api_client.force_authenticate(wang.holder)
    stolen = api_client.post("/api/v1/outcomes/", {**body, "uploads": [unused]}, format="json")
    forged = api_client.post(
        "/api/v1/outcomes/", {**body, "uploads": [unused[:-2] + "xx"]}, format="json"
    )

    for refused in (again, stolen, forged):
        assert refused.status_code == 400
        assert list(refused.json()) == ["uploads"]
    assert LearningOutcome.objects.count() == 1


def test_an_expired_upload_is_refused(api_client, shao):
    api_client.force_authenticate(shao.holder)
    token = uploaded(api_client, ("a.pdf", pdf_bytes()))[0]["token"]
    StagedUpload.objects.update(created_at=F("created_at") - datetime.timedelta(hours=25))

    response = api_client.post(
        "/api/v1/outcomes/", {**certificate(), "uploads": [token]}, format="json"
    )

    assert response.status_code == 400
    assert "uploads" in response.json()


def test_an_upload_sent_again_with_its_idempotency_key_gets_a_fresh_token_not_a_spent_one(
    api_client, shao, django_capture_on_commit_callbacks
):
    # A retry of the same request (the first answer was lost, say) uploads the file again: a
    # replay would answer the first token, which the outcome below has spent.
    api_client.force_authenticate(shao.holder)

    def upload():
        return api_client.post(
            "/api/v1/evidence/uploads/",
            {"files": [SimpleUploadedFile("a.pdf", pdf_bytes())]},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    spent = upload().json()[0]["token"]
    with django_capture_on_commit_callbacks(execute=True):
        body = {**certificate(), "uploads": [spent]}
        assert api_client.post("/api/v1/outcomes/", body, format="json").status_code == 201
    again = upload()

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    fresh = again.json()[0]["token"]
    assert fresh != spent
    assert list(StagedUpload.objects.values_list("token_sha256", flat=True)) == [
        hashlib.sha256(fresh.encode()).hexdigest()
    ]


def test_a_bad_file_is_refused_at_upload_and_nothing_is_kept(api_client, shao):
    api_client.force_authenticate(shao.holder)

    response = api_client.post(
        "/api/v1/evidence/uploads/",
        {
            "files": [
                SimpleUploadedFile("good.pdf", pdf_bytes()),
                SimpleUploadedFile("bad.pdf", b"MZ\x90\x00 not a pdf"),
            ]
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert "bad.pdf" in " ".join(response.json()["files"])
    assert pending_files() == []
    assert stored_files() == []
    assert not EvidenceFile.objects.exists()


def test_uploads_waiting_are_capped_per_learner(api_client, shao, wang):
    api_client.force_authenticate(shao.holder)
    for n in range(2):
        uploaded(
            api_client, *[(f"{n}-{i}.png", png_bytes(size=16 + 10 * n + i)) for i in range(10)]
        )

    refused = api_client.post(
        "/api/v1/evidence/uploads/",
        {"files": [SimpleUploadedFile("one-more.pdf", pdf_bytes())]},
        format="multipart",
    )
    api_client.force_authenticate(wang.holder)
    others = api_client.post(
        "/api/v1/evidence/uploads/",
        {"files": [SimpleUploadedFile("one-more.pdf", pdf_bytes())]},
        format="multipart",
    )

    assert refused.status_code == 400
    assert "files" in refused.json()
    assert others.status_code == 201


def test_a_saved_outcome_is_changed_as_json_and_gains_uploaded_evidence(
    api_client, shao, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(shao.holder)
    first = uploaded(api_client, ("a.pdf", pdf_bytes()))[0]["token"]
    with django_capture_on_commit_callbacks(execute=True):
        outcome_id = api_client.post(
            "/api/v1/outcomes/", {**certificate(), "uploads": [first]}, format="json"
        ).json()["id"]
    more = uploaded(api_client, ("b.png", png_bytes()))[0]["token"]

    with django_capture_on_commit_callbacks(execute=True):
        changed = api_client.patch(
            f"/api/v1/outcomes/{outcome_id}/",
            {"title": "幼儿园园长资格证书（换证）", "uploads": [more]},
            format="json",
        )
    refused = api_client.patch(
        f"/api/v1/outcomes/{outcome_id}/", {"certificate_number": ""}, format="json"
    )

    assert changed.status_code == 200, changed.json()
    assert changed.json()["title"] == "幼儿园园长资格证书（换证）"
    assert [e["original_name"] for e in changed.json()["evidence"]] == ["a.pdf", "b.png"]
    assert pending_files() == []
    # A vocational qualification keeps needing its certificate number.
    assert refused.status_code == 400
    assert list(refused.json()) == ["certificate_number"]
    assert LearningOutcome.objects.get().certificate_number == "YZ-2018-0042"
