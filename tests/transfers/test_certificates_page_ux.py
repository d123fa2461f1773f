"""The certificates page and the verification page as a learner reads them in Chinese: what a
transfer record is for, no empty period, its address as text to copy, and the issuer's name."""

from __future__ import annotations

import pytest

from transfers.models import Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(certificate_world, client, django_capture_on_commit_callbacks):
    client.force_login(certificate_world["account"].holder)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/certificates/", {"kind": "transfer_record", "disclose": ["name"]})
    return Certificate.objects.get(kind=Certificate.Kind.TRANSFER_RECORD)


def test_the_page_says_what_a_transfer_record_is_for_and_shows_its_address_as_text(client, record):
    page = client.get("/certificates/").content.decode()

    assert record.state == Certificate.State.ISSUED
    assert "学分转移记录用于将您已认定的成果带到另一家学分银行" in page
    row = page[page.index(f'data-testid="certificate-{record.serial}"') :]
    row = row[: row.index("</tr>")]
    assert "不适用" in row  # no empty period
    address = f"http://testserver/credentials/records/{record.file_token}"
    assert f'data-testid="transfer-record-address">{address}</code>' in row
    assert f'data-copy="transfer-address-{record.serial}"' in row
    link = f'href="/credentials/records/{record.file_token}" data-testid="transfer-record-link"'
    assert f"{link} download" in row
    assert 'data-period-kind="hours_certificate"' in page


def test_the_verify_page_of_a_record_mentions_no_period_and_names_the_bank_in_chinese(
    client, record
):
    page = client.get(f"/verify/{record.serial}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    advice = page[page.index('data-testid="if-not-genuine"') :]
    advice = advice[: advice.index("</p>")]
    assert "期间" not in advice
    assert "姓名、学时和证书编号" in advice
    issuer = page[page.index('data-testid="issuer"') :]
    issuer = issuer[: issuer.index("</p>")]
    assert "终身学习学分银行" in issuer
    assert "Credit Bank for Lifelong Learning" not in issuer
