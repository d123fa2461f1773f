"""The steps the spreadsheet pages share (common.table_pages), without any app's service."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404

from common.downloads import file_download
from common.table_pages import export_download, form_submit
from common.tables import RowError, RowsInvalid


class UploadForm(forms.Form):
    file = forms.CharField()
    title = forms.CharField(required=False)


def refuse(error: ValidationError):
    def run(cleaned):
        raise error

    return run


def test_a_valid_form_gets_the_service_s_answer():
    form = UploadForm({"file": "x"})

    assert form_submit(form, lambda cleaned: cleaned["file"] * 2) == ("xx", [])


def test_an_invalid_form_never_reaches_the_service():
    form = UploadForm({})

    assert form_submit(form, refuse(ValidationError("never"))) == (None, [])
    assert "file" in form.errors


def test_a_file_refused_for_its_rows_puts_the_summary_on_the_file_and_returns_every_row():
    rows = [RowError(2, "name", "empty", "姓名"), RowError(3, "name", "empty", "姓名")]
    form = UploadForm({"file": "x"})

    result, row_errors = form_submit(form, refuse(RowsInvalid(rows)))

    assert result is None
    assert row_errors == rows
    assert form.errors["file"] == RowsInvalid(rows).message_dict["file"]


def test_a_refusal_by_no_field_goes_to_the_top_of_the_form():
    form = UploadForm({"file": "x"})

    result, row_errors = form_submit(form, refuse(ValidationError("Not now.")))

    assert (result, row_errors) == (None, [])
    assert form.non_field_errors() == ["Not now."]


def test_a_refusal_by_field_goes_to_that_field():
    form = UploadForm({"file": "x"})

    form_submit(form, refuse(ValidationError({"title": "Too long."})))

    assert form.errors["title"] == ["Too long."]


def test_an_export_in_an_unknown_format_is_not_found():
    with pytest.raises(Http404):
        export_download(lambda fmt: b"", fmt="pdf", stem="things")


def test_an_export_is_a_dated_attachment_and_a_template_an_undated_one():
    dated = export_download(lambda fmt: b"a,b\n", fmt="csv", stem="things")
    undated = file_download(b"a,b\n", fmt="csv", stem="list", dated=False)

    assert dated.content == b"a,b\n"
    assert dated["Content-Disposition"].startswith('attachment; filename="things-')
    assert dated["Content-Disposition"].endswith('.csv"')
    assert undated["Content-Disposition"] == 'attachment; filename="list.csv"'


def test_an_export_is_dated_by_the_day_in_beijing_whatever_zone_is_active(monkeypatch):
    from django.utils import timezone

    late_evening_utc = datetime.datetime(2026, 12, 6, 23, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: late_evening_utc)

    with timezone.override("UTC"):
        response = export_download(lambda fmt: b"a,b\n", fmt="csv", stem="things")

    assert response["Content-Disposition"] == 'attachment; filename="things-20261207.csv"'
