"""Putting a service's ``ValidationError`` on a form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def form_errors_apply(
    form: forms.BaseForm, exc: ValidationError, renamed: Mapping[str, str] | None = None
) -> None:
    """Show the errors of ``exc`` next to the form's fields. A field-keyed error whose field the
    form lacks, and an error keyed by no field at all, go to the top of the form: a service may
    refuse with either, and neither may turn into a server error."""
    renamed = renamed or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        name = renamed.get(name, name)
        form.add_error(name if name in form.fields and name != NON_FIELD_ERRORS else None, errors)


class DateInput(forms.DateInput):
    """A browser's date picker, given its value as the ISO date it also sends. Every date
    input of the portal is this one: the plain ``forms.DateInput`` renders the language's first
    input format (``2026/01/01`` in Chinese), which an ``<input type="date">`` refuses, so the
    field shows empty and the form cannot be sent."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
