"""The learner's rights over their file, on pages and over the API: the inquiry into their own
learning experience and the machine-readable export of their data."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from common.downloads import beijing_time
from common.http import SignedInApiRequest, SignedInRequest
from common.idempotency import idempotent
from outcomes.models import LearningOutcome
from outcomes.services import outcome_search

from .export import ExportExpired, data_export_for_download, data_export_request, data_exports_of
from .inquiry import InquiryForm, totals_chart_svg, yearly_totals
from .models import DataExport

PAGE_SIZE = 20
POLL_SECONDS = 3


# --- Inquiry -------------------------------------------------------------------------------------


class InquiryPage(RoleRequiredMixin, View):
    """The learner's outcomes, filtered and paginated, with the yearly totals and their chart."""

    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        account = learning_account_required(user=request.user)
        form = InquiryForm(request.GET or None)
        filters = form.valid_filters() if request.GET else {}
        outcomes = outcome_search(account=account, filters=filters)
        page = Paginator(outcomes, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        totals = yearly_totals(account=account)
        return render(
            request,
            "creditbank/inquiry.html",
            {
                "form": form if request.GET else InquiryForm(),
                "page": page,
                "query": query.urlencode(),
                "totals": totals,
                "chart": totals_chart_svg(totals),
            },
        )


class InquiryOutcomeSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    # A plain string here: the outcome API already names this choice set in the schema.
    status = serializers.CharField(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = LearningOutcome
        fields = [
            "id",
            "kind",
            "kind_display",
            "title",
            "issuing_body",
            "provider",
            "achieved_on",
            "hours",
            "status",
            "status_display",
        ]
        read_only_fields = fields


class YearTotalsSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    accredited_hours = serializers.DecimalField(
        max_digits=12, decimal_places=1, help_text=_("Ledger, accumulated book, by entry year.")
    )
    accredited_credits = serializers.DecimalField(
        max_digits=12, decimal_places=1, help_text=_("Ledger, accumulated book, by entry year.")
    )
    declared_hours = serializers.DecimalField(
        max_digits=12, decimal_places=1, help_text=_("Outcomes' own hours, by year achieved.")
    )


class InquiryPagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 100


class InquiryApiView(generics.ListAPIView[LearningOutcome]):
    """The caller's learning outcomes filtered by ``achieved_from``, ``achieved_to`` (dates),
    ``kind``, ``status`` and ``provider`` (text in the provider or the issuing body), newest
    first, with ``totals`` per year. Bad filter values give 400 with the field named."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = InquiryOutcomeSerializer
    pagination_class = InquiryPagination

    def get_queryset(self) -> QuerySet[LearningOutcome]:
        form = InquiryForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError({f: [str(e) for e in errs] for f, errs in form.errors.items()})
        account = learning_account_required(user=self.request.user)  # type: ignore[arg-type]
        return outcome_search(account=account, filters=form.valid_filters())

    @extend_schema(operation_id="accounts_me_outcomes_search")
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().get(request, *args, **kwargs)
        totals = yearly_totals(account=learning_account_required(user=request.user))
        response.data["totals"] = YearTotalsSerializer(totals, many=True).data
        return response


# --- Export --------------------------------------------------------------------------------------


def _expired_response(request: HttpRequest) -> HttpResponse:
    return render(request, "creditbank/export_expired.html", status=410)


def _download(export: DataExport) -> FileResponse:
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=f"creditbank-export-{beijing_time(export.created_at):%Y%m%d-%H%M}.zip",
        content_type="application/zip",
    )


class ExportPage(RoleRequiredMixin, View):
    """Ask for the export; see its progress (the page refreshes itself while it is made) and,
    when it is ready, the download link."""

    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        exports = list(data_exports_of(account=learning_account_required(user=request.user))[:10])
        running = any(export.in_progress for export in exports)
        return render(
            request,
            "creditbank/export.html",
            {"exports": exports, "running": running, "poll_seconds": POLL_SECONDS},
        )

    def post(self, request: SignedInRequest[User]) -> HttpResponse:
        data_export_request(
            account=learning_account_required(user=request.user),
            actor=request.user,
        )
        return redirect("file-export")


class ExportDownloadPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User], token: str) -> HttpResponseBase:
        try:
            export = data_export_for_download(user=request.user, token=token)
        except ExportExpired:
            return _expired_response(request)
        return _download(export)


class DataExportSerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = DataExport
        fields = ["id", "state", "state_display", "progress", "created_at", "expires_at"]
        fields += ["download"]
        read_only_fields = fields

    def get_download(self, export: DataExport) -> str | None:
        if export.state != DataExport.State.READY or export.is_expired:
            return None
        return reverse("api-data-export-download", args=[export.token])


class DataExportListApiView(APIView):
    """``GET``: the caller's exports, newest first. ``POST``: ask for an export; while one is
    being made, that one is returned (200) instead of a new one (201)."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=DataExportSerializer(many=True), operation_id="accounts_me_exports")
    def get(self, request: SignedInApiRequest[User]) -> Response:
        exports = data_exports_of(account=learning_account_required(user=request.user))
        return Response(DataExportSerializer(exports, many=True).data)

    @extend_schema(
        request=None,
        responses={200: DataExportSerializer, 201: DataExportSerializer},
        operation_id="accounts_me_exports_create",
    )
    @idempotent
    def post(self, request: SignedInApiRequest[User]) -> Response:
        export, created = data_export_request(
            account=learning_account_required(user=request.user),
            actor=request.user,
        )
        export.refresh_from_db()
        return Response(
            DataExportSerializer(export).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DataExportDownloadApiView(APIView):
    """The ZIP of a ready export of the caller's; 404 for anyone else's, 410 once expired."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(
        responses={
            (200, "application/zip"): bytes,
            410: OpenApiResponse(description="The download link has expired."),
        },
        operation_id="accounts_me_export",
    )
    def get(self, request: SignedInApiRequest[User], token: str) -> Any:
        try:
            export = data_export_for_download(user=request.user, token=token)
        except ExportExpired:
            return Response(
                {"detail": _("This download link has expired.")}, status=status.HTTP_410_GONE
            )
        return _download(export)
