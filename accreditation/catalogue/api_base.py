"""What the API views of versioned reference data share (the catalogue here, the conversion rules
of the transfers layer above): open reads, writes for the management administrator, and an
import answered with its counts or every problem by row and column.

Not a view module: views of other apps may build on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, BaseThrottle
from rest_framework.views import APIView

from accounts.models import Role
from accounts.signin.permissions import HasRole
from common.downloads import CONTENT_TYPES, FileFormatNegotiation, file_download, upload_read
from common.idempotency import idempotent
from common.tables import RowsInvalid

from ..serializers import (
    ExportQuerySerializer,
    SheetImportErrorsSerializer,
    SheetImportResultSerializer,
    SpreadsheetUploadSerializer,
)
from .versions import UNCHANGED


class PublicReadApi(APIView):
    """Reads open to anyone, throttled per address for visitors without an account (the
    ``anon`` rate); writes for the management administrator only."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [HasRole.of(Role.MANAGEMENT_ADMIN)()]

    def get_throttles(self) -> list[BaseThrottle]:
        return [AnonRateThrottle()] if self.request.method in ("GET", "HEAD") else []


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
        result = run(
            data=upload_read(uploaded),
            filename=uploaded.name or "",
            actor=request.user,
        )
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


# --- dedupe-views: the list, import and export views of a versioned table --------------------


def list_response(
    view: GenericAPIView, rows: Iterable[Any], serialize: Callable[[list[Any]], Any]
) -> Response:
    """``rows`` as one page when the view paginates, else all of them; ``serialize`` gets the
    rows shown, so that what it looks up for them (names, conversions) is only for those."""
    page = view.paginate_queryset(rows)  # type: ignore[arg-type]
    items = list(page) if page is not None else list(rows)
    data = serialize(items)
    return view.get_paginated_response(data) if page is not None else Response(data)


def publish_status(what: str) -> int:
    """201 when publishing added a version, 200 when what was sent was already in effect."""
    return status.HTTP_200_OK if what == UNCHANGED else status.HTTP_201_CREATED


class SheetImportApi(APIView):
    """The management administrator imports a file; the subclass names the service in
    ``importer`` (called with ``data``, ``filename`` and ``actor``) and says what the file
    holds in its docstring."""

    permission_classes = [HasRole.of(Role.MANAGEMENT_ADMIN)]
    parser_classes = [MultiPartParser, FormParser]
    importer: Callable[..., Any]

    # No docstring on the method: the schema then describes each endpoint by its class's.
    @extend_schema(
        request={"multipart/form-data": SpreadsheetUploadSerializer}, responses=IMPORT_RESPONSES
    )
    @idempotent
    def post(self, request: Request) -> Response:
        return import_response(self.importer, request)


class SheetExportApi(APIView):
    """The management administrator exports a file (``?format=csv`` or ``xlsx``) named
    ``<stem>-<today>``; the subclass names the service in ``exporter`` (called with ``fmt``)."""

    permission_classes = [HasRole.of(Role.MANAGEMENT_ADMIN)]
    content_negotiation_class = FileFormatNegotiation
    exporter: Callable[..., bytes]
    stem: str

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, "text/csv"): bytes, (200, CONTENT_TYPES["xlsx"]): bytes},
    )
    def get(self, request: Request) -> HttpResponseBase:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data["format"]
        return file_download(self.exporter(fmt=fmt), fmt=fmt, stem=self.stem)
