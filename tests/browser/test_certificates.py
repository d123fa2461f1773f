import datetime
import io
import json
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import Role
from accounts.services import personal_account_register
from tests.accounts.factories import CentreFactory, UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.people import LEARNER_PASSWORD, RESIDENT
from transfers.certificates.verification import signed_document_check
from transfers.models import Certificate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_learner_requests_and_downloads_a_certificate_and_anyone_verifies_it(
    page, browser, live_server
):
    account = personal_account_register(
        name="邵涛涛",
        id_type="resident_id",
        id_number=RESIDENT,
        phone="13912345678",
        email="shao@example.cn",
        password=LEARNER_PASSWORD,
    )
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    accredited_outcome(account, catalogue_version(), decider)
    this_year = datetime.date.today().year

    page.goto("/login/")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Account number, email or mobile phone").fill(account.number)
    page.get_by_label("Password").fill(LEARNER_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation").get_by_role("link", name="My certificates").click()

    form = page.get_by_test_id("certificate-request")
    form.get_by_label("Kind of certificate").select_option("hours_certificate")
    # The accredited outcome was learned on 2024-06-01.
    form.get_by_label("Period from").fill("2024-01-01")
    form.get_by_label("Period to").fill(f"{this_year}-01-01")
    form.get_by_role("button", name="Request the certificate").click()

    expect(page.get_by_role("status")).to_contain_text("is being prepared")
    certificate = Certificate.objects.get()
    row = page.get_by_test_id(f"certificate-{certificate.serial}")
    expect(row.get_by_test_id("certificate-state")).to_have_text("Issued")

    with page.expect_download() as pdf_download:
        row.get_by_role("link", name="PDF").click()
    pdf = pdf_download.value.path().read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    text = re.sub(r"[\s\x00]+", "", text)  # fpdf2's two-byte glyph codes read with NULs
    assert "邵涛涛" in text
    # Not ticked for disclosure: the PDF honours the choice as the credential does.
    assert account.id_number_masked not in text
    assert "120.0" in text
    assert signed_document_check(pdf).genuine
    with page.expect_download() as credential_download:
        row.get_by_role("link", name="Verifiable credential (JSON)").click()
    credential = json.loads(credential_download.value.path().read_text())
    # An Open Badges 3.0 credential: the learner is named by the identifier she chose to show.
    identifiers = credential["credentialSubject"]["identifier"]
    assert {"identityType": "name", "identityHash": "邵涛涛"}.items() <= identifiers[0].items()

    # Someone with no account, given the serial (or the QR code), checks it.
    anonymous = browser.new_context(base_url=live_server.url, locale="en-US")
    try:
        visitor = anonymous.new_page()
        visitor.goto("/verify/")
        visitor.get_by_role("button", name="English").click()
        visitor.get_by_label("Serial number").fill(certificate.serial)
        visitor.get_by_role("button", name="Verify").click()
        expect(visitor.get_by_test_id("genuine")).to_have_text("Genuine")
        expect(visitor.get_by_test_id("status")).to_have_text("Current")
        expect(visitor.get_by_test_id("hours")).to_have_text("120.0")
        expect(visitor.get_by_test_id("name")).to_have_text("邵涛涛")
        # The identity number was not ticked for disclosure: not even its masked form shows.
        assert account.id_number_masked not in visitor.get_by_test_id("verification").inner_text()
    finally:
        anonymous.close()
