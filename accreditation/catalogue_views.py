"""Pages and API of the catalogue of accredited learning outcomes.

Anyone may read the catalogue, signed in or not; only the management administrator publishes
versions, imports and exports it. Views parse the input, call one service of
:mod:`accreditation.catalogue` and shape the answer.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Role, User
from accounts.signin.permissions import RoleRequiredMixin, user_has_role
from common.forms import DateInput
from common.idempotency import idempotent
from common.replicas import replica_reads
from common.table_pages import ImportPublishPage, export_download
from outcomes.models import OutcomeKind

from .catalogue import (
    beijing_today,
    catalogue_conversions,
    catalogue_entry_find,
    catalogue_entry_publish_from,
    catalogue_export,
    catalogue_import,
    catalogue_revision,
    catalogue_search,
    catalogue_version_current,
    catalogue_versions,
    version_aliases,
)
from .catalogue.api_base import (
    PublicReadApi,
    SheetExportApi,
    SheetImportApi,
    list_response,
    publish_status,
)
from .models import CatalogueEntry, CatalogueEntryVersion
from .serializers import (
    CatalogueEntryDetailSerializer,
    CataloguePublishSerializer,
    CatalogueQuerySerializer,
    CatalogueVersionSerializer,
)

ENTRIES_PER_PAGE = 20


def entry_or_404(code: str) -> CatalogueEntry:
    entry = catalogue_entry_find(code=code)
    if entry is None:
        raise Http404
    return entry


def shown_version(entry: CatalogueEntry) -> tuple[CatalogueEntryVersion, bool]:
    """The version a reader sees: the one in effect today, else the latest (an entry retired,
    or not yet in effect), with whether it is in effect."""
    current = catalogue_version_current(entry=entry)
    if current is not None:
        return current, True
    latest = catalogue_versions(entry=entry).first()
    if latest is None:
        raise Http404
    return latest, False


# --- Forms ------------------------------------------------------------------------------------

KIND_FILTER_CHOICES = [("", gettext_lazy("All kinds")), *OutcomeKind.choices]


class CatalogueSearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), max_length=100, required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=KIND_FILTER_CHOICES, required=False
    )


class CataloguePublishForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=30,
        help_text=gettext_lazy("A new code adds an entry; an existing code adds a version."),
    )
    name = forms.CharField(label=gettext_lazy("Name of the outcome"), max_length=200)
    name_en = forms.CharField(label=gettext_lazy("Name in English"), max_length=200, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=OutcomeKind.choices)
    issuing_body = forms.CharField(label=gettext_lazy("Issuing body"), max_length=200)
    level = forms.CharField(label=gettext_lazy("Level"), max_length=50, required=False)
    hours = forms.DecimalField(
        label=gettext_lazy("Learning hours"), max_digits=7, decimal_places=1, min_value=0
    )
    credits = forms.DecimalField(
        label=gettext_lazy("Credits"), max_digits=5, decimal_places=1, min_value=0
    )
    validity_months = forms.IntegerField(
        label=gettext_lazy("Valid for (months)"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Empty: does not expire."),
    )
    evidence_required = forms.CharField(
        label=gettext_lazy("Evidence required"), widget=forms.Textarea(attrs={"rows": 2})
    )
    aliases = forms.CharField(
        label=gettext_lazy("Other names"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One per line; used to recognise learners' outcomes."),
    )
    certificate_number_pattern = forms.CharField(
        label=gettext_lazy("Certificate number format"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "A regular expression the whole certificate number must match, e.g. "
            "YZ\\d{4}-\\d{6}. Empty: any number."
        ),
    )
    effective_from = forms.DateField(label=gettext_lazy("Effective from"), widget=DateInput())
    approving_body = forms.CharField(label=gettext_lazy("Approved by"), max_length=200)
    rationale = forms.CharField(
        label=gettext_lazy("Rationale"), widget=forms.Textarea(attrs={"rows": 2})
    )


def _publish_initial(code: str) -> dict[str, Any]:
    """The publish form filled in with what the entry says today, to revise it."""
    entry = catalogue_entry_find(code=code) if code else None
    if entry is None:
        return {"effective_from": beijing_today()}
    version, _in_effect = shown_version(entry)
    return {
        "code": entry.code,
        "name": version.name,
        "name_en": version.name_en,
        "kind": version.kind,
        "issuing_body": version.issuing_body,
        "level": version.level,
        "hours": version.hours,
        "credits": version.credits,
        "validity_months": version.validity_months,
        "evidence_required": version.evidence_required,
        "aliases": version.aliases,
        "certificate_number_pattern": version.certificate_number_pattern,
        "effective_from": beijing_today(),
        "approving_body": version.approving_body,
    }


# --- Pages ------------------------------------------------------------------------------------


# The public catalogue's search and results are the same for every reader of the same query
# (nothing in them is personal or depends on who asks), so their HTML is cached under a key of
# what they depend on: the catalogue's revision (raised in the same transaction as any write to
# the catalogue, the conversion rules, their courses and programmes or an institution's name:
# the apps' ready()), the day in Beijing (versions and rules take effect and end by date), the
# language and the query string. No write has to remember to forget anything.
CATALOGUE_PAGE_CACHE_SECONDS = 600


def catalogue_page_key(request: HttpRequest, revision: int) -> str:
    digest = hashlib.sha256(request.GET.urlencode().encode()).hexdigest()
    day = beijing_today().isoformat()
    return f"catalogue:page:{revision}:{day}:{get_language()}:{digest}"


class CataloguePage(View):
    """The public catalogue: search, filter by kind, and what each entry converts to."""

    @replica_reads
    def get(self, request: HttpRequest) -> HttpResponse:
        # The revision is read before the catalogue: a write committing in between can only put
        # newer results under the older key, never older results under the newer one.
        key = catalogue_page_key(request, catalogue_revision())
        results = cache.get(key)
        if results is None:
            results = _catalogue_results(request)
            cache.set(key, results, CATALOGUE_PAGE_CACHE_SECONDS)
        context = {
            "results": mark_safe(results),  # noqa: S308 (rendered by our own template)
            "can_manage": user_has_role(request.user, Role.MANAGEMENT_ADMIN),
        }
        return render(request, "accreditation/catalogue.html", context)


def _catalogue_results(request: HttpRequest) -> str:
    form = CatalogueSearchForm(request.GET or None)
    q, kind = "", ""
    if form.is_valid():
        q, kind = form.cleaned_data["q"], form.cleaned_data["kind"]
    page = Paginator(catalogue_search(q=q, kind=kind), ENTRIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    conversions = catalogue_conversions(entry_ids=[v.entry_id for v in page.object_list])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [
            (version, version_aliases(version), conversions.get(version.entry_id, []))
            for version in page.object_list
        ],
        "query": query.urlencode(),
        "searched": bool(q or kind),
    }
    # Without the request: nothing of the reader's may get into what is cached.
    return render_to_string("accreditation/_catalogue_results.html", context)


class CatalogueEntryPage(View):
    """One entry: what it says today, the courses it converts to, and its history."""

    @replica_reads
    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        entry = entry_or_404(code)
        version, in_effect = shown_version(entry)
        context = {
            "entry": entry,
            "version": version,
            "aliases": version_aliases(version),
            "in_effect": in_effect,
            "versions": catalogue_versions(entry=entry),
            "conversions": catalogue_conversions(entry_ids=[entry.pk]).get(entry.pk, []),
            "can_manage": user_has_role(request.user, Role.MANAGEMENT_ADMIN),
        }
        return render(request, "accreditation/catalogue_entry.html", context)


class CatalogueManagePage(RoleRequiredMixin, ImportPublishPage):
    """The management administrator's page: import a file, export, publish a version."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)
    template_name = "accreditation/catalogue_manage.html"
    url_name = "catalogue-manage"
    importer = staticmethod(catalogue_import)
    publisher = staticmethod(catalogue_entry_publish_from)
    publish_form_class = CataloguePublishForm

    def publish_initial(self, request: HttpRequest) -> dict[str, Any]:
        # ``?code=`` (the entry page's "Publish a new version" link) fills the form in on the
        # first visit; a refused import shows the form blank again.
        return _publish_initial(request.GET.get("code", "") if request.method == "GET" else "")

    def published(self, request: HttpRequest, published: Any) -> HttpResponse:
        version: CatalogueEntryVersion = published
        messages.success(
            request,
            _("%(code)s version %(version)d is published, in effect from %(date)s.")
            % {
                "code": version.entry.code,
                "version": version.version,
                "date": version.effective_from.isoformat(),
            },
        )
        return redirect("catalogue-entry", code=version.entry.code)


class CatalogueExportPage(RoleRequiredMixin, View):
    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest, fmt: str) -> HttpResponse:
        return export_download(catalogue_export, fmt=fmt, stem="catalogue")


# --- API ------------------------------------------------------------------------------------


class CatalogueListApi(PublicReadApi, generics.GenericAPIView):
    """``GET``: the catalogue as in effect today (or ``on``), each entry with the courses it
    converts to; anyone may read it. ``POST``: the management administrator publishes a
    version (201 when a version was added, 200 when it was already in effect)."""

    serializer_class = CatalogueVersionSerializer

    @extend_schema(
        parameters=[CatalogueQuerySerializer], responses=CatalogueVersionSerializer(many=True)
    )
    @replica_reads
    def get(self, request: Request) -> Response:
        query = CatalogueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on")
        versions = catalogue_search(
            q=query.validated_data.get("q", ""), kind=query.validated_data.get("kind", ""), on=on
        )

        def serialize(items: list[CatalogueEntryVersion]) -> Any:
            context = {
                **self.get_serializer_context(),
                "conversions": catalogue_conversions(entry_ids=[v.entry_id for v in items], on=on),
            }
            return CatalogueVersionSerializer(items, many=True, context=context).data

        return list_response(self, versions, serialize)

    @extend_schema(
        request=CataloguePublishSerializer,
        responses={201: CatalogueVersionSerializer, 200: CatalogueVersionSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = CataloguePublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        version, what = catalogue_entry_publish_from(fields=body.validated_data, actor=user)
        conversions = catalogue_conversions(entry_ids=[version.entry_id])
        return Response(
            CatalogueVersionSerializer(version, context={"conversions": conversions}).data,
            status=publish_status(what),
        )


class CatalogueEntryApi(PublicReadApi):
    """One entry by its code: the version in effect today (or its latest) and its history."""

    @extend_schema(responses=CatalogueEntryDetailSerializer)
    @replica_reads
    def get(self, request: Request, code: str) -> Response:
        entry = entry_or_404(code)
        version, in_effect = shown_version(entry)
        context = {
            "in_effect": in_effect,
            "versions": catalogue_versions(entry=entry),
            "conversions": catalogue_conversions(entry_ids=[entry.pk]),
        }
        return Response(CatalogueEntryDetailSerializer(version, context=context).data)


class CatalogueImportApi(SheetImportApi):
    """Import the catalogue from a CSV or XLSX file (multipart field ``file``): every row is
    published, or nothing is and the answer lists every problem by row and column."""

    importer = staticmethod(catalogue_import)


class CatalogueExportApi(SheetExportApi):
    """The catalogue in effect today as a file that the import takes back unchanged."""

    exporter = staticmethod(catalogue_export)
    stem = "catalogue"
