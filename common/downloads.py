"""Files in and out of a page or an API view: a spreadsheet as a download, an uploaded file read
with a size limit, the upload form, and how an import's outcome is shown.

Layer 0: no app's words here. What a file holds and how its rows are checked belong to the
services of the app that reads or writes it."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.negotiation import DefaultContentNegotiation

from .tables import CONTENT_TYPES, MAX_FILE_BYTES

EXPORT_FORMATS = tuple(CONTENT_TYPES)
# The largest spreadsheet any import takes is what the reader takes: one number, not two.
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
# Rows of problems shown on an import page; the API lists them all.
ERRORS_SHOWN = 1_000
# The zone of every date and time in a file's name: the portal's users are in Beijing, whatever
# zone a request or a worker happens to run in.
BEIJING = ZoneInfo("Asia/Shanghai")


def beijing_time(moment: datetime.datetime | None = None) -> datetime.datetime:
    """``moment`` (default: now) in Beijing time, for the date and time in a file's name."""
    return (moment or timezone.now()).astimezone(BEIJING)


def file_download(data: bytes, *, fmt: str, stem: str, dated: bool = True) -> HttpResponse:
    """``data`` as an attachment named ``<stem>-<today>.<fmt>`` (today in Beijing), or
    ``<stem>.<fmt>`` when not ``dated`` (an empty template to fill in has no date)."""
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    name = f"{stem}-{beijing_time():%Y%m%d}.{fmt}" if dated else f"{stem}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def upload_read(uploaded: UploadedFile, *, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """The upload's bytes, at most one over ``max_bytes``: enough for the service to refuse
    the file as too large, and a huge upload is never read into memory."""
    return uploaded.read(max_bytes + 1)


class SpreadsheetImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX)"),
        allow_empty_file=True,  # the service explains an empty file like any other refusal
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet"
            }
        ),
    )


class ImportCounts(Protocol):
    """What an import of versioned rows reports: rows new, revised and already in effect."""

    @property
    def rows(self) -> int: ...

    @property
    def created(self) -> int: ...

    @property
    def revised(self) -> int: ...

    @property
    def unchanged(self) -> int: ...


def import_message(result: ImportCounts) -> str:
    return _(
        "%(rows)d rows imported: %(created)d new, %(revised)d new versions, %(unchanged)d "
        "unchanged."
    ) % {
        "rows": result.rows,
        "created": result.created,
        "revised": result.revised,
        "unchanged": result.unchanged,
    }


def row_errors_context(row_errors: Sequence[Any]) -> dict[str, Any]:
    """The problems of an import's rows as a page shows them: the first ``ERRORS_SHOWN``, and
    how many there are."""
    return {
        "row_errors": row_errors[:ERRORS_SHOWN],
        "row_errors_total": len(row_errors),
        "row_errors_hidden": max(len(row_errors) - ERRORS_SHOWN, 0),
    }


class FileFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names the file to export here, not one of the API's renderers."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]
