"""The check every evidence file goes through before it is stored.

Pure functions: no models, no database, no storage. A file is judged by its content alone; the
name the learner gave it and the Content-Type their browser declared are never trusted, and the
name appears only in messages. Three kinds of file are accepted:

* PDF, stored exactly as uploaded once it has passed: parseable, not encrypted, no JavaScript,
  actions that reach outside the document, embedded files, XFA forms or multimedia, at most
  ``MAX_PAGES`` pages;
* JPEG and PNG, fully decoded and then re-encoded from their pixels alone, so that what is
  stored carries no metadata (EXIF with GPS positions, XMP, comments, ICC profiles) and nothing
  hidden after or inside the image (an HTML page or ZIP archive appended to it, a polyglot).

Every refusal is a ``ValidationError`` with a message for the learner and one of the codes in
``ERROR_CODES``; no other exception escapes, whatever the bytes. Hostile files are expected, so
the work each step may do is bounded before it starts: pixels are counted before an image is
decoded, compressed PDF data is measured in pieces and never kept, the tokens pypdf would parse
are counted before it parses them, and the byte scans take time linear in the file's size.

The tests and the corpus of refused files are in tests/outcomes/ (see corpus/README.md).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps
from pypdf import PdfReader, apply_configuration
from pypdf.filters import ASCII85Decode, ASCIIHexDecode
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    StreamObject,
)

if TYPE_CHECKING:
    # Ships with django-stubs, a development dependency only.
    from django_stubs_ext import StrOrPromise


PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
# The accepted content types and the extension a stored file of each gets.
ALLOWED: dict[str, str] = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}

MAX_BYTES = 10 * 1024 * 1024  # per file; settings.EVIDENCE_MAX_BYTES overrides
MAX_PIXELS = 40_000_000  # an A4 page scanned at 600 dpi is 35 million
MAX_PAGES = 500
# Indirect objects, dictionaries and arrays we are willing to look at in one PDF. Ordinary
# certificates have hundreds; a scanned book some tens of thousands.
MAX_PDF_OBJECTS = 200_000

ERROR_CODES = frozenset(
    {
        "empty",
        "too_large",
        "malware",
        "scan_failed",
        "type",
        "corrupt",
        "image_too_large",
        "encrypted",
        "active_content",
        "too_many_pages",
    }
)


@dataclass(frozen=True)
class CleanEvidence:
    # What will be stored: the PDF as uploaded, or the re-encoded image.
    content: bytes
    content_type: str  # a key of ALLOWED
    extension: str  # ALLOWED[content_type]
    # Of the ORIGINAL upload, so that uploading the same file twice is noticed even though a
    # re-encoded image differs from what was uploaded.
    sha256: str
    size: int  # len(content)
    pages: int | None  # PDFs only
    width: int | None  # images only, after EXIF orientation is applied
    height: int | None


# -- Virus scanning ----------------------------------------------------------------------------

# A scanner looks at the raw bytes and names the threat it finds, or returns None. The first
# name any scanner gives refuses the file; a scanner that fails refuses it too, since a file
# nobody could check must not be stored. A real scanner (clamd, say) is appended at start-up.
Scanner = Callable[[bytes], "str | None"]

# The EICAR test file, which every antivirus product reports as if it were a virus, so that the
# whole refusal path can be exercised without real malware. Joined at run time, so that neither
# this file nor its bytecode is reported by a scanner on a developer's machine.
EICAR = b"".join([b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$", b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"])


def eicar_scanner(data: bytes) -> str | None:
    return "EICAR-Test-File" if EICAR in data else None


SCANNERS: list[Scanner] = [eicar_scanner]


# -- Entry point -------------------------------------------------------------------------------

PDF_MAGIC = b"%PDF-"
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def evidence_check(data: bytes, *, filename: str = "") -> CleanEvidence:
    """Check one uploaded file and return what may be stored, or raise ValidationError.

    ``filename`` is the learner's name for the file, used in messages only.
    """
    name = _display_name(filename)
    if not data:
        raise _refusal(_("We could not accept %(name)s: the file is empty."), "empty", name)
    limit = int(getattr(settings, "EVIDENCE_MAX_BYTES", MAX_BYTES))
    if len(data) > limit:
        raise _refusal(
            _(
                "We could not accept %(name)s: it is larger than %(limit)s MB, the largest file "
                "we accept. Please upload a smaller file, for example a scan at a lower "
                "resolution."
            ),
            "too_large",
            name,
            limit=_megabytes(limit),
        )
    _scan(data, name)
    sha256 = hashlib.sha256(data).hexdigest()
    if data.startswith(PDF_MAGIC):
        pages = _check_pdf(data, name)
        return CleanEvidence(
            content=data,
            content_type=PDF,
            extension=ALLOWED[PDF],
            sha256=sha256,
            size=len(data),
            pages=pages,
            width=None,
            height=None,
        )
    if data.startswith(JPEG_MAGIC):
        content_type = JPEG
    elif data.startswith(PNG_MAGIC):
        content_type = PNG
    else:
        raise _refusal(
            _(
                "We could not accept %(name)s: it is not a PDF, JPEG or PNG file. Please upload "
                "a PDF, JPEG or PNG file; a document in another format can be saved or printed "
                "as PDF first."
            ),
            "type",
            name,
        )
    content, width, height = _clean_image(data, content_type, name)
    return CleanEvidence(
        content=content,
        content_type=content_type,
        extension=ALLOWED[content_type],
        sha256=sha256,
        size=len(content),
        pages=None,
        width=width,
        height=height,
    )


def _refusal(
    message: StrOrPromise, code: str, name: StrOrPromise, **params: Any
) -> ValidationError:
    return ValidationError(message, code=code, params={"name": name, **params})


def _display_name(filename: str) -> StrOrPromise:
    """The file's name as it may appear in a message.

    Browsers of old sent the whole path; control and formatting characters are dropped, the
    right-to-left override above all, which can make "gpj.exe" read as "exe.jpg".
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    shown = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(shown) > 80:
        shown = shown[:79] + "…"
    return shown or _("this file")


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f}" if megabytes == int(megabytes) else f"{megabytes:.1f}"


def _scan(data: bytes, name: StrOrPromise) -> None:
    for scanner in SCANNERS:
        try:
            threat = scanner(data)
        except Exception:
            raise _refusal(
                _(
                    "We could not accept %(name)s: it could not be checked for viruses just "
                    "now. Please try again later."
                ),
                "scan_failed",
                name,
            ) from None
        if threat is not None:
            raise _refusal(
                _(
                    "We could not accept %(name)s: our virus check found %(threat)s in it. "
                    "Please check your computer for viruses."
                ),
                "malware",
                name,
                threat=threat,
            )


# -- Images ------------------------------------------------------------------------------------

PILLOW_FORMATS = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",)}
KIND = {JPEG: "JPEG", PNG: "PNG"}
# Scans of a progressive JPEG. Encoders write about ten; libjpeg decodes thousands of tiny
# ones slowly enough to be a denial of service, so many scans are refused before decoding.
MAX_JPEG_SCANS = 100
# Pillow reads the markers before the first scan, and a PNG's chunks, one at a time in Python:
# millions of empty ones in a 10 MB file take it several seconds. Real files have tens of
# markers, and hundreds or a few thousand chunks (image data is cut into 8 KiB chunks).
MAX_JPEG_MARKERS = 1_000
MAX_PNG_CHUNKS = 20_000
JPEG_MARKER = re.compile(rb"\xff+([^\xff])")  # fill bytes, then the marker's code
JPEG_QUALITY = 90


def _clean_image(data: bytes, content_type: str, name: StrOrPromise) -> tuple[bytes, int, int]:
    """The image re-encoded from its pixels alone, with its width and height."""
    kind = KIND[content_type]
    corrupt = _refusal(
        _(
            "We could not accept %(name)s: it looks like a %(kind)s image but cannot be read; "
            "it may be damaged or incomplete. Please save or export it again and upload that."
        ),
        "corrupt",
        name,
        kind=kind,
    )
    too_large = _refusal(
        _(
            "We could not accept %(name)s: the image has more than %(limit)s million pixels. "
            "Please reduce its size and upload it again."
        ),
        "image_too_large",
        name,
        limit=MAX_PIXELS // 1_000_000,
    )
    # A marker byte 0xFF in entropy-coded data is always followed by 0x00, so this counts
    # scan headers (and at most a few in an embedded thumbnail), never image data.
    if content_type == JPEG and (
        data.count(b"\xff\xda") > MAX_JPEG_SCANS or _jpeg_markers(data) > MAX_JPEG_MARKERS
    ):
        raise corrupt
    if content_type == PNG and _png_chunks(data) > MAX_PNG_CHUNKS:
        raise corrupt
    try:
        # Only the decoder the magic bytes name, so that what Pillow reads is the format we
        # detected: a PNG signature in front of JPEG data is not "an image" but a lie.
        image = Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[content_type][0]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Raised by Pillow's own, higher limit (or its warning when warnings are errors).
        raise too_large from None
    except Exception:
        raise corrupt from None
    with image:
        width, height = image.size
        # The size is in the header: refuse before decoding allocates width × height pixels.
        if width * height > MAX_PIXELS:
            raise too_large
        if image.format not in PILLOW_FORMATS[content_type]:
            raise corrupt
        try:
            image.load()
            oriented = _oriented(image)
        except Exception:
            # Pillow's decoders answer hostile input with OSError, SyntaxError, ValueError,
            # struct.error, zlib.error, EOFError… all of which mean the same to the learner.
            raise corrupt from None
    try:
        content = _reencoded(oriented, content_type)
    except Exception:
        raise corrupt from None
    return content, oriented.width, oriented.height


def _jpeg_markers(data: bytes) -> int:
    """Markers and fill bytes before the first scan, counted to just past MAX_JPEG_MARKERS."""
    position, count = 2, 0
    while count <= MAX_JPEG_MARKERS:
        marker = JPEG_MARKER.match(data, position)
        if marker is None:
            return count  # not a marker where one must be: Pillow refuses the file
        count += marker.end() - marker.start() - 1
        position = marker.end()
        code = marker.group(1)[0]
        if code in (0xDA, 0xD9):  # start of scan, end of image
            return count
        if not (0xD0 <= code <= 0xD8 or code == 0x01):  # markers without a length
            position += int.from_bytes(data[position : position + 2], "big")
    return count


def _png_chunks(data: bytes) -> int:
    """Chunks up to the end chunk, counted to just past MAX_PNG_CHUNKS."""
    position, count = len(PNG_MAGIC), 0
    while count <= MAX_PNG_CHUNKS and position + 8 <= len(data):
        count += 1
        if data[position + 4 : position + 8] == b"IEND":
            break
        position += 12 + int.from_bytes(data[position : position + 4], "big")
    return count


def _oriented(image: Image.Image) -> Image.Image:
    """A copy of the image turned the way its EXIF orientation says, since that tag is about
    to be dropped with the rest of the metadata."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # Malformed EXIF: keep the pixels as stored rather than refuse a readable photo.
        return image.copy()


def _reencoded(image: Image.Image, content_type: str) -> bytes:
    if image.mode.startswith("I"):
        # 16-bit grey (PNG only): Pillow's direct conversion to 8 bits clips everything above
        # 255 to white, so the values are scaled first.
        pixels = image.convert("I").point(lambda value: value / 256).convert("L")
    else:
        pixels = image.convert(_output_mode(image, content_type))
    # A fresh image holds the pixels and nothing else: no info dictionary, no EXIF, no ICC
    # profile, no text chunks, whatever Pillow's encoders would otherwise carry over.
    fresh = Image.new(pixels.mode, pixels.size)
    fresh.paste(pixels)
    out = io.BytesIO()
    if content_type == JPEG:
        fresh.save(out, format="JPEG", quality=JPEG_QUALITY)
    else:
        fresh.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _output_mode(image: Image.Image, content_type: str) -> str:
    mode = image.mode
    if content_type == JPEG:
        # JPEG holds grey or colour; CMYK and YCCK photos are converted for every viewer.
        return "L" if mode == "L" else "RGB"
    if mode in ("PA", "LA", "RGBA", "RGBa", "La") or "transparency" in image.info:
        # The transparency of palette, grey and RGB images lives in the info dictionary we
        # drop, so it becomes an alpha channel.
        return "LA" if mode in ("L", "LA", "La", "1") else "RGBA"
    return "L" if mode in ("1", "L") else "RGB"


# -- PDF ---------------------------------------------------------------------------------------

# What a learner is told the PDF contains, by kind of active content.
JAVASCRIPT = _("JavaScript")
LAUNCH = _("an action that starts a program or opens another file")
REMOTE = _("a link that opens another file")
IMPORT = _("an action that loads data from another file")
SUBMIT = _("a form that sends data over the internet")
EMBEDDED = _("an attached or embedded file")
XFA = _("an XFA form")
MEDIA = _("multimedia or 3D content")
SCRIPT_LINK = _("a link that runs a script or opens a file on the computer")

# Action types (/S) that run code or reach outside the document. /URI, /GoTo, /Named and the
# like stay: certificates link to the issuer's verification page.
PDF_ACTIONS = {
    "/JavaScript": JAVASCRIPT,
    "/Launch": LAUNCH,
    "/GoToR": REMOTE,
    "/GoToE": REMOTE,
    "/ImportData": IMPORT,
    "/SubmitForm": SUBMIT,
    "/RichMediaExecute": MEDIA,
    "/Rendition": MEDIA,
}
# Keys whose mere presence is enough, wherever they appear.
PDF_KEYS = {
    "/JS": JAVASCRIPT,
    "/JavaScript": JAVASCRIPT,  # the document's JavaScript name tree
    "/EmbeddedFiles": EMBEDDED,
    "/EF": EMBEDDED,  # a file specification carrying the file itself
    "/XFA": XFA,
    "/RichMediaContent": MEDIA,
    "/RichMediaSettings": MEDIA,
}
PDF_SUBTYPES = {
    "/FileAttachment": EMBEDDED,
    "/RichMedia": MEDIA,
    "/3D": MEDIA,
    "/Screen": MEDIA,
    "/Movie": MEDIA,
    "/Sound": MEDIA,
}
PDF_TYPES = {"/EmbeddedFile": EMBEDDED}
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "file:", "data:")

# Name tokens refused wherever they occur in the file's own syntax, in case a viewer finds an
# object pypdf does not (an object outside the cross-reference table, say). Stream contents and
# literal strings are left out first: compressed data and a link such as ".../JS/app" would
# match by chance. A name ends at whitespace or a delimiter, so "/JSON" is not "/JS".
PDF_DELIMITERS = rb"\x00\t\n\x0c\r ()<>\[\]{}/%"
RAW_NAMES = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?)(?![^" + PDF_DELIMITERS + rb"])",
)
RAW_NAME_DESCRIPTIONS = {
    b"JavaScript": JAVASCRIPT,
    b"JS": JAVASCRIPT,
    b"Launch": LAUNCH,
    b"EmbeddedFile": EMBEDDED,
    b"EmbeddedFiles": EMBEDDED,
}
# Names with #xx escapes ("/J#53" is "/JS"), decoded and then compared.
ESCAPED_NAME = re.compile(rb"/[^" + PDF_DELIMITERS + rb"#]*#[^" + PDF_DELIMITERS + rb"]*")
HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Real files escape a few names (font names with spaces); thousands are an attack on our time.
MAX_ESCAPED_NAMES = 10_000
STREAM_START = re.compile(rb">>\s*stream\r?\n")
# A name found within this many bytes after an unclosed "(" is taken to be inside a literal
# string and let pass, for at most so many names: the object walk is the real check, and a
# file with more such names than that is refused rather than searched at length.
STRING_WINDOW = 4096
MAX_NAMES_IN_STRINGS = 100
PARENTHESIS = re.compile(rb"[()]")
ENCRYPT_NAME = re.compile(rb"/Encrypt(?![^" + PDF_DELIMITERS + rb"])")

# A viewer looks for the end-of-file marker in the last 1024 bytes (Acrobat does exactly
# that); a PDF without one there has almost always been cut short in transfer.
EOF_WINDOW = 1024

# Flate-compressed streams may expand at most this much in total: the larger of a floor that
# covers any real certificate or scanned page, and a ratio to the upload's size that covers
# long lossless scans. A "zip bomb" of a few hundred kilobytes that expands to gigabytes is
# refused after inflating up to the budget (in 1 MiB pieces, counted and discarded), never
# fully: we do not decode content, only measure it.
INFLATE_FLOOR = 256 * 1024 * 1024
INFLATE_RATIO = 100
INFLATE_PIECE = 1024 * 1024
# pypdf itself decodes cross-reference and object streams, which hold only dictionaries; real
# files need a few megabytes of them. The first limit is pypdf's, for each stream; the second
# ours, for all object streams together.
PYPDF_STREAM_LIMIT = 32 * 1024 * 1024
OBJECT_STREAMS_BUDGET = 32 * 1024 * 1024
# pypdf parses about 300,000 tokens (numbers, names, brackets) a second, and a few kilobytes
# of object stream can inflate to millions of them. So the tokens of the file's own syntax and
# of its object streams are counted, at C speed, before pypdf parses any. Real files have far
# fewer: 15,000 in a 36-page manual, 170,000 in 500 pages with 2,500 links.
MAX_PDF_TOKENS = 500_000
PDF_WHITESPACE = b"\x00\t\n\x0c\r "
# Each byte as its class: " " whitespace, "d" delimiter, "x" part of a token.
TOKEN_CLASSES = bytes(
    ord(" ") if byte in PDF_WHITESPACE else ord("d") if byte in b"()<>[]{}/%" else ord("x")
    for byte in range(256)
)


class _PdfRefusals:
    """The messages of a PDF refusal, for one file name."""

    def __init__(self, name: StrOrPromise) -> None:
        self.name = name

    def corrupt(self) -> ValidationError:
        return _refusal(
            _(
                "We could not accept %(name)s: it looks like a PDF but cannot be read; it may be "
                "damaged or incomplete. Please save or print it as PDF again and upload that."
            ),
            "corrupt",
            self.name,
        )

    def too_complex(self) -> ValidationError:
        return _refusal(
            _(
                "We could not accept %(name)s: the PDF is too complex to check safely. Please "
                "print it as a new PDF, or scan the paper document, and upload that."
            ),
            "corrupt",
            self.name,
        )

    def no_pages(self) -> ValidationError:
        return _refusal(
            _("We could not accept %(name)s: the PDF has no pages."), "corrupt", self.name
        )

    def encrypted(self) -> ValidationError:
        return _refusal(
            _(
                "We could not accept %(name)s: the PDF is encrypted or protected by a password. "
                "Please upload a copy without a password or restrictions."
            ),
            "encrypted",
            self.name,
        )

    def active(self, what: StrOrPromise) -> ValidationError:
        return _refusal(
            _(
                "We could not accept %(name)s: the PDF contains %(what)s, which evidence may "
                "not contain. Please print it as a new PDF and upload that."
            ),
            "active_content",
            self.name,
            what=what,
        )


def _check_pdf(data: bytes, name: StrOrPromise) -> int:
    """Refuse a PDF that is damaged, encrypted, active or too long; return its page count."""
    refusals = _PdfRefusals(name)
    if _is_zip(data):
        raise _refusal(
            _(
                "We could not accept %(name)s: besides a PDF it contains another file (a ZIP "
                "archive). Please upload a plain PDF, for example by printing the document as "
                "a new PDF."
            ),
            "type",
            name,
        )
    if b"%%EOF" not in data[-EOF_WINDOW:]:
        raise refusals.corrupt()
    syntax = _outside_streams(data)
    tokens = _Tokens(refusals)
    tokens.count(syntax)
    try:
        # A context variable, so the tighter limits hold for this thread of work only.
        with apply_configuration(
            zlib_maximum_output_length=PYPDF_STREAM_LIMIT,
            lzw_maximum_output_length=PYPDF_STREAM_LIMIT,
            run_length_maximum_output_length=PYPDF_STREAM_LIMIT,
            brotli_maximum_output_length=PYPDF_STREAM_LIMIT,
            array_based_stream_maximum_output_length=PYPDF_STREAM_LIMIT,
        ):
            return _check_pdf_objects(data, syntax, tokens, refusals)
    except ValidationError:
        raise
    except Exception:
        # pypdf raises PdfReadError, but on hostile input also ValueError, KeyError,
        # TypeError, AttributeError, zlib.error, RecursionError (deeply nested arrays) and
        # MemoryError. All mean the same to the learner, except for a file encrypted with a
        # handler pypdf does not know (certificate security, /Adobe.PubSec): say so.
        if _names_encryption(syntax):
            raise refusals.encrypted() from None
        raise refusals.corrupt() from None


def _check_pdf_objects(data: bytes, syntax: bytes, tokens: _Tokens, refusals: _PdfRefusals) -> int:
    reader = PdfReader(io.BytesIO(data), strict=False, xref_stream_maximum_entries=MAX_PDF_OBJECTS)
    if "/Encrypt" in reader.trailer:
        # Even with an empty user password: an encrypted file cannot be checked without being
        # decrypted, may forbid copying or printing, and we store files as uploaded.
        raise refusals.encrypted()
    what = _active_names_in_syntax(syntax, refusals)
    if what is not None:
        raise refusals.active(what)
    _measure_object_streams(reader, tokens, refusals)
    budget = _InflateBudget(max(INFLATE_FLOOR, INFLATE_RATIO * len(data)), refusals)
    _walk(reader, budget, refusals)
    return _count_pages(reader, refusals)


class _Tokens:
    """How many tokens pypdf would parse, refused past MAX_PDF_TOKENS."""

    def __init__(self, refusals: _PdfRefusals) -> None:
        self.total = 0
        self.refusals = refusals

    def count(self, syntax: bytes) -> None:
        # A token is a run of regular characters, or a delimiter; runs are counted by where
        # they start. Cut pieces may miscount a token at the seam, which does not matter.
        classes = syntax.translate(TOKEN_CLASSES)
        self.total += classes.count(b" x") + classes.count(b"dx") + classes.count(b"d")
        if self.total > MAX_PDF_TOKENS:
            raise self.refusals.too_complex()


def _is_zip(data: bytes) -> bool:
    """Whether the bytes are also a ZIP archive (ZIP readers look at the end of a file, so a
    PDF can carry one after its end and be both)."""
    if b"PK\x05\x06" not in data[-(65_536 + 22) :]:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return bool(archive.infolist())
    except Exception:
        return False


def _active_names_in_syntax(syntax: bytes, refusals: _PdfRefusals) -> StrOrPromise | None:
    """What the first active name in the file's own syntax (outside streams and, as far as a
    quick look can tell, outside literal strings) stands for; None if there is none.

    Written to take time linear in the file's size: regular expressions that match a whole
    stream or string at once backtrack quadratically on a file of unclosed ones.
    """
    in_strings = 0
    for position, what in _raw_active_names(syntax, refusals):
        if in_strings < MAX_NAMES_IN_STRINGS and _in_literal_string(syntax, position):
            in_strings += 1
            continue
        return what
    return None


def _names_encryption(syntax: bytes) -> bool:
    """Whether the file's syntax has an /Encrypt entry (outside a literal string)."""
    for count, found in enumerate(ENCRYPT_NAME.finditer(syntax)):
        if count >= MAX_NAMES_IN_STRINGS or not _in_literal_string(syntax, found.start()):
            return True
    return False


def _outside_streams(data: bytes) -> bytes:
    """The bytes with each stream's data left out. An unterminated stream hides nothing."""
    pieces = []
    position = 0
    while (start := STREAM_START.search(data, position)) is not None:
        end = data.find(b"endstream", start.end())
        if end == -1:
            break
        pieces.append(data[position : start.end()])
        position = end
    pieces.append(data[position:])
    return b"".join(pieces)


def _raw_active_names(syntax: bytes, refusals: _PdfRefusals) -> Iterator[tuple[int, StrOrPromise]]:
    for found in RAW_NAMES.finditer(syntax):
        yield found.start(), RAW_NAME_DESCRIPTIONS[found.group(1)]
    for count, found in enumerate(ESCAPED_NAME.finditer(syntax)):
        if count >= MAX_ESCAPED_NAMES:
            raise refusals.too_complex()
        name = HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), found.group())
        what = RAW_NAME_DESCRIPTIONS.get(name[1:])
        for table in (PDF_KEYS, PDF_ACTIONS, PDF_SUBTYPES, PDF_TYPES):
            what = what or table.get(name.decode("latin-1"))
        if what is not None:
            yield found.start(), what


def _in_literal_string(syntax: bytes, position: int) -> bool:
    """Whether the nearest unescaped parenthesis before ``position`` opens a string."""
    window = syntax[max(0, position - STRING_WINDOW) : position]
    for paren in reversed([found.start() for found in PARENTHESIS.finditer(window)]):
        backslashes = 0
        while paren > backslashes and window[paren - backslashes - 1] == ord("\\"):
            backslashes += 1
        if backslashes % 2 == 0:
            return window[paren] == ord("(")
    return False


class _InflateBudget:
    """How many more bytes the document's Flate streams may inflate to."""

    def __init__(self, remaining: int, refusals: _PdfRefusals) -> None:
        self.remaining = remaining
        self.refusals = refusals

    def spend(self, stream: StreamObject) -> None:
        compressed = _flate_input(stream)
        if compressed is None:
            return
        self.remaining -= _inflated_size(compressed, self.remaining)
        if self.remaining < 0:
            raise self.refusals.too_complex()


# Filters that may stand before /FlateDecode in a chain: they only undo an ASCII armour, and
# their output is at most four times their input, so decoding them is safe.
ASCII_FILTERS: dict[str, Callable[[bytes], bytes]] = {
    "/ASCIIHexDecode": ASCIIHexDecode.decode,
    "/AHx": ASCIIHexDecode.decode,
    "/ASCII85Decode": ASCII85Decode.decode,
    "/A85": ASCII85Decode.decode,
}


def _flate_input(stream: StreamObject) -> bytes | None:
    """The Flate data of a stream, once any ASCII armour in front of it is removed; None if
    the stream is not Flate-compressed. (LZW and run-length coding can expand data too, but
    writers have long given them up for Flate; they are left to viewers' own limits.)"""
    filters = _resolved(dict.get(stream, "/Filter"))
    chain = list.__iter__(filters) if isinstance(filters, ArrayObject) else iter([filters])
    # The raw bytes as read from the file: get_data() would decode them.
    data = stream._data
    for name in map(_resolved, chain):
        if not isinstance(name, str):
            return None
        if name in ("/FlateDecode", "/Fl"):
            return data
        undo_armour = ASCII_FILTERS.get(name)
        if undo_armour is None:
            return None
        data = undo_armour(data)
    return None


def _inflated_size(raw: bytes, limit: int) -> int:
    """What ``raw`` inflates to, counted and no further than just past ``limit``."""
    return sum(len(piece) for piece in _inflated_pieces(raw, limit))


def _inflated_pieces(raw: bytes, limit: int) -> Iterator[bytes]:
    """``raw`` inflated, in pieces of at most INFLATE_PIECE bytes, stopping once more than
    ``limit`` bytes have come out. A damaged stream yields as much as inflates: viewers show
    what they can of it."""
    for wbits in (zlib.MAX_WBITS | 32, -zlib.MAX_WBITS):  # zlib or gzip, else raw deflate
        inflater = zlib.decompressobj(wbits)
        pending = raw
        total = 0
        try:
            while True:
                piece = inflater.decompress(pending, INFLATE_PIECE)
                total += len(piece)
                yield piece
                if total > limit:
                    return
                pending = inflater.unconsumed_tail
                if inflater.eof or (not pending and len(piece) < INFLATE_PIECE):
                    return
        except zlib.error:
            if total:
                return


def _measure_object_streams(reader: PdfReader, tokens: _Tokens, refusals: _PdfRefusals) -> None:
    """Bound the work pypdf does on object streams: decode each once, within its limits and
    our total, and count the tokens it would parse before it parses any. What is counted is
    pypdf's own decoding, which recovers more of a damaged stream than zlib alone does."""
    remaining = OBJECT_STREAMS_BUDGET
    numbers = {number for number, _index in reader.xref_objStm.values()}
    if len(numbers) > MAX_PDF_OBJECTS:
        raise refusals.too_complex()
    for number in sorted(numbers):
        stream = reader.get_object(number)
        if not isinstance(stream, StreamObject):
            continue
        # Cached on the stream object, which pypdf reuses when it reads objects out of it.
        decoded = stream.get_data()
        remaining -= len(decoded)
        if remaining < 0:
            raise refusals.too_complex()
        tokens.count(decoded)


def _resolved(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _xref_objects(reader: PdfReader) -> Iterator[IndirectObject]:
    for generation, table in reader.xref.items():
        for number in table:
            yield IndirectObject(number, generation, reader)
    for number in reader.xref_objStm:
        yield IndirectObject(number, 0, reader)


def _walk(reader: PdfReader, budget: _InflateBudget, refusals: _PdfRefusals) -> None:
    """Look at every object reachable from the trailer, and every object in the
    cross-reference table besides, rather than trusting that active content sits where the
    specification puts it. Iterative, with a visited set: object graphs have cycles (a page
    points to its parent) and may be arbitrarily deep."""
    visited: set[tuple[int, int]] = set()
    seen = 0
    stack: list[Any] = [*_xref_objects(reader), reader.trailer]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in visited:
                continue
            visited.add(key)
            seen += 1
            item = item.get_object()
        if not isinstance(item, (DictionaryObject, ArrayObject)):
            continue
        seen += 1
        if seen > MAX_PDF_OBJECTS:
            raise refusals.too_complex()
        if isinstance(item, ArrayObject):
            stack.extend(list.__iter__(item))
            continue
        what = _active_content(item)
        if what is not None:
            raise refusals.active(what)
        if isinstance(item, StreamObject):
            budget.spend(item)
        # The raw values: DictionaryObject.__getitem__ would resolve references behind the
        # visited set's back.
        stack.extend(dict.values(item))


def _active_content(node: DictionaryObject) -> StrOrPromise | None:
    for key, value in dict.items(node):
        if key in PDF_KEYS:
            return PDF_KEYS[key]
        if key in ("/S", "/Subtype", "/Type", "/URI"):
            value = _resolved(value)
            if isinstance(value, bytes):
                # A string pypdf could not read as text: a viewer still reads a URI in it.
                value = value.decode("latin-1")
            if not isinstance(value, str):  # names and strings; nothing else is active
                continue
            if key == "/S" and value in PDF_ACTIONS:
                return PDF_ACTIONS[value]
            if key == "/Subtype" and value in PDF_SUBTYPES:
                return PDF_SUBTYPES[value]
            if key == "/Type" and value in PDF_TYPES:
                return PDF_TYPES[value]
            if key == "/URI" and _is_script_link(value):
                return SCRIPT_LINK
    return None


def _is_script_link(value: str) -> bool:
    # Browsers ignore control characters and spaces before and within a scheme.
    compact = "".join(ch for ch in value if ch > " ").lower()
    return compact.startswith(SCRIPT_SCHEMES)


def _count_pages(reader: PdfReader, refusals: _PdfRefusals) -> int:
    """Count the leaves of the page tree ourselves, refusing a tree that loops or shares a
    node (each page has exactly one parent) rather than trusting /Count."""
    root = _resolved(reader.trailer.get("/Root"))
    if not isinstance(root, DictionaryObject):
        raise refusals.corrupt()
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [dict.get(root, "/Pages")]
    pages = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                raise refusals.corrupt()
            seen.add(key)
            node = node.get_object()
        if not isinstance(node, DictionaryObject):
            raise refusals.corrupt()
        node_type = _resolved(dict.get(node, "/Type"))
        kids = _resolved(dict.get(node, "/Kids"))
        if node_type == "/Pages" or (node_type != "/Page" and kids is not None):
            if not isinstance(kids, ArrayObject):
                raise refusals.corrupt()
            stack.extend(list.__iter__(kids))
            continue
        pages += 1
        if pages > MAX_PAGES:
            raise _refusal(
                _(
                    "We could not accept %(name)s: it has more than %(limit)s pages. Please "
                    "upload only the pages that show this outcome."
                ),
                "too_many_pages",
                refusals.name,
                limit=MAX_PAGES,
            )
    if pages == 0:
        raise refusals.no_pages()
    return pages
