"""The schema documents the errors each operation answers (issue 9: the API fuzzer holds the
server to it, tests/security/test_fuzz.py); these pin the rules of creditbank.schema."""

import pytest

from tests.security.fuzzing import openapi_document


@pytest.fixture(scope="module")
def operations():
    document = openapi_document()
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_every_operation_that_needs_a_sign_in_documents_401_and_403(operations):
    protected = {
        label: op for label, op in operations.items() if {} not in op.get("security", [{}])
    }

    assert len(protected) > 60
    for label, operation in protected.items():
        assert {"401", "403"} <= set(operation["responses"]), label


def test_every_operation_that_names_a_resource_in_its_path_documents_404(operations):
    for label, operation in operations.items():
        if "{" in label:
            assert "404" in operation["responses"], label


def test_every_paginated_list_documents_404_for_a_page_past_the_end(operations):
    paginated = [
        label
        for label, op in operations.items()
        if any(p["name"] == "page" for p in op.get("parameters", []))
    ]

    assert "GET /api/v1/transfers/programmes/" in paginated
    for label in paginated:
        assert "404" in operations[label]["responses"], label


def test_every_4xx_answer_is_documented_with_the_one_error_body(operations):
    # Issue 22: 400 used to be "FieldErrors" and the others "ErrorDetail"; the transfer's
    # idempotency refusals had a third shape. One typed shape now.
    codes = 0
    for label, operation in operations.items():
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                codes += 1
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}
                }, (label, code)
    assert codes > 200


def test_throttled_operations_document_429(operations):
    for label in (
        "POST /api/v1/auth/token/",
        "POST /api/v1/accounts/",
        "GET /api/v1/catalogue/",
        "GET /api/v1/certificates/verify/{serial}/",
    ):
        assert "429" in operations[label]["responses"], label


def test_the_errors_views_document_themselves_get_the_error_body(operations):
    gone = operations["GET /api/v1/accounts/me/exports/{token}/"]["responses"]["410"]

    assert gone["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"
    }


def test_a_transfer_application_documents_the_idempotency_key_refusals(operations):
    # Found by make fuzz: a key reused with another body answered an undocumented 422.
    responses = operations["POST /api/v1/transfers/"]["responses"]

    for code in ("409", "422"):
        body = responses[code]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ApiError"}
