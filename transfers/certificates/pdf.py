"""The certificate's PDF: bilingual, with a QR code to the verification page, the signature
printed, and the signed content embedded (``certificate.json``) for offline checks.

It is a PDF/A-3b (docs/decisions/0017-pdfa-and-font-subset.md) whose associated files, named
by the catalog's ``/AF``, are the Verifiable Credential (``credential.jsonld``,
``application/vc+ld+json``) and the signed content, both with ``/AFRelationship /Data``: the
page is made from them. They are attached before the PDF is signed (``pades.pdf_sign``), so the
PDF signature covers them too."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.translation import gettext_lazy as _

from common.pdf import BankDocument, opaque_image

from ..models import Certificate
from .content import both_languages
from .credential import verify_url
from .signing import SIGNATURE_ALGORITHM, fingerprint_of

Kind = Certificate.Kind

EMBEDDED_NAME = "certificate.json"
CREDENTIAL_NAME = "credential.jsonld"
CREDENTIAL_MEDIA_TYPE = "application/vc+ld+json"


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    return buffer


def _seal_path() -> str | None:
    found = finders.find(str(settings.BANK_SEAL_IMAGE))
    if isinstance(found, list):
        found = found[0] if found else None
    return found


def _issuer_block(pdf: BankDocument) -> None:
    """The issuing bank as configured (BANK_NAME_ZH/EN, BANK_ADDRESS, BANK_CONTACT) with its
    seal (BANK_SEAL_IMAGE, a static file)."""
    if pdf.get_y() + 45 > pdf.page_break_trigger:
        pdf.add_page()  # the seal is placed by position: keep the block on one page
    pdf.heading(both_languages(_("Issued by")), size=12)
    top = pdf.get_y()
    seal = _seal_path()
    if seal:
        pdf.image(opaque_image(seal), x=pdf.w - 18 - 30, y=top - 2, w=30, h=30)
    pdf.set_font(pdf.font_family, size=10)
    width = pdf.w - pdf.l_margin - pdf.r_margin - 36
    for line in (
        str(settings.BANK_NAME_ZH),
        str(settings.BANK_NAME_EN),
        str(settings.BANK_ADDRESS),
        str(settings.BANK_CONTACT),
    ):
        if line:
            pdf.multi_cell(width, 5.5, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + 30))
    pdf.ln(2)


def certificate_pdf(
    certificate: Certificate,
    content: Mapping[str, Any],
    signature: str,
    key_id: str,
    *,
    credential: Mapping[str, Any] | None = None,
) -> bytes:
    """The PDF/A-3b: Chinese and English labels, the learner's masked identity number, serial,
    issue date, QR code to the verification page, the signature printed, and attached for
    offline checks ``certificate.json`` (content, signature, key id) and the credential as the
    issuing code made it."""
    kind_label = both_languages(Kind(certificate.kind).label)
    pdf = BankDocument(kind_label, archival=True)
    pdf.set_subject(f"{certificate.serial}")
    pdf.set_keywords(f"serial:{certificate.serial} key:{key_id}")
    pdf.heading(kind_label, size=18)
    learner = content["learner"]
    totals = content["totals"]
    top = pdf.get_y()
    # The learner's identifiers as the credential and the verification page show them: only
    # those the learner chose to disclose (content["disclose"]), whatever the kind.
    chosen = set(content.get("disclose") or [])
    rows = [
        (both_languages(label), value)
        for choice, label, value in (
            ("name", _("Name"), learner["name"]),
            ("id_number", _("Identity number"), learner["id_number_masked"]),
            ("account_number", _("Account number"), learner["account_number"]),
        )
        if choice in chosen and value
    ]
    if content.get("period"):
        period = content["period"]
        rows.append((both_languages(_("Period")), f"{period['from']} – {period['to']}"))
    rows += [
        (both_languages(_("Learning hours")), totals["hours"]),
        (both_languages(_("Credits")), totals["credits"]),
    ]
    if "transferred_credits" in totals:
        rows.append((both_languages(_("Transferred credits")), totals["transferred_credits"]))
    rows += [
        (both_languages(_("Serial number")), certificate.serial),
        (both_languages(_("Issued on")), content["issued_on"]),
    ]
    # Bilingual labels need a wider column than BankDocument.facts gives; the QR code sits on
    # the right, beside them.
    pdf.set_font(pdf.font_family, size=10)
    for label, value in rows:
        pdf.set_text_color(90, 100, 115)
        pdf.cell(58, 7, label)
        pdf.set_text_color(31, 41, 51)
        pdf.multi_cell(pdf.w - pdf.l_margin - 58 - 62, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    after = pdf.get_y()
    pdf.image(_qr_png(verify_url(certificate.serial)), x=pdf.w - 56, y=top, w=38, h=38)
    pdf.set_xy(pdf.w - 60, top + 39)
    pdf.set_font(pdf.font_family, size=7)
    pdf.multi_cell(46, 3.5, both_languages(_("Scan to verify")), align="C")
    pdf.set_xy(pdf.l_margin, max(after, top + 48))

    if content["items"]:
        pdf.heading(both_languages(_("Accredited learning outcomes")), size=12)
        pdf.rows_table(
            [
                both_languages(_("Learning outcome")),
                both_languages(_("Learned on")),
                both_languages(_("Accredited on")),
                both_languages(_("Hours")),
                both_languages(_("Credits")),
            ],
            [
                [
                    item["outcome"],
                    item["learned_on"],
                    item["accredited_on"],
                    item["hours"],
                    item["credits"],
                ]
                for item in content["items"]
            ],
            widths=[70, 28, 28, 24, 24],
        )
    else:
        pdf.set_font(pdf.font_family, size=10)
        pdf.multi_cell(0, 6, both_languages(_("No accredited learning outcome in this period.")))
        pdf.ln(3)
    if content.get("transfers"):
        pdf.heading(both_languages(_("Credit transfers")), size=12)
        pdf.rows_table(
            [
                both_languages(_("Institution")),
                both_languages(_("Course")),
                both_languages(_("Credits")),
            ],
            [
                [t["institution"], f"{t['programme']} · {t['course']}", t["credits"]]
                for t in content["transfers"]
            ],
            widths=[54, 96, 24],
        )
    if content.get("outcomes"):
        pdf.heading(both_languages(_("Learning programmes")), size=12)
        pdf.rows_table(
            [
                both_languages(_("Learning programme")),
                both_languages(_("Time")),
                both_languages(_("Hours")),
            ],
            [
                [o["title"], f"{o['from']} – {o['to']}" if o["from"] else o["to"], o["hours"]]
                for o in content["outcomes"]
            ],
            widths=[100, 50, 24],
        )

    _issuer_block(pdf)
    pdf.heading(both_languages(_("Verification")), size=12)
    pdf.set_font(pdf.font_family, size=8)
    for line in (
        f"{both_languages(_('Verify at'))}: {verify_url(certificate.serial)}",
        f"{both_languages(_('Content fingerprint (SHA-256)'))}: {fingerprint_of(content)}",
        f"{both_languages(_('Signature'))} ({SIGNATURE_ALGORITHM}, key {key_id}): {signature}",
    ):
        pdf.multi_cell(0, 4.5, line, align="L", new_x="LMARGIN", new_y="NEXT")
    embedded = {
        "content": content,
        "signature": signature,
        "key_id": key_id,
        "algorithm": SIGNATURE_ALGORITHM,
    }
    when = pdf.creation_date
    if credential is not None:
        pdf.embed_file(
            basename=CREDENTIAL_NAME,
            bytes=json.dumps(credential, ensure_ascii=False, indent=1).encode(),
            desc=both_languages(_("The certificate as a Verifiable Credential")),
            mime_type=CREDENTIAL_MEDIA_TYPE,
            associated_file_relationship="Data",
            creation_date=when,
            modification_date=when,
            compress=True,
        )
    pdf.embed_file(
        basename=EMBEDDED_NAME,
        bytes=json.dumps(embedded, ensure_ascii=False, indent=1).encode(),
        desc=both_languages(_("The signed content of the certificate")),
        mime_type="application/json",
        associated_file_relationship="Data",
        creation_date=when,
        modification_date=when,
        compress=True,
    )
    return pdf.render()
