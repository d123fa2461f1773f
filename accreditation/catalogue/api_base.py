"""What the API views of versioned reference data share (the catalogue here, the conversion rules
of the transfers layer above): open reads, writes for the management administrator, and an
import answered with its counts or every problem by row and column.

Not a view module: views of other apps may build on it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, BaseThrottle
from rest_framework.views import APIView

from accounts.models import Role
from accounts.signin.permissions import HasRole
from common.downloads import upload_read
from common.tables import RowsInvalid

from ..serializers import (
    SheetImportErrorsSerializer,
    SheetImportResultSerializer,
    SpreadsheetUploadSerializer,
)


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
