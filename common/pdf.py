"""PDF documents the bank issues, with the embedded Simplified Chinese font.

The font (Noto Sans SC, SIL Open Font License) comes from the PyPI package pylopdf-fonts-zh-cn,
so no system font is needed; fpdf2 embeds only the glyphs a document uses.

The choices: docs/decisions/0017-pdfa-and-font-subset.md.

Speed: the 8.3 MB font is cut down once, with fontTools, to the characters the bank's documents
are made of (:func:`body_font_path`: GB 2312, Latin, punctuation and every character of the
translations), kept under ``VAR_DIR/fonts`` and parsed once per process (:class:`BankDocument`
gives each document its own copy of the parsed font). A document whose text holds a character
outside that subset (a name with 堃 or 喆) gets the full font as a fallback for those
characters only.

Archiving: ``BankDocument(..., archival=True)`` makes a PDF/A-3b: fpdf2 writes the XMP metadata
(``pdfaid:part`` 3, ``conformance`` B) and refuses what PDF/A forbids; the document carries an
sRGB output intent (the ICC's sRGB2014 profile, shipped in fpdf2's wheel with the ICC's
licence), every font is embedded, and images are flattened onto white (:func:`opaque_image`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pylopdf_fonts_zh_cn
from django.conf import settings
from django.utils import timezone
from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont, getTableClass
from fpdf import FPDF
from fpdf.enums import OutputIntentSubType
from fpdf.fonts import FontFace, SubsetMap, TTFFont
from fpdf.output import PDFICCProfile
from fpdf.util import builtin_srgb2014_bytes
from PIL import Image

logger = logging.getLogger(__name__)

FONT_PATH = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"
FONT = "NotoSansSC"
# The whole font, added to a document only when its text needs a character the subset lacks.
FULL_FONT = "NotoSansSCFull"
# fpdf2's alias for the page count. It is replaced in any text written while it is on, so it is
# on only while the footer writes "page/pages" and while the document is closed (when fpdf2
# fills in the footers' counts): learner text such as an outcome titled "{nb}" prints as
# written, as it was signed.
PAGE_COUNT_ALIAS = "{nb}"
# Bumped when the way the subset is made changes (a new file name, so a stale one is not used).
_SUBSET_VERSION = "2"
# The Unicode blocks kept besides GB 2312 and the translations: Latin (with the extended
# letters of pinyin and European names), general punctuation, letter-like symbols, arrows,
# CJK symbols and punctuation, and the full-width forms.
_KEPT_RANGES = (
    (0x0020, 0x024F),
    (0x02B0, 0x02FF),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x218F),
    (0x2190, 0x21FF),
    (0x2460, 0x24FF),
    (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)


def _gb2312_characters() -> set[str]:
    found = set()
    for first in range(0xA1, 0xF8):
        for second in range(0xA1, 0xFF):
            try:
                found.add(bytes((first, second)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def _translation_characters() -> set[str]:
    """Every character of the message catalogues (msgids and translations alike)."""
    found: set[str] = set()
    for path in settings.LOCALE_PATHS:
        for po in sorted(Path(path).glob("*/LC_MESSAGES/*.po")):
            found.update(po.read_text(encoding="utf-8"))
    return found


def subset_characters() -> str:
    """The characters of the body font's subset, sorted."""
    chars = _gb2312_characters() | _translation_characters()
    for first, last in _KEPT_RANGES:
        chars.update(chr(code) for code in range(first, last + 1))
    return "".join(sorted(c for c in chars if c >= " "))


def _subset_make(characters: str, target: Path) -> None:
    options = ftsubset.Options()
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.recalc_bounds = False  # the full font's bounding box still holds
    options.recalc_timestamp = False
    options.layout_features = []  # fpdf2 does not shape the text: GSUB and GPOS go
    options.desubroutinize = True  # each document's own subset is then a plain copy
    # Vertical metrics and layout tables: fpdf2 sets horizontal text without shaping.
    options.drop_tables += ["BASE", "DSIG", "GDEF", "GPOS", "GSUB", "VORG", "vhea", "vmtx"]
    # The place first: where nothing can be written, the subsetting is not done for nothing.
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=target.parent, prefix=".font-", suffix=".otf")
    os.close(handle)
    try:
        font = TTFont(FONT_PATH, recalcBBoxes=False, recalcTimestamp=False)
        subsetter = ftsubset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in characters])
        subsetter.subset(font)
        font.save(scratch)
        os.chmod(scratch, 0o644)  # mkstemp's 0600 would keep it from other users' processes
        os.replace(scratch, target)  # two processes making it at once: either one's is whole
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)


@functools.cache
def body_font_path() -> Path:
    """The font documents are set in: the subset of :data:`FONT_PATH`, made on first use and
    kept under ``VAR_DIR/fonts`` (named by a digest of the source font and the characters, so
    new translations make a new one). Where it cannot be written, the full font."""
    characters = subset_characters()
    digest = hashlib.sha256(
        f"{_SUBSET_VERSION}:{FONT_PATH.name}:{FONT_PATH.stat().st_size}:{characters}".encode()
    ).hexdigest()[:16]
    target = Path(settings.VAR_DIR) / "fonts" / f"NotoSansSC-subset-{digest}.otf"
    if not target.exists():
        try:
            _subset_make(characters, target)
        except OSError:
            logger.warning("could not keep the font subset in %s: the full font is used", target)
            return FONT_PATH
    return target


# What fpdf2 needs of the font program it cuts each document's subset from: it embeds the
# CFF table alone, and takes the widths and the character map from the parsed font.
_PROGRAM_TABLES = {"GlyphOrder", "head", "hhea", "hmtx", "maxp", "post", "CFF "}


@functools.cache
def _font_program(path: Path) -> bytes:
    """The font without the tables fpdf2's subsetting of each document would only read and
    throw away (the character map above all)."""
    font = TTFont(path, recalcBBoxes=False, recalcTimestamp=False, lazy=True)
    if "CFF " not in font:
        return path.read_bytes()
    for tag in list(font.keys()):
        if tag not in _PROGRAM_TABLES:
            del font[tag]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


class _CidCff(getTableClass("CFF ")):  # type: ignore[misc]
    """The CFF table of a CID-keyed font program, for fpdf2's subsetting. fontTools' glyph
    closure runs every charstring used to find the accented glyphs ``seac`` composes out of
    StandardEncoding names; a CID-keyed font has no such names, so there is nothing to find,
    and charstrings never run are copied as they are stored instead of being decoded and
    encoded again (together two thirds of a document's subsetting), and, the subset having no
    subroutines, none are looked for."""

    def closure_glyphs(self, s: Any) -> None:
        return None

    def remove_unused_subroutines(self) -> None:
        # The subset is desubroutinised when it is made (:func:`_subset_make`): with no
        # subroutine to keep or drop, fontTools would decode every charstring for nothing.
        cff = self.cff
        top = cff[cff.fontNames[0]]
        private_dicts = [fd.Private for fd in getattr(top, "FDArray", None) or []]
        if len(cff.GlobalSubrs) or any(len(getattr(p, "Subrs", None) or []) for p in private_dicts):
            super().remove_unused_subroutines()


class _CffProgram(TTFont):
    """A CID-keyed CFF font program as fpdf2 cuts it. fpdf2 saves the whole subset font and
    then, for such a font, embeds its CFF table compiled alone (FontFile3, CIDFontType0C) and
    drops what it saved: the discarded save (every table compiled, a quarter of a render) is
    skipped. tests/transfers/test_certificate_pdfa.py reads the embedded font program back."""

    def __init__(self, path: Path) -> None:
        program = io.BytesIO(_font_program(path))
        super().__init__(program, recalcBBoxes=False, recalcTimestamp=False, lazy=True)
        cff = _CidCff("CFF ")
        cff.decompile(self.reader["CFF "], self)
        self.tables["CFF "] = cff
        # The glyph names in glyph order, read once per process (8,100 of them were parsed
        # again for every document); a copy, as the subsetting replaces it.
        top = cff.cff[cff.cff.fontNames[0]]
        top.charset = list(_charset_of(path))

    def save(self, file: Any, reorderTables: bool | None = True) -> None:
        return None


@functools.cache
def _charset_of(path: Path) -> tuple[str, ...]:
    font = TTFont(io.BytesIO(_font_program(path)), lazy=True)
    cff = font["CFF "].cff
    return tuple(cff[cff.fontNames[0]].charset)


@functools.cache
def _font_template(path: Path, family: str) -> TTFFont:
    """The font parsed once per process (widths, character map, descriptor): fpdf2 would parse
    it again for every document. Never written out itself."""
    probe = FPDF()
    probe.add_font(family, fname=str(path))
    return probe.fonts[family.lower()]  # type: ignore[return-value]


@functools.cache
def _opaque_image(path: str, mtime: float) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        if image.mode in ("RGBA", "LA", "P", "PA"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image.convert("RGB")


def opaque_image(path: str) -> Image.Image:
    """The image at ``path`` with any transparency flattened onto white (PDF/A documents then
    have no soft mask to blend), read once per process while the file is unchanged."""
    return _opaque_image(path, os.stat(path).st_mtime)


class BankDocument(FPDF):
    """An A4 page with the bank's name at the top and page numbers at the foot. All other text
    is printed literally. With ``archival``, a PDF/A-3b document (see the module)."""

    def __init__(self, title: str, *, archival: bool = False) -> None:
        super().__init__(format="A4", enforce_compliance="PDFA_3B" if archival else None)
        self.alias_nb_pages(None)  # type: ignore[arg-type]
        self.doc_title = title
        self._body_font = body_font_path()
        self._full_font_added = self._body_font == FONT_PATH
        self._font_add(FONT, self._body_font)
        self.set_title(title)
        self.set_author(str(settings.PORTAL_NAME))
        self.set_creator(str(settings.PORTAL_NAME))
        self.set_creation_date(timezone.now())
        if archival:
            self.set_lang("zh-Hans")
            # The ICC's own sRGB profile (sRGB2014, version 2, which every part of PDF/A
            # accepts), as fpdf2's wheel ships it with the ICC's licence to embed it freely.
            self.add_output_intent(
                OutputIntentSubType.PDFA,
                output_condition_identifier="sRGB",
                output_condition="IEC 61966-2-1:1999",
                registry_name="http://www.color.org",
                dest_output_profile=PDFICCProfile(
                    contents=builtin_srgb2014_bytes(), n=3, alternate="DeviceRGB"
                ),
                info="sRGB2014 (v2)",
            )
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)
        self.add_page()

    def _font_add(self, family: str, path: Path) -> None:
        """``add_font`` from the font parsed once per process: the document gets its own copy
        of what fpdf2 changes while writing (the glyphs used, the descriptor, the font
        program it cuts its subset from), the rest is shared and only read."""
        template = _font_template(path, family)
        font: Any = copy.copy(template)
        font.i = len(self.fonts) + 1
        if font.is_cff and font.is_cid_keyed:
            font.ttfont = _CffProgram(path)
        else:
            font.ttfont = TTFont(path, recalcBBoxes=False, recalcTimestamp=False, lazy=True)
        font.desc = copy.copy(template.desc)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        self.fonts[family.lower()] = font
        if font.is_cff and font.is_cid_keyed:
            self._set_min_pdf_version("1.6")

    def normalize_text(self, text: str) -> str:
        """fpdf2 passes every text it prints through here: the first character the subset
        lacks brings in the full font as a fallback (only such characters are set in it)."""
        text = super().normalize_text(text)
        if not self._full_font_added and self.font_family == FONT.lower():
            cmap = self.current_font.cmap  # type: ignore[union-attr]
            if any(c >= " " and ord(c) not in cmap for c in text):
                self._full_font_added = True
                self._font_add(FULL_FONT, FONT_PATH)
                self.set_fallback_fonts([FULL_FONT])
        return text

    def header(self) -> None:
        self.set_font(FONT, size=9)
        self.set_text_color(90, 100, 115)
        self.cell(0, 6, str(settings.PORTAL_NAME), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(183, 28, 28)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(4)
        self.set_text_color(31, 41, 51)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(90, 100, 115)
        was = self.str_alias_nb_pages
        self.alias_nb_pages(PAGE_COUNT_ALIAS)
        try:
            # The title is the bank's own (the kind of document), never learner text.
            self.cell(0, 6, f"{self.doc_title} · {self.page_no()}/{PAGE_COUNT_ALIAS}", align="C")
        finally:
            self.alias_nb_pages(was)

    def heading(self, text: str, size: int = 16) -> None:
        self.set_font(FONT, size=size)
        self.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        self.set_font(FONT, size=10)
        for label, value in rows:
            self.set_text_color(90, 100, 115)
            self.cell(42, 7, label)
            self.set_text_color(31, 41, 51)
            self.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def rows_table(self, headings: list[str], rows: list[list[str]], widths: list[int]) -> None:
        self.set_font(FONT, size=9)
        # One weight of the font is shipped, so headings are set apart by colour, not bold.
        headings_style = FontFace(emphasis="", fill_color=(238, 242, 248))
        with self.table(
            col_widths=tuple(widths),
            text_align="LEFT",
            line_height=6,
            headings_style=headings_style,
        ) as table:
            for values in [headings, *rows]:
                row = table.row()
                for value in values:
                    row.cell(value)
        self.ln(4)

    def render(self) -> bytes:
        # On while closing: the last footer is written then, and fpdf2 fills in the counts the
        # footers left only if the alias is set. No learner text is written any more.
        self.alias_nb_pages(PAGE_COUNT_ALIAS)
        return bytes(self.output())
