"""Issue 22: the API as an integrator's generator and client see it — a schema that validates,
is the same in every language and names things generators accept; one error shape; the
resources a client needs to find what it applies with. The generated client itself runs in
tests/creditbank/test_generated_client.py (slow)."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openapi_spec_validator import validate

from accreditation.models import Application
from tests.outcomes.factories import certificate_save
from tests.outcomes.samples import pdf_bytes
from tests.security.fuzzing import openapi_document

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def operations_of(document):
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_the_served_schema_validates(client):
    # It used to fail: CorrectionAskRequest.record_kind had default "" with minLength 1.
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    validate(schema)


@pytest.mark.parametrize(
    "how",
    [{"HTTP_ACCEPT_LANGUAGE": "zh-hans"}, {"data": {"lang": "zh-hans"}}],
    ids=["Accept-Language", "lang parameter"],
)
def test_the_schema_is_the_same_in_every_language(client, how):
    data = {"format": "json", **how.pop("data", {})}
    chinese = client.get("/api/v1/schema/", data, **how)
    english = client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.content == english.content
    # Written in English: an enum's labels, a field's help text.
    assert "Vocational qualification certificate" in chinese.content.decode()
    assert "职业资格证书" not in chinese.content.decode()


def test_operation_ids_are_identifiers_and_unique(document):
    ids = [op["operationId"] for op in operations_of(document).values()]

    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", operation_id), operation_id
    assert "certificates_credential_json_retrieve" in ids


def test_component_names_are_identifiers_that_stay_distinct_without_underscores(document):
    names = list(document["components"]["schemas"])

    for name in names:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), name
    assert len({n.lower() for n in names}) == len(names)
    # Accreditation's private _Reason and the public ReasonRequest used to collide.
    assert "AccreditationReasonRequest" in names


def test_request_bodies_are_json_unless_a_file_goes_up(document):
    for label, operation in operations_of(document).items():
        body = operation.get("requestBody")
        if body is None:
            continue
        (media_type,) = body["content"]
        ref = body["content"][media_type]["schema"]["$ref"].rsplit("/", 1)[1]
        properties = document["components"]["schemas"][ref].get("properties", {})
        binary = any(
            p.get("format") == "binary" or p.get("items", {}).get("format") == "binary"
            for p in properties.values()
        )
        assert media_type == ("multipart/form-data" if binary else "application/json"), label
    # An outcome goes up as JSON; only its evidence files are multipart.
    operations = operations_of(document)
    assert list(operations["POST /api/v1/outcomes/"]["requestBody"]["content"]) == [
        "application/json"
    ]
    assert list(operations["POST /api/v1/evidence/uploads/"]["requestBody"]["content"]) == [
        "multipart/form-data"
    ]


def test_changing_contact_details_documents_what_the_server_requires(document, api_client, shao):
    body = operations_of(document)["PATCH /api/v1/accounts/me/"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    assert body["required"] is True
    assert set(document["components"]["schemas"][ref]["required"]) == {
        "email",
        "phone",
        "password",
    }
    # ... as the server does: the phone and the password may not be left out.
    api_client.force_authenticate(shao.holder)
    refused = api_client.patch("/api/v1/accounts/me/", {"email": "a@b.cn"}, format="json")
    assert refused.status_code == 400
    assert {"phone", "password"} <= set(refused.json())


def test_every_4xx_body_in_the_schema_is_the_one_typed_error(document):
    error = document["components"]["schemas"]["ApiError"]

    assert error["properties"]["detail"] == {"type": "string"}
    assert error["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert "FieldErrors" not in document["components"]["schemas"]
    assert "ErrorDetail" not in document["components"]["schemas"]


def test_creating_posts_that_honour_an_idempotency_key_document_it_and_the_replay_header(
    document,
):
    operations = operations_of(document)
    for label in (
        "POST /api/v1/transfers/",
        "POST /api/v1/transfers/goals/",
        "POST /api/v1/certificates/",
    ):
        operation = operations[label]
        assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]], label
        success = next(r for code, r in operation["responses"].items() if code.startswith("2"))
        assert "Idempotent-Replayed" in success["headers"], label


# A signed-in creating POST without the header, and why: adding a webhook or a service account
# answers its secret, shown once; a replay would need the answer, the secret with it, kept in the
# keys' table. An evidence upload answers tokens an outcome spends: a replay would hand out spent
# ones.
NOT_IDEMPOTENT = {
    "POST /api/v1/institutions/{id}/webhooks/",
    "POST /api/v1/institutions/{id}/service-accounts/",
    "POST /api/v1/evidence/uploads/",
}


def test_every_signed_in_creating_post_documents_an_idempotency_key(document):
    checked = 0
    for label, operation in operations_of(document).items():
        creates = {"201", "202"} & set(operation.get("responses", {}))
        signed_in = {} not in operation.get("security", [{}])
        if not label.startswith("POST ") or not creates or not signed_in:
            continue
        names = [p["name"] for p in operation.get("parameters", [])]
        assert ("Idempotency-Key" in names) != (label in NOT_IDEMPOTENT), label
        checked += 1
    assert checked >= 10


def test_a_certificate_request_documents_location_and_retry_after(document):
    accepted = operations_of(document)["POST /api/v1/certificates/"]["responses"]["202"]

    assert {"Location", "Retry-After"} <= set(accepted["headers"])


def test_a_certificate_request_answers_where_and_when_to_ask(api_client, certificate_world):
    api_client.force_authenticate(certificate_world["account"].holder)

    response = api_client.post(
        "/api/v1/certificates/",
        {
            "kind": "hours_certificate",
            "period_from": "2000-01-01",
            "period_to": datetime.date.today().isoformat(),
        },
        format="json",
    )

    assert response.status_code == 202
    serial = response.json()["serial"]
    assert response["Location"] == f"/api/v1/certificates/{serial}/"
    assert int(response["Retry-After"]) > 0
    assert api_client.get(response["Location"]).json()["serial"] == serial


def test_the_centres_and_their_codes_are_public(api_client, centre, other_centre):
    response = api_client.get("/api/v1/centres/")

    assert response.status_code == 200
    listed = {c["code"]: c["name"] for c in response.json()}
    assert listed[centre.code] == centre.name
    assert listed[other_centre.code] == other_centre.name


def test_the_programme_list_gives_each_course_its_id(api_client, transfer_world):
    response = api_client.get("/api/v1/transfers/programmes/")

    (programme,) = response.json()["results"]
    ids = {c["code"]: c["id"] for c in programme["courses"]}
    assert ids == {c.code: c.pk for c in transfer_world["courses"]}


def test_a_transfers_item_errors_are_keyed_by_their_path(api_client, transfer_world, learner):
    api_client.force_authenticate(learner)
    world = transfer_world

    response = api_client.post(
        "/api/v1/transfers/",
        {
            "programme": world["programme"].pk,
            "items": [
                {"course": world["courses"][0].pk, "outcome": world["outcome"].pk},
                {"course": world["courses"][1].pk},
            ],
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["items[1].outcome"]
    assert all(isinstance(m, str) for m in response.json()["items[1].outcome"])


def test_adding_an_outcome_documents_what_each_kind_needs(document, api_client, shao):
    operation = operations_of(document)["POST /api/v1/outcomes/"]
    schemas = document["components"]["schemas"]

    # JSON, one schema per kind, told apart by a discriminator on the kind.
    body = operation["requestBody"]["content"]
    assert list(body) == ["application/json"]
    one_of = schemas[body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert one_of["discriminator"]["propertyName"] == "kind"
    required = {
        kind: set(schemas[ref.rsplit("/", 1)[-1]]["required"])
        for kind, ref in one_of["discriminator"]["mapping"].items()
    }
    assert len(one_of["oneOf"]) == len(required) == 7
    common = {"kind", "title", "achieved_on", "uploads"}
    assert required["training"] == common | {"provider", "hours", "started_on"}
    assert required["other"] == common | {"content"}
    assert required["vocational_qualification"] == common | {"issuing_body", "certificate_number"}
    # Each kind's one-value enum is named after it (settings' ENUM_NAME_OVERRIDES), not a hash.
    for kind, ref in one_of["discriminator"]["mapping"].items():
        kind_ref = schemas[ref.rsplit("/", 1)[-1]]["properties"]["kind"]["$ref"]
        enum = kind_ref.rsplit("/", 1)[-1]
        assert enum == kind.title().replace("_", "") + "KindEnum"
        assert schemas[enum]["enum"] == [kind]
    # ... as the server refuses a training outcome without them.
    api_client.force_authenticate(shao.holder)
    refused = api_client.post(
        "/api/v1/outcomes/",
        {
            "kind": "training",
            "title": "园长培训",
            "achieved_on": "2024-06-01",
            "files": [SimpleUploadedFile("a.pdf", pdf_bytes(), "application/pdf")],
        },
        format="multipart",
    )
    assert refused.status_code == 400
    assert {"provider", "hours", "started_on"} <= set(refused.json())


def test_an_application_is_created_once_for_one_idempotency_key(api_client, centre, shao):
    # Issue 22: the header is honoured by every app's creating POST, not only transfers.
    saved = certificate_save(shao)
    api_client.force_authenticate(shao.holder)
    body = {"outcome": saved.pk, "centre": centre.code}

    first = api_client.post("/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    retry = api_client.post("/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Application.objects.count() == 1
