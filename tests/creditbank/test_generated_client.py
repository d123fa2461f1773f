"""Issue 22, done when: the live schema validates, a client generated from it with the pinned
openapi-python-client imports, and the seed story runs through that client unpatched against
a live server: register, sign in, add a result with evidence (the files uploaded as
multipart, the outcome as JSON in its kind's schema), apply, a reviewer's
decision, a goal, a transfer with items, an officer's decision, a certificate."""

from __future__ import annotations

import datetime
import importlib
import io
import json
import pkgutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from tests.accreditation.factories import catalogue_version
from tests.outcomes.samples import pdf_bytes
from tests.people import PASSWORD, RESIDENT, otp_code
from tests.transfers.factories import programme_with_courses, rule

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "creditbank_api_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def client_generate(schema: dict[str, Any], where: Path) -> Any:
    """The client openapi-python-client generates from ``schema``, imported as a package."""
    (where / "schema.json").write_text(json.dumps(schema))
    (where / "config.json").write_text(
        json.dumps({"package_name_override": PACKAGE, "project_name_override": PACKAGE})
    )
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(where / "schema.json"),
            "--config",
            str(where / "config.json"),
            "--output-path",
            str(where / "client"),
            "--meta",
            "none",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(where))
    (where / PACKAGE).symlink_to(where / "client")
    return importlib.import_module(PACKAGE)


def imported(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content
    return response.parsed


@pytest.fixture
def generated(live_server, tmp_path):
    schema = requests.get(
        f"{live_server.url}/api/v1/schema/", params={"format": "json"}, timeout=60
    ).json()
    validate(schema)
    client = client_generate(schema, tmp_path)
    yield client
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
        del sys.modules[name]


def test_every_module_of_the_generated_client_imports(generated):
    # Issue 22: 23 endpoint modules once failed on import (NameError: Unset).
    api = importlib.import_module(f"{PACKAGE}.api")
    modules = [
        info.name
        for info in pkgutil.walk_packages(api.__path__, prefix=f"{PACKAGE}.api.")
        if not info.ispkg
    ]

    for name in modules:
        importlib.import_module(name)
    assert len(modules) >= 100


def test_the_seed_story_runs_through_the_generated_client(
    generated, live_server, centre, centre_admin, reviewer, institution_officer
):
    version = catalogue_version()
    programme, courses = programme_with_courses(institution_officer.institution)
    rule(version, courses[0])
    models = imported("models")
    api = "api"

    def signed_in(username: str, user: Any = None) -> Any:
        token_create = imported(f"{api}.auth.auth_token_create")
        body = models.TokenRequestRequest(username=username, password=PASSWORD)
        if user is not None:
            body.otp_code = otp_code(user)
        anonymous = generated.Client(base_url=live_server.url)
        token = ok(token_create.sync_detailed(client=anonymous, body=body), 200).token
        return generated.AuthenticatedClient(base_url=live_server.url, token=token)

    # Register and sign in.
    anonymous = generated.Client(base_url=live_server.url)
    registered = ok(
        imported(f"{api}.accounts.accounts_create").sync_detailed(
            client=anonymous,
            body=models.RegistrationRequest(
                name="邵涛涛",
                id_type=models.IdTypeEnum.RESIDENT_ID,
                id_number=RESIDENT,
                phone="13912345678",
                email="shao@example.cn",
                password=PASSWORD,
            ),
        ),
        201,
    )
    assert registered.account_number
    learner = signed_in("13912345678")

    # A result: its evidence uploaded (multipart), then the outcome as JSON in its kind's
    # schema, naming the upload.
    uploads = ok(
        imported(f"{api}.evidence.evidence_uploads_create").sync_detailed(
            client=learner,
            body=models.EvidenceUploadFilesRequest(
                files=[
                    imported("types").File(
                        payload=io.BytesIO(pdf_bytes()),
                        file_name="certificate.pdf",
                        mime_type="application/pdf",
                    )
                ],
            ),
        ),
        201,
    )
    outcome = ok(
        imported(f"{api}.outcomes.outcomes_create").sync_detailed(
            client=learner,
            body=models.VocationalQualificationOutcomeCreateRequest(
                kind=models.VocationalQualificationKindEnum.VOCATIONAL_QUALIFICATION,
                title=version.name,
                achieved_on=datetime.date(2024, 6, 1),
                issuing_body="重庆市教育委员会",
                certificate_number="ZG-2024-0001",
                uploads=[u.token for u in uploads],
            ),
        ),
        201,
    )
    assert len(outcome.evidence) == 1

    # Apply at a centre found by its name in the public list; the centre admin assigns, the
    # reviewer accredits.
    centres = ok(imported(f"{api}.centres.centres_list").sync_detailed(client=anonymous), 200)
    code = next(c.code for c in centres if c.name == centre.name)
    application = ok(
        imported(f"{api}.applications.applications_create").sync_detailed(
            client=learner,
            body=models.SubmitRequest(outcome=outcome.id, centre=code),
        ),
        201,
    )
    admin = signed_in(centre_admin.username, centre_admin)
    ok(
        imported(f"{api}.applications.applications_assign").sync_detailed(
            application.id,
            client=admin,
            body=models.AccreditationAssignRequest(reviewer=reviewer.pk),
        ),
        200,
    )
    reviewing = signed_in(reviewer.username, reviewer)
    ok(
        imported(f"{api}.applications.applications_start_review").sync_detailed(
            application.id, client=reviewing
        ),
        200,
    )
    decided = ok(
        imported(f"{api}.applications.applications_accredit").sync_detailed(
            application.id,
            client=reviewing,
            body=models.AccreditationAccreditRequest(entry=version.entry.code),
        ),
        200,
    )
    assert decided.state == models.ApplicationStateEnum.ACCREDITED

    # A goal, found in the programme list with its course ids, and a transfer with items.
    listed = ok(
        imported(f"{api}.transfers.transfers_programmes_list").sync_detailed(client=learner), 200
    )
    found = next(p for p in listed.results if p.id == programme.pk)
    course_id = next(c.id for c in found.courses if c.code == courses[0].code)
    ok(
        imported(f"{api}.transfers.transfers_goals_create").sync_detailed(
            client=learner,
            body=models.LearningGoalRequest(programme=found.id),
            idempotency_key=str(uuid.uuid4()),
        ),
        201,
    )
    transfer = ok(
        imported(f"{api}.transfers.transfers_create").sync_detailed(
            client=learner,
            body=models.TransferRequestRequest(
                programme=found.id,
                items=[models.TransferItemRequestRequest(course=course_id, outcome=outcome.id)],
            ),
            idempotency_key=str(uuid.uuid4()),
        ),
        201,
    )

    # The officer's decision.
    officer = signed_in(institution_officer.username, institution_officer)
    ok(
        imported(f"{api}.transfers.transfers_items_decide_create").sync_detailed(
            transfer.items[0].id,
            client=officer,
            body=models.DecideRequest(decision=models.DecideDecisionEnum.ACCEPT),
        ),
        200,
    )

    # A certificate: accepted, with where to ask and when.
    requested = imported(f"{api}.certificates.certificates_create").sync_detailed(
        client=learner,
        body=models.CertificateRequestRequest(
            kind=models.CertificateKindEnum.HOURS_CERTIFICATE,
            period_from=datetime.date(2000, 1, 1),
            period_to=datetime.date.today(),
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    certificate = ok(requested, 202)
    assert requested.headers["Location"] == f"/api/v1/certificates/{certificate.serial}/"
    assert int(requested.headers["Retry-After"]) > 0
    issued = ok(
        imported(f"{api}.certificates.certificates_retrieve").sync_detailed(
            certificate.serial, client=learner
        ),
        200,
    )
    assert issued.state == models.CertificateStateEnum.ISSUED
