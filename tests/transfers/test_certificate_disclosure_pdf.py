"""The PDF prints the learner's identifiers only as the learner chose to disclose them, the
same choice the credential and the verification page honour, for every kind."""

from __future__ import annotations

import pytest

from transfers.models import Certificate

from .test_certificates import PERIOD, issue, pdf_text, vc_of

pytestmark = pytest.mark.django_db

ID_MASKED = "5001**********123X"


@pytest.fixture
def world(certificate_world):
    return certificate_world


@pytest.mark.parametrize(
    "kind", [Certificate.Kind.TRANSFER_RECORD, Certificate.Kind.HOURS_CERTIFICATE]
)
def test_an_undisclosed_account_number_and_identity_number_are_not_printed(
    world, django_capture_on_commit_callbacks, kind
):
    extra = (
        {}
        if kind == Certificate.Kind.HOURS_CERTIFICATE
        else {"period_from": None, "period_to": None}
    )
    certificate = issue(
        world, django_capture_on_commit_callbacks, kind=kind, disclose=["name", "items"], **extra
    )

    assert certificate.state == Certificate.State.ISSUED
    text = pdf_text(certificate.pdf.read())
    assert "李爱丽" in text
    assert ID_MASKED not in text
    assert world["account"].number not in text
    assert world["account"].number not in str(vc_of(certificate))


def test_disclosed_identifiers_are_printed(world, django_capture_on_commit_callbacks):
    certificate = issue(
        world,
        django_capture_on_commit_callbacks,
        disclose=["name", "id_number", "account_number", "items"],
        **PERIOD,
    )

    text = pdf_text(certificate.pdf.read())
    assert ID_MASKED in text
    assert world["account"].number in text
