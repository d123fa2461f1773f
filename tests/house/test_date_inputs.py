"""Every date input of the portal is given an ISO date, in every language. Django's plain
``DateInput`` renders the language's first input format, ``2026/01/01`` in Chinese, which an
``<input type="date">`` refuses: the field then looks empty and the form cannot be sent
(issue 21, seen on /certificates/). ``common.forms.DateInput`` renders ISO."""

from __future__ import annotations

import datetime
import importlib
import re

import pytest
from django import forms
from django.utils import translation

# Every form of the portal with a date field (the last test keeps this list complete).
FORMS_WITH_DATES = [
    "accounts.rights.views.VisitForm",
    "accreditation.catalogue_views.CataloguePublishForm",
    "accreditation.recognition.views.AgreementPublishForm",
    "creditbank.inquiry.InquiryForm",
    "outcomes.forms.BatchForm",
    "outcomes.forms.OutcomeForm",
    "transfers.certificate_views.CertificateRequestForm",
    "transfers.programme_rule_views.ProgrammeRulesForm",
    "transfers.preassessment_views.AnswerForm",
    "transfers.rule_views.ConversionRulePublishForm",
]
DAY = datetime.date(2026, 1, 1)
APPS = ("accounts", "accreditation", "creditbank", "common", "outcomes", "transfers")


def form_class(path: str) -> type[forms.BaseForm]:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def date_fields(form: type[forms.BaseForm]) -> dict[str, forms.Field]:
    return {
        name: field
        for name, field in form.base_fields.items()  # type: ignore[attr-defined]
        if isinstance(field, forms.DateField)
    }


@pytest.mark.parametrize("path", FORMS_WITH_DATES)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_date_field_renders_an_iso_date_into_a_date_input(path, language):
    fields = date_fields(form_class(path))
    assert fields, path
    with translation.override(language):
        for name, field in fields.items():
            html = field.widget.render(name, DAY)
            assert 'type="date"' in html, (path, name, html)
            assert 'value="2026-01-01"' in html, (path, name, html)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_certificates_page_offers_this_year_from_its_first_day_in_iso(
    certificate_world, client, settings, language
):
    client.force_login(certificate_world["account"].holder)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    page = client.get("/certificates/").content.decode()

    today = datetime.date.today()
    start = re.search(r'<input type="date" name="period_from" value="([^"]*)"', page)
    end = re.search(r'<input type="date" name="period_to" value="([^"]*)"', page)
    assert start
    assert start.group(1) == f"{today.year}-01-01"
    assert end
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", end.group(1))


def test_every_form_with_a_date_field_is_in_the_list():
    import creditbank.urls  # noqa: F401 - loads every view, and so every form

    def subclasses(cls: type) -> set[type]:
        found: set[type] = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in found)) if found else found

    with_dates = {
        f"{form.__module__}.{form.__qualname__}"
        for form in subclasses(forms.BaseForm)
        if form.__module__.split(".")[0] in APPS and date_fields(form)
    }
    assert with_dates == set(FORMS_WITH_DATES)
