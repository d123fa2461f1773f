"""The quick API fuzzing run (issue 9): every operation of the OpenAPI schema, as every role,
with a few generated requests each (valid and invalid), in process through WSGI on the test
database loaded with the demo data. The long run is ``make fuzz`` (scripts/fuzz/long_run.py).

Each role is one test; a failing test lists every operation that broke its contract, with a
curl command that reproduces it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from rest_framework.test import APIClient

from . import fuzzing

# Requests per operation and role, with fixed seeds: a pilot (valid by the schema) for every
# role, and more per mode (valid, invalid) for the roles that get past authentication and
# permission.
PILOT = 1
EXAMPLES = 1


@pytest.fixture(scope="module")
def openapi_document() -> dict[str, Any]:
    """Generated once for the module: it depends on the code, not on the role or the data."""
    return fuzzing.openapi_document()


@pytest.fixture
def demo_data(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115


def _post_token(client: APIClient):
    def post(body: dict[str, str]) -> str:
        response = client.post("/api/v1/auth/token/", body, format="json")
        assert response.status_code == 200, response.content
        return str(response.json()["token"])

    return post


@pytest.mark.parametrize("role", list(fuzzing.ROLES))
def test_no_operation_errs_or_breaks_its_schema_for_the_role(
    role, demo_data, postgres, openapi_document
):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    headers = fuzzing.role_credentials(_post_token(client))[role]
    # A copy: nothing one role's run does to the document reaches the next role's.
    schema = fuzzing.load_schema(copy.deepcopy(openapi_document), app=get_wsgi_application())
    operations = fuzzing.operations(schema)
    assert len(operations) > 80
    total = fuzzing.Outcome()
    with fuzzing.database_connection_kept():
        for operation in operations:
            outcome, _ = fuzzing.fuzz_operation_as_role(
                operation, role=role, headers=headers, pilot=PILOT, examples=EXAMPLES
            )
            total.merge(outcome)
    assert total.examples >= len(operations)
    assert not total.failures, (
        f"{len(total.failures)} contract failures as {role}:\n{fuzzing.report(total)}"
    )
