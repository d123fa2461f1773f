"""Certificate serials people can type and read aloud: Crockford Base32 in groups with a check
symbol, read case-insensitively with confusable letters normalised; a typo is named as one; the
serials issued before keep verifying."""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

import pytest
from django.core.management import call_command

from common import crockford
from transfers.certificates import issuing as certificates

from .test_certificates import issue, pdf_text

pytestmark = pytest.mark.django_db

# A serial whose data holds a 0 and a 1, so typing O and L for them is tried every time.
FIXED = "70K2-M19Q-PD4R-8TZX-F4"
GROUPED = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]{2}")


@pytest.fixture
def world(certificate_world):
    return certificate_world


def test_a_new_certificate_has_a_grouped_serial_with_a_check_printed_on_the_pdf_and_page(
    world, django_capture_on_commit_callbacks, client
):
    certificate = issue(world, django_capture_on_commit_callbacks)

    assert GROUPED.fullmatch(certificate.serial), certificate.serial
    assert crockford.check_valid(certificate.serial)
    # 17 random symbols of 5 bits: 85 bits (84.8 once awkward check symbols are left out).
    assert len(certificate.serial.replace("-", "")) - 1 == 17
    text = pdf_text(certificate.pdf.read())
    assert certificate.serial in text
    assert f"/verify/{certificate.serial}/" in text  # the link the QR code holds too
    page = client.get(f"/verify/{certificate.serial}/").content.decode()
    # Printed in its groups; a narrow screen may wrap the line between groups, not inside one.
    shown = re.search(r'<code class="serial">(.*?)</code>', page)
    assert shown
    assert re.sub(r"<[^>]+>", "", shown.group(1)) == certificate.serial
    assert shown.group(1).count('<span class="serial__group">') == 5


def test_a_serial_typed_in_lower_case_with_o_for_0_and_spaces_verifies(
    world, django_capture_on_commit_callbacks, monkeypatch, api_client, client
):
    monkeypatch.setattr(certificates, "serial_new", lambda: FIXED, raising=False)
    certificate = issue(world, django_capture_on_commit_callbacks)
    typed = " ".join(certificate.serial.replace("0", "o").replace("1", "l").lower().split("-"))
    assert typed == "7ok2 ml9q pd4r 8tzx f4"

    body = api_client.get(f"/api/v1/certificates/verify/{quote(typed)}/").json()
    assert body["serial"] == FIXED
    assert body["genuine"] is True
    assert body["status"] == "current"
    page = client.get(f"/verify/{quote(typed)}/")
    assert page.status_code == 200
    assert 'data-testid="genuine"' in page.content.decode()
    # The form on the verification page takes the typed serial to the printed one's page.
    looked_up = client.get("/verify/", {"serial": typed})
    assert looked_up.status_code == 302
    assert looked_up["Location"] == f"/verify/{FIXED}/"


def test_one_wrong_character_is_caught_by_the_check_and_called_a_typo(
    world, django_capture_on_commit_callbacks, monkeypatch, api_client, client
):
    monkeypatch.setattr(certificates, "serial_new", lambda: FIXED, raising=False)
    issue(world, django_capture_on_commit_callbacks)
    symbols = FIXED.replace("-", "")
    # Every single wrong symbol, anywhere, is caught by the check symbol.
    for position in range(len(symbols)):
        for other in crockford.ALPHABET:
            if other != symbols[position]:
                wrong = symbols[:position] + other + symbols[position + 1 :]
                assert not crockford.check_valid(wrong), wrong
    mistyped = FIXED.replace("M19Q", "M18Q")
    assert "此编号有误" in client.get(f"/verify/{mistyped}/").content.decode()  # the default
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    api = api_client.get(f"/api/v1/certificates/verify/{mistyped}/")
    assert api.status_code == 400
    assert "has a typo" in api.json()["serial"][0]
    page = client.get(f"/verify/{mistyped}/")
    assert page.status_code == 400
    assert "This number has a typo" in page.content.decode()
    assert 'data-testid="not-found"' not in page.content.decode()
    form = client.get("/verify/", {"serial": mistyped.lower()})
    assert form.status_code == 400
    assert 'data-testid="mistyped"' in form.content.decode()
    assert f'value="{mistyped.lower()}"' in form.content.decode()
    # A symbol left out is a typo too.
    assert api_client.get(f"/api/v1/certificates/verify/{FIXED[:-1]}/").status_code == 400


def test_a_serial_issued_in_the_old_style_still_verifies(
    world, django_capture_on_commit_callbacks, monkeypatch, api_client, client, tmp_path, capsys
):
    old = secrets.token_urlsafe(18)
    monkeypatch.setattr(certificates, "serial_new", lambda: old, raising=False)
    certificate = issue(world, django_capture_on_commit_callbacks)
    assert certificate.serial == old

    body = api_client.get(f"/api/v1/certificates/verify/{old}/").json()
    assert body["genuine"] is True
    assert body["status"] == "current"
    page = client.get(f"/verify/{old}/")
    assert page.status_code == 200
    assert 'data-testid="genuine"' in page.content.decode()
    assert client.get("/verify/", {"serial": old})["Location"] == f"/verify/{old}/"
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(certificate.pdf.read())
    call_command("verify_certificate", str(pdf))
    out = capsys.readouterr().out
    assert out.startswith("GENUINE")
    assert old in out
    client.force_login(world["account"].holder)
    assert client.get(f"/certificates/{old}/pdf/").status_code == 200
