"""The full identity number appears nowhere a learner's account is shown, except in the answer
to a recorded reveal."""

import io
import re

import openpyxl
import pytest
from pypdf import PdfReader

from accounts.models import CollectiveMembership, LearningAccount
from tests.accounts.factories import CollectiveAccountFactory
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, login_verified

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[\s\x00]+", "", text)


def xlsx_text(data: bytes) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(
        str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row
    )


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_no_page_export_or_api_answer_shows_the_full_identity_number(
    client, api_client, reviewer, institution_admin
):
    registered = api_client.post(
        "/api/v1/accounts/",
        {
            "name": "邵涛涛",
            "id_type": "resident_id",
            "id_number": RESIDENT,
            "phone": "13912345678",
            "email": "shao@example.cn",
            "password": PASSWORD,
        },
        format="json",
    )
    number = registered.json()["account_number"]
    account = LearningAccount.objects.get(number=number)
    collective = CollectiveAccountFactory.create(
        institution=institution_admin.institution, opened_by=institution_admin
    )
    CollectiveMembership.objects.create(
        collective=collective, member=account, added_by=institution_admin
    )
    institution_id = institution_admin.institution_id
    seen: dict[str, str] = {"POST /api/v1/accounts/": registered.content.decode()}

    api_client.force_authenticate(account.holder)
    seen["GET /api/v1/accounts/me/"] = api_client.get("/api/v1/accounts/me/").content.decode()
    client.force_login(account.holder)
    seen["/file/"] = client.get("/file/").content.decode()
    seen["/file/pdf/"] = pdf_text(client.get("/file/pdf/").content)

    api_client.force_authenticate(reviewer)
    seen["POST /api/v1/accounts/lookup/"] = api_client.post(
        "/api/v1/accounts/lookup/", {"id_type": "resident_id", "id_number": RESIDENT}
    ).content.decode()
    login_verified(client, reviewer)
    seen["/centre/learners/ search"] = client.post(
        "/centre/learners/", {"id_type": "resident_id", "id_number": RESIDENT}
    ).content.decode()
    seen["/centre/learners/<n>/"] = client.post(
        f"/centre/learners/{number}/", {"reason": "审核"}
    ).content.decode()

    api_client.force_authenticate(institution_admin)
    seen["GET members API"] = api_client.get(
        f"/api/v1/institutions/{institution_id}/members/"
    ).content.decode()
    login_verified(client, institution_admin)
    seen["members page"] = client.get(f"/institutions/{institution_id}/members/").content.decode()
    seen["members CSV"] = body(
        client.get(f"/institutions/{institution_id}/members/export.csv")
    ).decode("utf-8-sig")
    seen["members XLSX"] = xlsx_text(
        body(client.get(f"/institutions/{institution_id}/members/export.xlsx"))
    )

    masked = account.id_number_masked
    for where, text in seen.items():
        assert RESIDENT not in text, where
        assert RESIDENT.lower() not in text, where
    # The masked form is what the people who may see the account are shown.
    for where in ("GET /api/v1/accounts/me/", "/file/", "/file/pdf/", "members page"):
        assert masked in seen[where], where
