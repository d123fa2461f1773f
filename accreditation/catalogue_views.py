"""Pages and API of the catalogue of accredited learning outcomes.

Anyone may read the catalogue, signed in or not; only the management administrator publishes
versions, imports and exports it. Views parse the input, call one service of
:mod:`accreditation.catalogue` and shape the answer.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, BaseThrottle
from rest_framework.views import APIView

from accounts.collective.imports import MAX_FILE_BYTES, RowError
from accounts.models import Role, User
from accounts.signin.permissions import HasRole, RoleRequiredMixin, user_has_role
from outcomes.models import OutcomeKind

from .catalogue import (
    CONTENT_TYPES,
    EXPORT_FORMATS,
    UNCHANGED,
    ImportResult,
    RowsInvalid,
    beijing_today,
    catalogue_conversions,
    catalogue_entry_find,
    catalogue_entry_publish_from,
    catalogue_export,
    catalogue_import,
    catalogue_search,
    catalogue_version_current,
    catalogue_versions,
    version_aliases,
)
from .models import CatalogueEntry, CatalogueEntryVersion
from .serializers import (
    CatalogueEntryDetailSerializer,
    CataloguePublishSerializer,
    CatalogueQuerySerializer,
    CatalogueVersionSerializer,
    ExportQuerySerializer,
    SheetImportErrorsSerializer,
    SheetImportResultSerializer,
    SpreadsheetUploadSerializer,
)

ENTRIES_PER_PAGE = 20
# Rows of problems shown on an import page; the API lists them all.
ERRORS_SHOWN = 1_000


def read_upload(uploaded: UploadedFile) -> bytes:
    # One byte over the limit is enough for the service to refuse the file; a huge upload is
    # never read into memory.
    return uploaded.read(MAX_FILE_BYTES + 1)


def file_download(data: bytes, *, fmt: str, stem: str) -> HttpResponse:
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    name = f"{stem}-{beijing_today():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def form_errors_from(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def import_message(result: ImportResult) -> str:
    return _(
        "%(rows)d rows imported: %(created)d new, %(revised)d new versions, %(unchanged)d "
        "unchanged."
    ) % {
        "rows": result.rows,
        "created": result.created,
        "revised": result.revised,
        "unchanged": result.unchanged,
    }


def row_errors_context(row_errors: list[RowError]) -> dict[str, Any]:
    return {
        "row_errors": row_errors[:ERRORS_SHOWN],
        "row_errors_total": len(row_errors),
        "row_errors_hidden": max(len(row_errors) - ERRORS_SHOWN, 0),
    }


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


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


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


class CataloguePage(View):
    """The public catalogue: search, filter by kind, and what each entry converts to."""

    def get(self, request: HttpRequest) -> HttpResponse:
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
            "can_manage": user_has_role(request.user, Role.MANAGEMENT_ADMIN),
        }
        return render(request, "accreditation/catalogue.html", context)


class CatalogueEntryPage(View):
    """One entry: what it says today, the courses it converts to, and its history."""

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


class CatalogueManagePage(RoleRequiredMixin, View):
    """The management administrator's page: import a file, export, publish a version."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest) -> HttpResponse:
        publish = CataloguePublishForm(initial=_publish_initial(request.GET.get("code", "")))
        return self.render(request, import_form=SpreadsheetImportForm(), publish_form=publish)

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.POST.get("action") == "publish":
            return self.publish(request)
        return self.import_file(request)

    def import_file(self, request: HttpRequest) -> HttpResponse:
        form = SpreadsheetImportForm(request.POST, request.FILES)
        row_errors: list[RowError] = []
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                result = catalogue_import(
                    data=read_upload(uploaded),
                    filename=uploaded.name or "",
                    actor=request.user,  # type: ignore[arg-type]
                )
            except RowsInvalid as exc:
                row_errors = exc.rows
                form.add_error("file", exc.message_dict["file"])
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, import_message(result))
                return redirect("catalogue-manage")
        publish = CataloguePublishForm(initial=_publish_initial(""))
        return self.render(request, import_form=form, publish_form=publish, row_errors=row_errors)

    def publish(self, request: HttpRequest) -> HttpResponse:
        form = CataloguePublishForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                version, _what = catalogue_entry_publish_from(
                    fields=data,
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
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
        return self.render(request, import_form=SpreadsheetImportForm(), publish_form=form)

    def render(
        self,
        request: HttpRequest,
        *,
        import_form: forms.Form,
        publish_form: forms.Form,
        row_errors: list[RowError] | None = None,
    ) -> HttpResponse:
        context = {
            "import_form": import_form,
            "publish_form": publish_form,
            **row_errors_context(row_errors or []),
        }
        return render(request, "accreditation/catalogue_manage.html", context)


class CatalogueExportPage(RoleRequiredMixin, View):
    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest, fmt: str) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise Http404
        return file_download(catalogue_export(fmt=fmt), fmt=fmt, stem="catalogue")


# --- API ------------------------------------------------------------------------------------


class FileFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names the file to export here, not one of the API's renderers."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]


class PublicReadApi(APIView):
    """Reads open to anyone, throttled per address for visitors without an account (the
    ``anon`` rate); writes for the management administrator only."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [HasRole.of(Role.MANAGEMENT_ADMIN)()]

    def get_throttles(self) -> list[BaseThrottle]:
        return [AnonRateThrottle()] if self.request.method in ("GET", "HEAD") else []


class CatalogueListApi(PublicReadApi, generics.GenericAPIView):
    """``GET``: the catalogue as in effect today (or ``on``), each entry with the courses it
    converts to; anyone may read it. ``POST``: the management administrator publishes a
    version (201 when a version was added, 200 when it was already in effect)."""

    serializer_class = CatalogueVersionSerializer

    @extend_schema(
        parameters=[CatalogueQuerySerializer], responses=CatalogueVersionSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        query = CatalogueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on")
        versions = catalogue_search(
            q=query.validated_data.get("q", ""), kind=query.validated_data.get("kind", ""), on=on
        )
        page = self.paginate_queryset(versions)
        items = list(page) if page is not None else list(versions)
        context = {
            **self.get_serializer_context(),
            "conversions": catalogue_conversions(entry_ids=[v.entry_id for v in items], on=on),
        }
        data = CatalogueVersionSerializer(items, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        request=CataloguePublishSerializer,
        responses={201: CatalogueVersionSerializer, 200: CatalogueVersionSerializer},
    )
    def post(self, request: Request) -> Response:
        body = CataloguePublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        version, what = catalogue_entry_publish_from(fields=body.validated_data, actor=user)
        conversions = catalogue_conversions(entry_ids=[version.entry_id])
        return Response(
            CatalogueVersionSerializer(version, context={"conversions": conversions}).data,
            status=status.HTTP_200_OK if what == UNCHANGED else status.HTTP_201_CREATED,
        )


class CatalogueEntryApi(PublicReadApi):
    """One entry by its code: the version in effect today (or its latest) and its history."""

    @extend_schema(responses=CatalogueEntryDetailSerializer)
    def get(self, request: Request, code: str) -> Response:
        entry = entry_or_404(code)
        version, in_effect = shown_version(entry)
        context = {
            "in_effect": in_effect,
            "versions": catalogue_versions(entry=entry),
            "conversions": catalogue_conversions(entry_ids=[entry.pk]),
        }
        return Response(CatalogueEntryDetailSerializer(version, context=context).data)


IMPORT_RESPONSES = {
    201: SheetImportResultSerializer,
    400: OpenApiResponse(
        SheetImportErrorsSerializer,
        description='Row problems as ``rows``; a file refused as a whole as ``{"file": [...]}``.',
    ),
}


def import_response(run: Any, request: Request) -> Response:
    """Run an import of the uploaded ``file`` and answer with the counts, or 400 with every
    problem by row and column."""
    body = SpreadsheetUploadSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    uploaded = body.validated_data["file"]
    try:
        result = run(data=read_upload(uploaded), filename=uploaded.name or "", actor=request.user)
    except RowsInvalid as exc:
        errors = {"detail": exc.message_dict["file"][0], "rows": exc.rows}
        return Response(
            SheetImportErrorsSerializer(errors).data, status=status.HTTP_400_BAD_REQUEST
        )
    data = {
        "rows": result.rows,
        "created": result.created,
        "revised": result.revised,
        "unchanged": result.unchanged,
    }
    return Response(SheetImportResultSerializer(data).data, status=status.HTTP_201_CREATED)


class CatalogueImportApi(APIView):
    """Import the catalogue from a CSV or XLSX file (multipart field ``file``): every row is
    published, or nothing is and the answer lists every problem by row and column."""

    permission_classes = [HasRole.of(Role.MANAGEMENT_ADMIN)]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": SpreadsheetUploadSerializer}, responses=IMPORT_RESPONSES
    )
    def post(self, request: Request) -> Response:
        return import_response(catalogue_import, request)


class CatalogueExportApi(APIView):
    """The catalogue in effect today as a file that the import takes back unchanged."""

    permission_classes = [HasRole.of(Role.MANAGEMENT_ADMIN)]
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, "text/csv"): bytes, (200, CONTENT_TYPES["xlsx"]): bytes},
    )
    def get(self, request: Request) -> HttpResponseBase:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data["format"]
        return file_download(catalogue_export(fmt=fmt), fmt=fmt, stem="catalogue")


# --- URLs -----------------------------------------------------------------------------------

# Pages (mounted at the site root) and API views (mounted under /api/v1/). Entry codes are
# upper case, so the lower-case words before ``<code>`` never collide with one.
catalogue_urlpatterns: list[URLPattern] = [
    path("catalogue/", CataloguePage.as_view(), name="catalogue"),
    path("catalogue/manage/", CatalogueManagePage.as_view(), name="catalogue-manage"),
    path(
        "catalogue/manage/export.<str:fmt>",
        CatalogueExportPage.as_view(),
        name="catalogue-export",
    ),
    path("catalogue/<str:code>/", CatalogueEntryPage.as_view(), name="catalogue-entry"),
]
catalogue_api_urlpatterns: list[URLPattern] = [
    path("catalogue/", CatalogueListApi.as_view(), name="api-catalogue"),
    path("catalogue/import/", CatalogueImportApi.as_view(), name="api-catalogue-import"),
    path("catalogue/export/", CatalogueExportApi.as_view(), name="api-catalogue-export"),
    path("catalogue/<str:code>/", CatalogueEntryApi.as_view(), name="api-catalogue-entry"),
]
