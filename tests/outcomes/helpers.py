"""What more than one test module needs about outcomes: a certificate's form data, the files in
storage, and the institution-batch files (members imported, results reported)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import LearningAccount
from tests.accounts.helpers import csv_file as member_csv
from tests.accounts.helpers import member
from tests.accounts.helpers import upload as import_members
from tests.outcomes.samples import pdf_bytes

# --- One learner's results ---------------------------------------------------------------------


def certificate(**overrides):
    """The form data of a vocational qualification certificate."""
    return {
        "kind": "vocational_qualification",
        "title": "幼儿园园长资格证书",
        "issuing_body": "重庆市教育委员会",
        "certificate_number": "YZ-2018-0042",
        "achieved_on": "2018-06-30",
        "result": "合格",
        **overrides,
    }


def stored_files() -> list[Path]:
    """The evidence files in storage, not counting the pending uploads a refused "Add results"
    keeps for the learner's next try (outcomes.pending: see pending_files)."""
    root = Path(default_storage.location)  # type: ignore[attr-defined]
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and "pending-evidence" not in p.parts]


def pending_files() -> list[Path]:
    root = Path(default_storage.location) / "pending-evidence"  # type: ignore[attr-defined]
    return [p for p in root.iterdir() if p.is_file()] if root.exists() else []


# --- Institution batches -----------------------------------------------------------------------

HEADINGS = ["账户号码", "姓名", "证件类型", "证件号码", "结果", "证书编号", "取得日期"]


def members_of(admin_client, collective, count: int) -> list[LearningAccount]:
    """``count`` members imported into ``collective``, by name."""
    response = import_members(
        admin_client, collective.institution_id, member_csv([member(n) for n in range(count)])
    )
    assert response.status_code == 201, response.content[:2000]
    return list(
        LearningAccount.objects.filter(collective_memberships__collective=collective)
        .select_related("holder")
        .order_by("holder__name")
    )


def row(account: LearningAccount | None = None, **overrides: str) -> list[str]:
    values = {
        "account_number": account.number if account else "",
        "name": account.holder.name if account and account.holder else "",
        "id_type": "",
        "id_number": "",
        "result": "合格",
        "certificate_number": "",
        "achieved_on": "2026-06-30",
        **overrides,
    }
    keys = ["account_number", "name", "id_type", "id_number", "result", "certificate_number"]
    return [values[k] for k in keys] + [values["achieved_on"]]


def results_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADINGS)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def programme(**overrides):
    return {
        "kind": "training",
        "title": "幼儿园安全管理培训",
        "provider": "重庆开放大学",
        "place": "重庆市渝中区",
        "mode": "face_to_face",
        "started_on": "2026-06-01",
        "ended_on": "2026-06-20",
        "hours": "24",
        "content": "园所安全制度、应急演练",
        **overrides,
    }


def report(client, institution_id: int, data: bytes, evidence=None, **overrides):
    """Posts a batch of results (and its evidence) for ``institution_id``."""
    files = evidence or [SimpleUploadedFile("培训记录.pdf", pdf_bytes())]
    return client.post(
        f"/api/v1/institutions/{institution_id}/batches/",
        {
            **programme(**overrides),
            "file": SimpleUploadedFile("results.csv", data),
            "evidence": files,
        },
        format="multipart",
    )
