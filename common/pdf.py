"""PDF documents the bank issues, with the embedded Simplified Chinese font.

The font (Noto Sans SC, SIL Open Font License) comes from the PyPI package pylopdf-fonts-zh-cn,
so no system font is needed; fpdf2 embeds only the glyphs a document uses.
"""

from __future__ import annotations

from pathlib import Path

import pylopdf_fonts_zh_cn
from django.conf import settings
from django.utils import timezone
from fpdf import FPDF
from fpdf.fonts import FontFace

FONT_PATH = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"
FONT = "NotoSansSC"
# fpdf2's alias for the page count. It is replaced in any text written while it is on, so it is
# on only while the footer writes "page/pages" and while the document is closed (when fpdf2
# fills in the footers' counts): learner text such as an outcome titled "{nb}" prints as
# written, as it was signed.
PAGE_COUNT_ALIAS = "{nb}"


class BankDocument(FPDF):
    """An A4 page with the bank's name at the top and page numbers at the foot. All other text
    is printed literally."""

    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.alias_nb_pages(None)  # type: ignore[arg-type]
        self.doc_title = title
        self.add_font(FONT, fname=str(FONT_PATH))
        self.set_title(title)
        self.set_author(str(settings.PORTAL_NAME))
        self.set_creation_date(timezone.now())
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)
        self.add_page()

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
