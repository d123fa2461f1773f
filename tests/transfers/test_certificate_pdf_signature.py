"""The certificate PDF proves itself: a PAdES signature (pyHanko) by the bank's signing
certificate covers the whole file, so a printed figure edited afterwards is caught by pyHanko
and by ``manage.py verify_certificate``; PDFs issued before PDFs were signed still verify by
their embedded content."""

from __future__ import annotations

import base64
import io
import os
import re
from typing import Any

import pytest
from django.core.management import call_command
from pyhanko.pdf_utils.generic import NameObject, StreamObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from tests.transfers.test_certificates import issue, pdf_text
from transfers.certificates import issuing
from transfers.certificates.pades import trust_roots
from transfers.certificates.verification import signed_document_check
from transfers.models import Certificate


@pytest.fixture
def world(certificate_world):
    return certificate_world


def _status(data: bytes) -> Any:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    [signature] = reader.embedded_signatures
    return validate_pdf_signature(
        signature, ValidationContext(trust_roots=trust_roots(), allow_fetching=False)
    )


def _codes(data: bytes) -> dict[str, bytes]:
    """The two-byte glyph code of each character printed with the page's font (fpdf2 writes
    text as codes of its font subset; the ToUnicode map names them)."""
    page: Any = PdfReader(io.BytesIO(data)).pages[0]
    font = next(iter(page["/Resources"]["/Font"].values())).get_object()
    cmap = font["/ToUnicode"].get_data().decode()
    return {
        chr(int(uni, 16)): bytes.fromhex(code)
        for code, uni in re.findall(r"<([0-9A-F]{4})> <([0-9A-F]{4})>", cmap)
    }


def _literal(codes: bytes) -> bytes:
    return codes.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _hours_edited(data: bytes, was: str = "120.0") -> tuple[bytes, str]:
    """The PDF with its printed hours changed (120.0 to 920.0, or to another digit the font
    subset holds), appended as an incremental update that replaces the page's content: what
    a forger with a PDF editor does. Returns the PDF and the new figure."""
    codes = _codes(data)
    new_digit = next(d for d in "9876543" if d in codes)
    now = new_digit + was[1:]
    reader = PdfReader(io.BytesIO(data))
    contents: Any = reader.pages[0].get_contents()
    content = contents.get_data()
    old = _literal(b"".join(codes[c] for c in was))
    assert old in content, "the printed hours are on the first page"
    edited = content.replace(old, _literal(b"".join(codes[c] for c in now)), 1)
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    stream = StreamObject(stream_data=edited)
    stream.compress()
    page[NameObject("/Contents")] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    assert now in pdf_text(out.getvalue())
    return out.getvalue(), now


def _one_byte_of_the_page_changed(data: bytes) -> bytes:
    """The PDF with one byte of the page's compressed content stream changed in place (same
    length, so every offset still holds)."""
    reader = PdfReader(io.BytesIO(data))
    content: Any = reader.pages[0]["/Contents"].get_object()
    raw = content._data  # the stream as stored (compressed)
    at = data.index(raw)
    middle = at + len(raw) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def test_a_fresh_certificate_pdf_is_signed_over_the_whole_file_by_the_banks_certificate(
    world, django_capture_on_commit_callbacks, settings, tmp_path, capsys, api_client
):
    settings.BANK_NAME_ZH = "示范市学分银行"
    settings.BANK_NAME_EN = "Demo City Credit Bank"
    settings.BANK_ADDRESS = "示范路 8 号"
    settings.BANK_CONTACT = "0571-8888 0000"
    certificate = issue(world, django_capture_on_commit_callbacks)
    data = certificate.pdf.read()

    status = _status(data)
    assert status.intact
    assert status.valid
    assert status.trusted  # through the bank's CA
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    text = pdf_text(data)
    for printed in ("示范市学分银行", "DemoCityCreditBank", "示范路8号", "0571-88880000"):
        assert printed in text

    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    # The bank's CA as published next to the Ed25519 key, for offline checks.
    published = api_client.get("/api/v1/certificates/signing-key/").json()
    ca = tmp_path / "bank-ca.pem"
    ca.write_text(published["pdf_trust_roots_pem"])
    call_command("verify_certificate", str(path), "--pdf-trust-roots", str(ca))
    out = capsys.readouterr().out
    assert out.startswith("GENUINE (pdf")
    assert "PDF signature valid, whole document" in out


def test_a_pdf_whose_printed_hours_were_edited_is_not_genuine(
    world, django_capture_on_commit_callbacks, tmp_path, capsys
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    original = certificate.pdf.read()
    edited, _ = _hours_edited(original)

    status = _status(edited)
    assert status.coverage != SignatureCoverageLevel.ENTIRE_FILE
    path = tmp_path / "edited.pdf"
    path.write_bytes(edited)
    with pytest.raises(SystemExit):
        call_command("verify_certificate", str(path))
    out = capsys.readouterr().out
    assert out.startswith("NOT GENUINE (pdf")
    assert "PDF signature broken" in out

    in_place = _one_byte_of_the_page_changed(original)
    assert not _status(in_place).intact
    path.write_bytes(in_place)
    with pytest.raises(SystemExit):
        call_command("verify_certificate", str(path))
    out = capsys.readouterr().out
    assert out.startswith("NOT GENUINE (pdf")
    assert "PDF signature broken" in out


def test_an_unsigned_pdf_is_genuine_only_if_issued_before_pdfs_were_signed(
    world, django_capture_on_commit_callbacks, monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(issuing, "pdf_sign", lambda pdf: pdf)
    stripped = issue(world, django_capture_on_commit_callbacks).pdf.read()
    # A new certificate's content says its PDF was signed: without the signature it is not
    # genuine, so stripping it to edit the page does not pass.
    result = signed_document_check(stripped)
    assert result.genuine is False
    assert "PDF signature missing" in result.detail

    build = issuing.certificate_content_build

    def old_build(*args: Any, **kwargs: Any) -> Any:
        content, decisions = build(*args, **kwargs)
        content.pop("pdf_signature")  # as built before PDFs were signed
        return content, decisions

    monkeypatch.setattr(issuing, "certificate_content_build", old_build)
    old = issue(world, django_capture_on_commit_callbacks, kind=Certificate.Kind.TRANSCRIPT)
    path = tmp_path / "old.pdf"
    path.write_bytes(old.pdf.read())
    call_command("verify_certificate", str(path))
    out = capsys.readouterr().out
    assert out.startswith("GENUINE (pdf")
    assert "no PDF signature (issued before PDFs were signed)" in out


@pytest.mark.parametrize("form", ["pem", "pkcs12"])
def test_production_signs_with_the_configured_certificate(
    world, django_capture_on_commit_callbacks, settings, tmp_path, form
):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509 import load_pem_x509_certificate

    source = tmp_path / "made"
    settings.CERTIFICATE_PDF_DEV_DIR = source  # a CA and certificate of its own, made here
    trust_roots()
    key = serialization.load_pem_private_key((source / "signer.key").read_bytes(), None)
    chain = (source / "signer.pem").read_bytes() + (source / "ca.pem").read_bytes()
    settings.CERTIFICATE_PDF_DEV_DIR = tmp_path / "unused"
    settings.PRODUCTION = True
    settings.CERTIFICATE_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
    if form == "pem":
        (tmp_path / "chain.pem").write_bytes(chain)
        settings.CERTIFICATE_PDF_SIGNING_KEY_FILE = str(source / "signer.key")
        settings.CERTIFICATE_PDF_SIGNING_CERTS_FILE = str(tmp_path / "chain.pem")
    else:
        bundle = pkcs12.serialize_key_and_certificates(
            b"bank",
            key,  # type: ignore[arg-type]
            load_pem_x509_certificate((source / "signer.pem").read_bytes()),
            [load_pem_x509_certificate((source / "ca.pem").read_bytes())],
            serialization.BestAvailableEncryption(b"secret"),
        )
        (tmp_path / "bank.p12").write_bytes(bundle)
        settings.CERTIFICATE_PDF_PKCS12_FILE = str(tmp_path / "bank.p12")
        settings.CERTIFICATE_PDF_PKCS12_PASSWORD = "secret"
    certificate = issue(world, django_capture_on_commit_callbacks)

    status = _status(certificate.pdf.read())
    assert status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert not (tmp_path / "unused").exists()  # nothing made in production
