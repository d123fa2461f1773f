"""Small genuine evidence files for tests."""

import io

from fpdf import FPDF
from PIL import Image

from common.pdf import FONT_PATH


def pdf_bytes(text: str = "幼儿园园长资格证书 Kindergarten principal certificate") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("noto", fname=str(FONT_PATH))
    pdf.set_font("noto", size=14)
    pdf.cell(text=text)
    return bytes(pdf.output())


def png_bytes(colour: tuple[int, int, int] = (200, 30, 30), size: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(colour: tuple[int, int, int] = (30, 30, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="JPEG")
    return out.getvalue()
