from typing import Any

from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.collective.permissions import collective_or_404
from accounts.models import LearningAccount, Role
from accounts.serviceaccounts.models import Scope
from accounts.serviceaccounts.permissions import HasScope
from accounts.services import learning_account_required
from accounts.signin.permissions import HasRole
from accounts.signin.person import IsPerson
from common.idempotency import idempotent
from common.parsers import DepthLimitedJSONParser

from .batches import (
    BatchRowsInvalid,
    batches_of,
    outcome_confirm,
    outcome_decline,
)
from .models import EvidenceFile, InstitutionBatch, LearningOutcome
from .serializers import (
    BatchErrorsSerializer,
    BatchSerializer,
    BatchUploadSerializer,
    OutcomeSerializer,
    StatusQuerySerializer,
)
from .services import (
    REQUIRED_BY_KIND,
    outcome_save,
    outcome_update,
    outcome_withdraw,
    outcomes_of,
)
from .storage import uploads_read
from .views import batch_report_from, evidence_download

# What each kind needs beyond kind, title and achieved_on, in the schema: a oneOf per kind in a
# multipart body is dropped by openapi-python-client 0.29 (it sends no body at all), so the
# rule is written out in the operation and as ``x-required-by-kind`` (docs/decisions/0014).
KIND_REQUIREMENTS = (
    "Add a learning outcome with its evidence (multipart: one `files` part per file, at least "
    "one; PDF, JPEG or PNG). Besides `kind`, `title` and `achieved_on`, each kind needs "
    "(a missing one answers 400 keyed by the field):\n\n"
    + "\n".join(
        f"- `{kind!s}`: " + ", ".join(f"`{field}`" for field in fields)
        for kind, fields in REQUIRED_BY_KIND.items()
    )
)


def learner_account(request: Request) -> LearningAccount:
    return learning_account_required(user=request.user)  # type: ignore[arg-type]


def description(validated: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in validated.items() if k != "files"}


class OutcomeListView(generics.ListAPIView[LearningOutcome]):
    """The caller's learning outcomes; POST (multipart) adds one with its evidence files."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = OutcomeSerializer
    parser_classes = [MultiPartParser, FormParser, DepthLimitedJSONParser]

    def get_queryset(self):
        query = StatusQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        outcomes = outcomes_of(account=learner_account(self.request)).select_related(
            "batch__collective__institution"
        )
        if query.validated_data.get("status"):
            outcomes = outcomes.filter(status=query.validated_data["status"])
        return outcomes

    @extend_schema(parameters=[StatusQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": OutcomeSerializer},
        responses={201: OutcomeSerializer},
        description=KIND_REQUIREMENTS,
        extensions={"x-required-by-kind": {str(k): list(v) for k, v in REQUIRED_BY_KIND.items()}},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = OutcomeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = outcome_save(
            account=learner_account(request),
            actor=request.user,  # type: ignore[arg-type]
            data=description(serializer.validated_data),
            uploads=uploads_read(serializer.validated_data.get("files", [])),
        )
        return Response(OutcomeSerializer(outcome).data, status=status.HTTP_201_CREATED)


class OutcomeDetailView(APIView):
    """One outcome; PATCH changes it (and may add files) while it is only saved."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    parser_classes = [MultiPartParser, FormParser, DepthLimitedJSONParser]

    def _outcome(self, request: Request, pk: int) -> LearningOutcome:
        return get_object_or_404(outcomes_of(account=learner_account(request)), pk=pk)

    @extend_schema(responses=OutcomeSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(OutcomeSerializer(self._outcome(request, pk)).data)

    @extend_schema(request=OutcomeSerializer, responses=OutcomeSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        outcome = self._outcome(request, pk)
        serializer = OutcomeSerializer(outcome, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        outcome = outcome_update(
            outcome=outcome,
            actor=request.user,  # type: ignore[arg-type]
            data=description(serializer.validated_data),
            uploads=uploads_read(serializer.validated_data.get("files", [])),
        )
        return Response(OutcomeSerializer(outcome).data)


class OutcomeWithdrawView(OutcomeDetailView):
    http_method_names = ["post"]

    @extend_schema(request=None, responses=OutcomeSerializer)
    def post(self, request: Request, pk: int) -> Response:
        outcome = outcome_withdraw(outcome=self._outcome(request, pk), actor=request.user)  # type: ignore[arg-type]
        return Response(OutcomeSerializer(outcome).data)


class OutcomeConfirmView(OutcomeDetailView):
    """The learner confirms an outcome their institution reported: it enters the file."""

    http_method_names = ["post"]

    @extend_schema(request=None, responses=OutcomeSerializer)
    def post(self, request: Request, pk: int) -> Response:
        outcome = outcome_confirm(outcome=self._outcome(request, pk), actor=request.user)  # type: ignore[arg-type]
        return Response(OutcomeSerializer(outcome).data)


class OutcomeDeclineView(OutcomeDetailView):
    """The learner declines an outcome their institution reported: it never enters the file."""

    http_method_names = ["post"]

    @extend_schema(request=None, responses=OutcomeSerializer)
    def post(self, request: Request, pk: int) -> Response:
        outcome = outcome_decline(outcome=self._outcome(request, pk), actor=request.user)  # type: ignore[arg-type]
        return Response(OutcomeSerializer(outcome).data)


class BatchListView(generics.ListAPIView[InstitutionBatch]):
    """``GET``: the institution's batches with how many members confirmed, declined or have
    yet to answer. ``POST`` (multipart): report one programme's results for many members;
    either every row is reported, or nothing is and the answer lists every problem by row and
    column."""

    permission_classes = [HasRole.of(Role.INSTITUTION_ADMIN) | HasScope]
    service_scopes = {"GET": Scope.READ, "POST": Scope.BATCHES_WRITE}
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = BatchSerializer

    def collective(self, request: Request, pk: int) -> LearningAccount:
        return collective_or_404(request.user, pk)

    def get_queryset(self):
        return batches_of(collective=self.collective(self.request, self.kwargs["pk"]))

    @extend_schema(
        request={"multipart/form-data": BatchUploadSerializer},
        responses={
            201: BatchSerializer,
            400: OpenApiResponse(
                BatchErrorsSerializer,
                description=(
                    "Row problems as ``rows``; other problems keyed by field (``file``, "
                    "``evidence``, a description field)."
                ),
            ),
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        collective = self.collective(request, pk)
        body = BatchUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            batch = batch_report_from(
                collective=collective, user=request.user, cleaned=body.validated_data
            )
        except BatchRowsInvalid as exc:
            errors = BatchErrorsSerializer(
                {"detail": exc.message_dict["file"][0], "rows": exc.rows}
            )
            return Response(errors.data, status=status.HTTP_400_BAD_REQUEST)
        batch = batches_of(collective=collective).get(pk=batch.pk)
        return Response(BatchSerializer(batch).data, status=status.HTTP_201_CREATED)


class EvidenceDownloadView(APIView):
    """An evidence file, to its owner or to staff who opened the owner's file with a reason."""

    permission_classes = [IsPerson]

    # Evidence is accepted only as PDF, JPEG or PNG (checked by content), and served as such.
    @extend_schema(
        responses={
            (200, "application/pdf"): bytes,
            (200, "image/jpeg"): bytes,
            (200, "image/png"): bytes,
        }
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        get_object_or_404(EvidenceFile, pk=pk)
        return evidence_download(request._request, pk)
