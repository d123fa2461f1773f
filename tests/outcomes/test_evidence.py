"""outcomes.evidence: every file of the corpus is refused with its reason; genuine files are
accepted, PDFs as uploaded and images re-encoded without what they carried besides pixels; and
no bytes at all make it raise anything but ValidationError."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pylopdf_fonts_zh_cn
import pytest
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from fpdf import FPDF
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from outcomes import evidence
from outcomes.evidence import (
    ERROR_CODES,
    MAX_BYTES,
    MAX_PAGES,
    CleanEvidence,
    evidence_check,
)

CORPUS = Path(__file__).parent / "corpus"
NOT_CASES = {"make_corpus.py", "README.md", "expected.json"}
EXPECTED: dict[str, str] = json.loads((CORPUS / "expected.json").read_text())


def _load_make_corpus():
    # The corpus folder is not a package: the script is meant to be run on its own.
    spec = importlib.util.spec_from_file_location(
        "evidence_corpus_maker", CORPUS / "make_corpus.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make_corpus = _load_make_corpus()


@pytest.fixture(autouse=True)
def _english(english):
    """Messages are asserted in English."""


def refusal(data: bytes, filename: str = "") -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        evidence_check(data, filename=filename)
    return caught.value


def outcome(data: bytes) -> str | None:
    """The code of the refusal, or None if the file is accepted."""
    try:
        evidence_check(data, filename="upload")
    except ValidationError as error:
        return error.code
    return None


# -- The corpus ----------------------------------------------------------------------------------


def test_every_corpus_file_has_an_expected_code_and_a_line_in_the_readme():
    on_disk = {path.name for path in CORPUS.iterdir() if path.name not in NOT_CASES}
    assert on_disk == set(EXPECTED)
    assert {case.filename: case.code for case in make_corpus.CASES} == EXPECTED
    assert set(EXPECTED.values()) <= ERROR_CODES
    readme = (CORPUS / "README.md").read_text()
    for name, code in EXPECTED.items():
        assert f"| `{name}` | {code} |" in readme


def test_the_corpus_is_large_enough_and_small_enough_to_commit():
    assert len(EXPECTED) >= 55
    assert sum((CORPUS / name).stat().st_size for name in EXPECTED) < 3 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_refuses_each_corpus_file_with_its_reason_in_a_readable_message(name):
    error = refusal((CORPUS / name).read_bytes(), filename=name)
    assert error.code == EXPECTED[name]
    # Translatable, and a whole sentence naming the file, with every placeholder filled in.
    assert isinstance(error.message, Promise)
    text = error.messages[0]
    assert text.startswith(f"We could not accept {name}: ")
    assert text.endswith(".")
    assert "%(" not in text


def test_the_corpus_base_files_are_accepted_so_each_refusal_is_for_the_flaw_added():
    assert evidence_check(make_corpus.base_pdf()).pages == 1
    assert evidence_check(make_corpus.base_png()).content_type == "image/png"
    assert evidence_check(make_corpus.base_jpeg()).content_type == "image/jpeg"


def test_the_base_pdf_with_an_object_stream_is_accepted():
    data = make_corpus.build_pdf(
        make_corpus.objects(catalog=b"/OpenAction 6 0 R "),
        compressed={6: b"[3 0 R /Fit]"},
    )
    assert evidence_check(data).pages == 1


@pytest.mark.parametrize("name", ["flate-bomb.pdf", "flate-bomb-in-ascii-hex.pdf"])
def test_a_compression_bomb_is_refused_as_too_complex(name):
    assert "too complex to check" in refusal((CORPUS / name).read_bytes()).messages[0]


def test_a_bomb_is_inflated_only_as_far_as_the_budget():
    bomb = make_corpus.deflate(make_corpus.repeated(b"\x00" * 1024 * 1024, 64, batch=1))
    measured = evidence._inflated_size(bomb, 2 * 1024 * 1024)
    assert 2 * 1024 * 1024 < measured <= 3 * 1024 * 1024


def test_an_ordinary_stream_is_measured_in_full():
    data = bytes(range(256)) * 10_000
    assert evidence._inflated_size(zlib.compress(data), 10**9) == len(data)
    raw_deflate = zlib.compressobj(wbits=-15)
    headerless = raw_deflate.compress(data) + raw_deflate.flush()
    assert evidence._inflated_size(headerless, 10**9) == len(data)


# -- Genuine PDFs ------------------------------------------------------------------------------

FONT = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"


def certificate_pdf(pages: int = 1) -> bytes:
    """A certificate as issuers make them: an embedded CJK font, a photo, a verification link
    (whose path contains "/JS/", which is not the name /JS)."""
    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 6, 15, tzinfo=UTC))
    pdf.add_font("noto", fname=str(FONT))
    photo = io.BytesIO()
    Image.new("RGB", (120, 160), (90, 120, 200)).save(photo, format="PNG")
    for number in range(pages):
        pdf.add_page()
        pdf.set_font("noto", size=14)
        pdf.cell(text=f"幼儿园园长资格证书 Certificate {number + 1}")
        pdf.image(photo, x=150, y=20, w=30)
        pdf.set_xy(10, 60)
        pdf.cell(text="Verify", link="https://verify.example.cn/JS/launch/certificate?id=42")
    return bytes(pdf.output())


def test_it_accepts_a_genuine_pdf_and_keeps_it_byte_for_byte():
    data = certificate_pdf(pages=3)
    # The link is in the file's own syntax, where the scan for active names looks.
    assert b"/JS/launch/" in data
    clean = evidence_check(data, filename="证书.pdf")
    assert clean == CleanEvidence(
        content=data,
        content_type="application/pdf",
        extension=".pdf",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        pages=3,
        width=None,
        height=None,
    )


def test_it_accepts_a_pdf_of_exactly_the_maximum_number_of_pages():
    assert evidence_check(make_corpus.many_pages(MAX_PAGES)).pages == MAX_PAGES


def test_a_pdf_of_one_page_more_is_refused_with_the_limit():
    error = refusal(make_corpus.many_pages(MAX_PAGES + 1), filename="book.pdf")
    assert error.code == "too_many_pages"
    assert "more than 500 pages" in error.messages[0]


def pdf_with_junk(junk: bytes) -> bytes:
    """The base PDF with ``junk`` between its trailer and startxref, where no object moves."""
    pdf = make_corpus.base_pdf()
    at = pdf.rindex(b"startxref")
    return pdf[:at] + junk + b"\n" + pdf[at:]


def under_the_token_limit(piece: bytes, tokens_in_piece: int) -> bytes:
    return piece * (evidence.MAX_PDF_TOKENS // tokens_in_piece - 1_000)


# Each just under the limit of tokens, so that the scan runs on all of it. They took minutes
# when streams and strings were matched by regular expressions, which backtrack quadratically
# on unclosed ones.
@pytest.mark.parametrize(
    ("junk", "code"),
    [
        pytest.param(under_the_token_limit(b"<<>>stream\n", 5), None, id="unterminated streams"),
        pytest.param(b"(" + under_the_token_limit(b"\\(", 2), None, id="an unclosed string"),
        pytest.param(
            under_the_token_limit(b"(\\(/JS", 5), "active_content", id="names in unclosed strings"
        ),
        pytest.param(under_the_token_limit(b"/a#20", 2), "corrupt", id="escaped names"),
    ],
)
def test_hostile_syntax_is_scanned_in_linear_time(junk, code):
    started = time.monotonic()
    assert outcome(pdf_with_junk(junk)) == code
    assert time.monotonic() - started < 2


def test_a_pdf_with_more_tokens_than_pypdf_parses_quickly_is_refused_before_it_parses_them():
    started = time.monotonic()
    error = refusal(pdf_with_junk(b"1 " * (evidence.MAX_PDF_TOKENS + 1)))
    assert "too complex to check" in error.messages[0]
    assert time.monotonic() - started < 2


def test_an_encrypted_pdf_is_refused_even_without_a_password():
    error = refusal(make_corpus.encrypted_pdf(""))
    assert error.code == "encrypted"
    assert "without a password" in error.messages[0]


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("openaction-javascript.pdf", "JavaScript"),
        ("launch-action.pdf", "starts a program"),
        ("embedded-files.pdf", "embedded file"),
        ("submit-form.pdf", "sends data over the internet"),
        ("xfa-form.pdf", "XFA form"),
        ("uri-javascript-link.pdf", "runs a script"),
    ],
)
def test_it_says_what_active_content_a_pdf_contains(name, what):
    assert what in refusal((CORPUS / name).read_bytes()).messages[0]


# -- Genuine images --------------------------------------------------------------------------

PHP = "<?php system($_GET['c']); ?>"
GPS = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}


def camera_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Camera"
    exif[ExifTags.Base.ImageDescription] = PHP
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    return exif


def halves(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Red on the left, blue on the right."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def encoded(image: Image.Image, image_format: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **params)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(pixel, colour, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF/></x:xmpmeta>"


def test_a_photo_is_re_encoded_upright_without_exif_gps_comment_or_trailing_data():
    original = encoded(
        halves(),
        "JPEG",
        # Orientation 6: the camera was turned, the viewer turns the image 90° clockwise.
        exif=camera_exif(orientation=6),
        comment=PHP.encode(),
        icc_profile=SRGB,
        xmp=XMP,
    )
    assert opened(original).getexif().get_ifd(ExifTags.IFD.GPSInfo) == GPS
    for carried in (b"<?php", b"ICC_PROFILE", b"xmpmeta"):
        assert carried in original
    uploaded = original + make_corpus.zip_archive({"shell.php": PHP.encode()})
    clean = evidence_check(uploaded, filename="photo.jpg")
    assert (clean.content_type, clean.extension) == ("image/jpeg", ".jpg")
    assert (clean.width, clean.height) == (20, 40)
    assert clean.sha256 == hashlib.sha256(uploaded).hexdigest()
    assert clean.size == len(clean.content)
    for leftover in (b"Exif", b"<?php", b"Camera", b"ICC_PROFILE", b"xmpmeta", b"PK\x03\x04"):
        assert leftover not in clean.content
    assert clean.content.endswith(b"\xff\xd9")
    stored = opened(clean.content)
    assert stored.format == "JPEG"
    assert not stored.getexif()
    assert "comment" not in stored.info
    # Turned: what was on the left is now at the top.
    assert close_to(stored.getpixel((10, 5)), (255, 0, 0))
    assert close_to(stored.getpixel((10, 35)), (0, 0, 255))


def test_a_png_is_re_encoded_with_the_same_pixels_and_nothing_else():
    image = Image.frombytes("RGB", (32, 16), bytes(range(256)) * 6)
    text = PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    original = encoded(image, "PNG", exif=camera_exif(), pnginfo=text, icc_profile=SRGB)
    assert opened(original).getexif().get_ifd(ExifTags.IFD.GPSInfo) == GPS
    assert b"iCCP" in original
    uploaded = original + b"<html><script>alert(document.cookie)</script></html>"
    clean = evidence_check(uploaded, filename="scan.png")
    assert (clean.content_type, clean.extension) == ("image/png", ".png")
    assert (clean.width, clean.height) == (32, 16)
    for leftover in (b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"<script", b"<?php", b"adobe"):
        assert leftover not in clean.content
    # Nothing after the end chunk.
    assert clean.content.endswith(b"IEND\xaeB`\x82")
    stored = opened(clean.content)
    assert stored.tobytes() == image.tobytes()
    assert not stored.getexif()


def test_a_valid_png_with_html_appended_is_accepted_and_the_html_dropped():
    png = make_corpus.base_png()
    clean = evidence_check(png + make_corpus.HTML, filename="x.png")
    assert b"<html" not in clean.content.lower()
    assert opened(clean.content).tobytes() == opened(png).tobytes()


def test_the_hash_is_of_the_upload_so_a_second_upload_of_a_photo_is_recognised():
    photo = encoded(halves(), "JPEG")
    assert evidence_check(photo).sha256 == evidence_check(photo).sha256
    assert evidence_check(photo).sha256 == hashlib.sha256(photo).hexdigest()


@pytest.mark.parametrize(
    ("image", "image_format", "mode"),
    [
        (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", "RGB"),
        (Image.new("L", (8, 8), 128), "JPEG", "L"),
        (Image.new("1", (8, 8), 1), "PNG", "L"),
        (Image.new("LA", (8, 8), (128, 100)), "PNG", "LA"),
        (Image.new("RGBA", (8, 8), (1, 2, 3, 4)), "PNG", "RGBA"),
        (Image.new("P", (8, 8), 3), "PNG", "RGB"),
    ],
)
def test_it_converts_modes_to_what_viewers_show(image, image_format, mode):
    clean = evidence_check(encoded(image, image_format))
    assert opened(clean.content).mode == mode


def test_a_palette_image_keeps_its_transparency_as_an_alpha_channel():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.paste(1, (0, 0, 4, 8))
    clean = evidence_check(encoded(image, "PNG", transparency=0))
    stored = opened(clean.content)
    assert stored.mode == "RGBA"
    assert stored.getpixel((0, 0)) == (255, 0, 0, 255)
    corner = stored.getpixel((7, 0))
    assert isinstance(corner, tuple)
    assert corner[3] == 0


def test_16_bit_grey_is_scaled_to_8_bits_rather_than_clipped():
    image = Image.new("I;16", (2, 1))
    image.putpixel((0, 0), 65535)
    image.putpixel((1, 0), 32768)
    stored = opened(evidence_check(encoded(image, "PNG")).content)
    assert stored.mode == "L"
    assert (stored.getpixel((0, 0)), stored.getpixel((1, 0))) == (255, 128)


def test_an_image_at_the_pixel_limit_is_accepted():
    # 1-bit black: 40 million pixels in a few kilobytes, decoded and re-encoded in a second.
    side = 5_000, 8_000
    clean = evidence_check(make_corpus.one_colour_png(*side))
    assert (clean.width, clean.height) == side


def test_a_jpeg_with_more_scans_than_the_limit_is_refused_before_it_is_decoded(monkeypatch):
    progressive = encoded(halves(), "JPEG", progressive=True)
    scans = progressive.count(b"\xff\xda")
    assert scans > 1
    assert evidence_check(progressive).content_type == "image/jpeg"
    monkeypatch.setattr(evidence, "MAX_JPEG_SCANS", scans - 1)
    assert refusal(progressive).code == "corrupt"


def test_it_never_trusts_the_name_a_pdf_is_named_as_a_photo_is_still_a_pdf():
    clean = evidence_check(make_corpus.base_pdf(), filename="photo.jpg")
    assert (clean.content_type, clean.extension) == ("application/pdf", ".pdf")


# -- Size ------------------------------------------------------------------------------------


def png_of_size(size: int) -> bytes:
    """A valid PNG of exactly ``size`` bytes, padded with a private ancillary chunk."""
    png = make_corpus.base_png()
    padding = size - len(png) - 12
    chunk = make_corpus.png_chunk(b"prVt", b"\x00" * padding)
    return png[:33] + chunk + png[33:]


def pdf_of_size(size: int) -> bytes:
    """A valid PDF of exactly ``size`` bytes, padded with comment lines before startxref,
    which moves no object."""
    pdf = make_corpus.base_pdf()
    at = pdf.rindex(b"startxref")
    room = size - len(pdf)
    lines = b"%" + b"x" * 78 + b"\n"
    padding = lines * (room // len(lines))
    padding += b"%" + b"x" * (room - len(padding) - 2) + b"\n"
    return pdf[:at] + padding + pdf[at:]


@pytest.fixture
def one_megabyte(settings):
    settings.EVIDENCE_MAX_BYTES = 1024 * 1024
    return 1024 * 1024


@pytest.mark.parametrize("make", [png_of_size, pdf_of_size])
def test_a_file_of_exactly_the_limit_is_accepted(one_megabyte, make):
    data = make(one_megabyte)
    assert len(data) == one_megabyte
    assert evidence_check(data) is not None


@pytest.mark.parametrize("make", [png_of_size, pdf_of_size])
def test_a_file_one_byte_over_the_limit_is_refused_with_the_limit(one_megabyte, make):
    data = make(one_megabyte + 1)
    assert len(data) == one_megabyte + 1
    error = refusal(data, filename="scan.pdf")
    assert error.code == "too_large"
    assert "larger than 1 MB" in error.messages[0]


def test_a_limit_that_is_not_whole_megabytes_is_shown_with_a_decimal(settings):
    settings.EVIDENCE_MAX_BYTES = 1536 * 1024
    assert "larger than 1.5 MB" in refusal(b"\x00" * (1536 * 1024 + 1)).messages[0]


def test_without_the_setting_the_limit_is_10_megabytes(settings):
    if hasattr(settings, "EVIDENCE_MAX_BYTES"):
        del settings.EVIDENCE_MAX_BYTES
    assert MAX_BYTES == 10 * 1024 * 1024
    assert evidence_check(pdf_of_size(MAX_BYTES)).size == MAX_BYTES
    error = refusal(pdf_of_size(MAX_BYTES + 1))
    assert error.code == "too_large"
    assert "larger than 10 MB" in error.messages[0]


def test_an_empty_file_is_refused():
    error = refusal(b"", filename="certificate.pdf")
    assert error.code == "empty"
    assert error.messages == ["We could not accept certificate.pdf: the file is empty."]


# -- Names in messages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("C:\\Users\\li\\Desktop\\证书.pdf", "证书.pdf"),
        ("/home/li/scan.pdf", "scan.pdf"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("a\x00b\nc.pdf", "abc.pdf"),
        ("", "this file"),
        ("   ", "this file"),
    ],
)
def test_messages_name_the_file_without_its_path_or_invisible_characters(filename, shown):
    assert refusal(b"", filename=filename).messages[0].startswith(f"We could not accept {shown}:")


def test_a_very_long_name_is_shortened():
    text = refusal(b"", filename="x" * 500 + ".pdf").messages[0]
    assert "x" * 79 + "…" in text
    assert ".pdf" not in text


# -- Scanners ----------------------------------------------------------------------------------


def test_the_first_scanner_to_name_a_threat_refuses_the_file(monkeypatch):
    monkeypatch.setattr(
        evidence,
        "SCANNERS",
        [lambda data: None, lambda data: "Win.Test.Example", lambda data: "Other"],
    )
    error = refusal(make_corpus.base_pdf(), filename="a.pdf")
    assert error.code == "malware"
    assert "found Win.Test.Example" in error.messages[0]


def test_a_file_no_scanner_could_check_is_refused(monkeypatch):
    def unavailable(data: bytes) -> str | None:
        raise ConnectionRefusedError("clamd is down")

    monkeypatch.setattr(evidence, "SCANNERS", [unavailable])
    assert refusal(make_corpus.base_pdf()).code == "scan_failed"


def test_eicar_is_found_anywhere_in_a_file():
    assert refusal(b"%PDF-1.7\n" + b" " * 5000 + make_corpus.EICAR).code == "malware"


# -- Properties --------------------------------------------------------------------------------


def examples(count: int) -> hypothesis_settings:
    """About 300 examples in all keep the file quick; the deadline is generous, since a slow
    CI machine must not fail these: what they guard against is a hang."""
    return hypothesis_settings(
        max_examples=count,
        deadline=timedelta(seconds=5),
        suppress_health_check=[HealthCheck.too_slow],
    )


# Far enough into each format that the parser, not the signature check, meets the noise.
PREFIX = {
    "pdf": b"%PDF-1.7\n",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    "png": make_corpus.PNG_SIGNATURE
    + make_corpus.png_chunk(b"IHDR", b"\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00"),
}
# Without an end-of-file marker a PDF is refused before pypdf sees it.
SUFFIX = {"pdf": b"\n%%EOF\n", "jpeg": b"", "png": b""}
VALID = {
    "pdf": make_corpus.base_pdf(),
    "jpeg": make_corpus.base_jpeg(),
    "png": make_corpus.base_png(),
}


def check_outcome(data: bytes) -> None:
    """Accepted with a consistent result, or refused with a known code; nothing else."""
    refused: ValidationError | None
    try:
        clean = evidence_check(data, filename="upload")
    except ValidationError as error:
        refused = error
    else:
        refused = None
    if refused is not None:
        assert refused.code in ERROR_CODES
        assert refused.messages[0].startswith("We could not accept upload: ")
        return
    assert clean.size == len(clean.content)
    assert clean.sha256 == hashlib.sha256(data).hexdigest()
    if clean.content_type == "application/pdf":
        assert clean.content == data
    else:
        stored = opened(clean.content)
        assert (stored.width, stored.height) == (clean.width, clean.height)
        assert "exif" not in stored.info


@examples(50)
@given(data=st.binary(max_size=4096))
def test_any_bytes_are_accepted_or_refused_with_a_validation_error(data):
    check_outcome(data)


@pytest.mark.parametrize("kind", sorted(PREFIX))
@examples(40)
@given(middle=st.binary(max_size=4096))
def test_any_bytes_behind_a_header_are_accepted_or_refused(kind, middle):
    check_outcome(PREFIX[kind] + middle + SUFFIX[kind])


PDF_TOKENS = [
    *(b"<<", b">>", b"[", b"]", b"(x)", b"<00>", b"0", b"-1", b"3.5", b"99999999999"),
    *(b"true", b"null", b"1 0 R", b"2 0 R", b"3 0 R", b"4 0 R", b"stream\n", b"endstream"),
    *(b"/Type", b"/Catalog", b"/Pages", b"/Page", b"/Kids", b"/Count", b"/Parent", b"/Length"),
    *(b"/Filter", b"/FlateDecode", b"/AHx", b"/S", b"/URI", b"/JavaScript", b"/JS", b"/J#53"),
    *(b"/OpenAction", b"/AA", b"/Launch", b"/EF", b"/Encrypt", b"/ObjStm", b"/Subtype"),
]
pdf_bodies = st.lists(st.sampled_from(PDF_TOKENS), max_size=40).map(b" ".join)


@examples(30)
@given(bodies=st.lists(pdf_bodies, min_size=1, max_size=4))
def test_any_objects_in_a_well_formed_pdf_are_accepted_or_refused(bodies):
    check_outcome(make_corpus.build_pdf(dict(enumerate(bodies, start=1))))


@pytest.mark.parametrize("kind", sorted(VALID))
@examples(30)
@given(data=st.data())
def test_a_genuine_file_damaged_anywhere_is_accepted_or_refused(kind, data):
    original = VALID[kind]
    position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    replacement = data.draw(st.binary(min_size=0, max_size=8))
    cut = data.draw(st.booleans())
    damaged = original[:position] + replacement + (b"" if cut else original[position + 1 :])
    check_outcome(damaged)


@pytest.mark.parametrize("kind", ["png", "jpeg"])
@examples(5)
@given(tail=st.binary(min_size=1, max_size=2048))
def test_whatever_follows_a_genuine_image_is_not_stored(kind, tail):
    clean = evidence_check(VALID[kind] + tail)
    assert clean.content == evidence_check(VALID[kind]).content
