"""The certificate PDF is a PDF/A-3b whose associated file is the credential it was issued with.

No independent PDF/A validator (veraPDF) can be installed here or in CI
(docs/decisions/0017-pdfa-and-font-subset.md): the PDF/A-3 structure is read with pypdf and
fontTools, not with the portal's code: the XMP identification, the sRGB output intent and its
ICC profile, every font embedded, no soft masks, the associated files. The printed names with
characters outside the font subset (堃, 喆) are checked in the embedded font program itself."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.core.management import call_command
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.generic import NameObject, StreamObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from common import pdf as common_pdf
from common.pdf import FONT_PATH
from tests.transfers.test_certificates import issue, pdf_text
from transfers.certificates import issuing
from transfers.certificates import pdf as pdf_module
from transfers.certificates.pades import pdf_signature_check
from transfers.models import Certificate

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


@pytest.fixture
def world(certificate_world):
    return certificate_world


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _root(reader: PdfReader) -> Any:
    return reader.trailer["/Root"]


def _xmp(reader: PdfReader) -> ET.Element:
    stream = _root(reader)["/Metadata"].get_object()
    return ET.fromstring(stream.get_data())  # noqa: S314 (the PDF the test issued)


def _xmp_value(root: ET.Element, prefix: str, name: str) -> str | None:
    """An XMP property whether written as an attribute or as an element."""
    key = f"{{{NS[prefix]}}}{name}"
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        if key in description.attrib:
            return description.attrib[key]
        element = description.find(f"{prefix}:{name}", NS)
        if element is not None:
            if element.text and element.text.strip():
                return element.text.strip()
            item = element.find(".//rdf:li", NS)
            if item is not None:
                return item.text
    return None


def _fonts(reader: PdfReader) -> list[Any]:
    found = []
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for font in resources["/Font"].values():
            found.append(_resolve(font))
    return found


def _embedded_file(reader: PdfReader, spec: Any) -> tuple[str, bytes]:
    stream = spec["/EF"]["/F"].get_object()
    return str(stream.get("/Subtype", "")), stream.get_data()


def test_the_pdf_is_pdfa_3b_with_an_srgb_output_intent_and_every_font_embedded(
    world, django_capture_on_commit_callbacks
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    data = certificate.pdf.read()
    reader = PdfReader(io.BytesIO(data))
    root = _root(reader)

    # A PDF 1.7 file (PDF/A-3 is a profile of PDF 1.7): the header, and no later version
    # claimed by the catalog (pyHanko would claim 2.0 for an ECDSA key).
    assert data.startswith(b"%PDF-1.7")
    assert str(root.get("/Version", "/1.7")) in ("/1.7", "/1.6", "/1.5", "/1.4")
    assert reader.trailer.get("/ID")  # the file identifier PDF/A requires

    xmp = _xmp(reader)
    assert _xmp_value(xmp, "pdfaid", "part") == "3"
    assert _xmp_value(xmp, "pdfaid", "conformance") == "B"
    title = _xmp_value(xmp, "dc", "title")
    assert title == "继续教育学时证明 Certificate of learning hours"
    info = reader.trailer.get("/Info")
    if info is not None:  # PDF/A: the Info dictionary, when there is one, says the same
        info = _resolve(info)
        if "/Title" in info:
            assert info["/Title"] == title

    [intent] = [_resolve(i) for i in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    icc = intent["/DestOutputProfile"].get_object()
    profile = icc.get_data()
    assert profile[36:40] == b"acsp"  # an ICC profile
    assert profile[16:20] == b"RGB "  # of an RGB colour space
    assert profile[8] == 2  # version 2, which every part of PDF/A accepts
    assert intent["/OutputConditionIdentifier"] == "sRGB"
    assert icc["/N"] == 3

    fonts = _fonts(reader)
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/Type0"
        [descendant] = [_resolve(d) for d in font["/DescendantFonts"]]
        descriptor = _resolve(descendant["/FontDescriptor"])
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font

    # No transparency to blend: the seal was flattened onto white, nothing has a soft mask.
    resources: list[Any] = [page["/Resources"] for page in reader.pages]
    images = [_resolve(x) for r in resources for x in r["/XObject"].values()]
    assert len(images) >= 2  # the QR code and the seal
    assert all("/SMask" not in image for image in images)


def test_the_credential_is_attached_as_an_associated_file_covered_by_the_pdf_signature(
    world, django_capture_on_commit_callbacks
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    data = certificate.pdf.read()
    reader = PdfReader(io.BytesIO(data))
    root = _root(reader)

    specs = [_resolve(spec) for spec in root["/AF"]]
    by_name = {str(spec["/F"]): spec for spec in specs}
    assert set(by_name) == {"credential.jsonld", "certificate.json"}
    for spec in specs:
        assert spec["/AFRelationship"] == "/Data"
        assert "/UF" in spec
        stream = spec["/EF"]["/F"].get_object()
        assert "/ModDate" in stream["/Params"]
    # Listed among the document's embedded files as well.
    assert set(reader.attachments) == {"credential.jsonld", "certificate.json"}

    # Described in both languages in a reader's attachments panel.
    assert (
        by_name["credential.jsonld"]["/Desc"]
        == "证书的可验证凭证 The certificate as a Verifiable Credential"
    )
    subtype, attached = _embedded_file(reader, by_name["credential.jsonld"])
    assert subtype == "/application/vc+ld+json"  # written /application#2Fvc+ld+json
    assert json.loads(attached) == certificate.vc_json  # the credential as issued
    subtype, attached = _embedded_file(reader, by_name["certificate.json"])
    assert subtype == "/application/json"
    assert json.loads(attached)["content"] == certificate.content

    # Attached before signing: the signature's byte range covers the whole file.
    check = pdf_signature_check(data)
    assert check.ok, check.detail


def _glyph_of(reader: PdfReader, char: str) -> tuple[Any, int]:
    """The font that prints ``char`` on the page, and the CID its code selects (the font's
    /Encoding is a CMap naming the CID of each two-byte code)."""
    for font in _fonts(reader):
        to_unicode = font["/ToUnicode"].get_object().get_data().decode()
        for code, uni in re.findall(r"<([0-9A-F]{4})> <([0-9A-F]{4})>", to_unicode):
            if chr(int(uni, 16)) == char:
                encoding = font["/Encoding"].get_object().get_data().decode()
                cids = dict(re.findall(r"<([0-9A-F]{4})> (\d+)", encoding))
                return font, int(cids[code])
    raise AssertionError(f"{char} is printed with no font")


@pytest.mark.parametrize("name", ["王堃", "李喆"])
def test_a_name_outside_the_font_subset_is_printed_with_its_glyph_embedded(
    world, django_capture_on_commit_callbacks, name
):
    holder = world["account"].holder
    holder.name = name
    holder.save(update_fields=["name"])
    certificate = issue(world, django_capture_on_commit_callbacks)
    data = certificate.pdf.read()
    reader = PdfReader(io.BytesIO(data))

    assert name in pdf_text(data)
    char = name[1]
    font, cid = _glyph_of(reader, char)
    descendant = _resolve(font["/DescendantFonts"][0])
    program = _resolve(descendant["/FontDescriptor"])["/FontFile3"].get_object().get_data()
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(program), None)
    top = cff[cff.fontNames[0]]
    # The source font's glyph for the character, by its own character map (fontTools).
    source = TTFont(FONT_PATH, lazy=True)
    glyph_name = source.getBestCmap()[ord(char)]
    assert glyph_name == f"cid{cid:05d}"  # the code printed selects that glyph
    assert glyph_name in top.CharStrings, f"{char} ({glyph_name}) is not embedded"
    charstring = top.CharStrings[glyph_name]
    charstring.decompile()
    assert len(charstring.program) > 4  # an outline, not an empty glyph
    assert pdf_signature_check(data).ok


def test_where_the_font_subset_cannot_be_kept_the_full_font_prints_everything(
    world, django_capture_on_commit_callbacks, settings, tmp_path, monkeypatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.VAR_DIR = blocker  # VAR_DIR/fonts cannot be made under a file
    assert common_pdf.body_font_path.__wrapped__() == FONT_PATH

    monkeypatch.setattr(common_pdf, "body_font_path", lambda: FONT_PATH)
    holder = world["account"].holder
    holder.name = "王堃"
    holder.save(update_fields=["name"])
    data = issue(world, django_capture_on_commit_callbacks).pdf.read()
    assert "王堃" in pdf_text(data)
    assert len(_fonts(PdfReader(io.BytesIO(data)))) == 1  # the full font needs no fallback
    assert pdf_signature_check(data).ok


# --- verify_certificate names the part that failed ------------------------------------------------


def _verify(path: Any, capsys: Any) -> tuple[bool, str]:
    try:
        call_command("verify_certificate", str(path))
    except SystemExit:
        return False, capsys.readouterr().out
    return True, capsys.readouterr().out


def _credential_replaced(data: bytes, credential: dict[str, Any]) -> bytes:
    """The PDF with its attached credential replaced by ``credential``, as an incremental
    update after the signature (what a PDF editor saving an attachment does)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    for ref in writer.root["/AF"]:
        spec = ref.get_object()
        if str(spec["/F"]) == "credential.jsonld":
            stream = StreamObject(stream_data=json.dumps(credential).encode())
            stream["/Type"] = NameObject("/EmbeddedFile")
            spec["/EF"]["/F"] = writer.add_object(stream)
            writer.update_container(spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_verify_says_the_pdf_signature_and_the_attached_credential_are_genuine(
    world, django_capture_on_commit_callbacks, tmp_path, capsys
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate.pdf.read())

    genuine, out = _verify(path, capsys)
    assert genuine, out
    assert out.startswith("GENUINE (pdf")
    assert "PDF signature valid, whole document" in out
    assert "Attachment: attached credential valid, for this certificate" in out


def test_an_attached_credential_changed_after_signing_is_not_genuine(
    world, django_capture_on_commit_callbacks, tmp_path, capsys
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    data = certificate.pdf.read()
    credential = dict(certificate.vc_json or {})
    credential["validFrom"] = "2001-01-01T00:00:00Z"
    path = tmp_path / "edited.pdf"
    path.write_bytes(_credential_replaced(data, credential))
    assert (
        PdfReader(str(path)).attachments["credential.jsonld"][0]
        != json.dumps(certificate.vc_json).encode()
    )

    genuine, out = _verify(path, capsys)
    assert not genuine
    assert out.startswith("NOT GENUINE (pdf")
    assert "PDF signature broken" in out


def test_a_credential_whose_proof_fails_is_refused_under_a_valid_pdf_signature(
    world, django_capture_on_commit_callbacks, tmp_path, capsys, monkeypatch
):
    """The bank's own PDF signature does not make a wrong credential right: the attachment is
    checked on its own (here the PDF was signed over a credential changed before signing)."""
    render = issuing.certificate_pdf

    def with_changed_credential(*args: Any, credential: Any, **kwargs: Any) -> bytes:
        return render(*args, credential={**credential, "validFrom": "2001-01-01T00:00:00Z"})

    monkeypatch.setattr(issuing, "certificate_pdf", with_changed_credential)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(issue(world, django_capture_on_commit_callbacks).pdf.read())

    genuine, out = _verify(path, capsys)
    assert not genuine
    assert "NOT GENUINE (pdf" in out
    assert "PDF signature: PDF signature valid, whole document" in out
    assert "attached credential not genuine" in out


def test_a_pdfa_without_its_credential_is_not_genuine_and_an_older_pdf_is(
    world, django_capture_on_commit_callbacks, tmp_path, capsys, monkeypatch
):
    render = issuing.certificate_pdf

    def without_credential(*args: Any, credential: Any, **kwargs: Any) -> bytes:
        return render(*args)

    monkeypatch.setattr(issuing, "certificate_pdf", without_credential)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(issue(world, django_capture_on_commit_callbacks).pdf.read())
    genuine, out = _verify(path, capsys)
    assert not genuine
    assert "the PDF/A has no credential.jsonld attached" in out

    class NotArchival(pdf_module.BankDocument):  # as PDFs were made before they were PDF/A
        def __init__(self, title: str, *, archival: bool = False) -> None:
            super().__init__(title)

    monkeypatch.setattr(pdf_module, "BankDocument", NotArchival)
    path.write_bytes(
        issue(
            world, django_capture_on_commit_callbacks, kind=Certificate.Kind.TRANSCRIPT
        ).pdf.read()
    )
    genuine, out = _verify(path, capsys)
    assert genuine, out
    assert "no credential attached (issued before PDFs were PDF/A)" in out


def test_a_printed_figure_other_than_the_signed_one_is_not_genuine(
    world, django_capture_on_commit_callbacks, tmp_path, capsys, monkeypatch
):
    """The page printed 920.0 hours where the signed content and the credential say 120.0 (a
    fault in the bank's rendering, signed all the same): the page is checked against them."""
    multi_cell = pdf_module.BankDocument.multi_cell

    def misprinted(self: Any, w: Any, h: Any = None, text: str = "", *a: Any, **k: Any) -> Any:
        return multi_cell(self, w, h, text.replace("120.0", "920.0"), *a, **k)

    monkeypatch.setattr(pdf_module.BankDocument, "multi_cell", misprinted)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(issue(world, django_capture_on_commit_callbacks).pdf.read())
    assert "920.0" in pdf_text(path.read_bytes())

    genuine, out = _verify(path, capsys)
    assert not genuine
    assert "the printed page does not show the signed hours 120.0" in out
