from typing import Any

from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
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
from common.replicas import replica_reads

from .batches import (
    BatchRowsInvalid,
    batches_of,
    outcome_confirm,
    outcome_decline,
)
from .models import EvidenceFile, InstitutionBatch, LearningOutcome
from .pending import evidence_stage
from .serializers import (
    OUTCOME_CREATE_BY_KIND,
    BatchErrorsSerializer,
    BatchSerializer,
    BatchUploadSerializer,
    EvidenceUploadFilesSerializer,
    EvidenceUploadSerializer,
    OutcomeChangeSerializer,
    OutcomeCreateSerializer,
    OutcomeSerializer,
    StatusQuerySerializer,
)
from .services import (
    outcome_save,
    outcome_save_staged,
    outcome_update,
    outcome_update_staged,
    outcome_withdraw,
    outcomes_of,
)
from .storage import uploads_read
from .views import batch_report_from, evidence_download

# ``POST /api/v1/outcomes/`` is documented as JSON, one schema per kind under a discriminator on
# ``kind``, the evidence uploaded beforehand; the multipart form of the same request (the files
# in the body) is still read, for clients written before (docs/decisions/0014).
OUTCOME_CREATE = PolymorphicProxySerializer(
    component_name="OutcomeCreate",
    serializers=dict(OUTCOME_CREATE_BY_KIND.items()),
    resource_type_field_name="kind",
)
CREATE_DESCRIPTION = (
    "Add a learning outcome. Upload its evidence first (POST /api/v1/evidence/uploads/), then "
    "send the outcome as JSON naming the uploads by their `token`; each kind has its schema "
    "with the fields it needs (a missing one answers 400 keyed by the field). The older form, "
    "multipart with the outcome's fields and one `files` part per file, is still accepted."
)


MULTIPART = "multipart/form-data"


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
    @replica_reads
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"application/json": OUTCOME_CREATE},
        responses={201: OutcomeSerializer},
        description=CREATE_DESCRIPTION,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        if not request.content_type.startswith(MULTIPART):
            return self._create_from_json(request)
        serializer = OutcomeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = outcome_save(
            account=learner_account(request),
            actor=request.user,  # type: ignore[arg-type]
            data=description(serializer.validated_data),
            uploads=uploads_read(serializer.validated_data.get("files", [])),
        )
        return Response(OutcomeSerializer(outcome).data, status=status.HTTP_201_CREATED)

    def _create_from_json(self, request: Request) -> Response:
        data = request.data
        chosen = (
            OUTCOME_CREATE_BY_KIND.get(str(data.get("kind"))) if isinstance(data, dict) else None
        )
        # The kind chooses the schema: without a known one, the request is refused as the
        # kind-independent schema refuses it (the kind keyed as any field, a body that is
        # not an object as a whole).
        serializer = (chosen or OutcomeCreateSerializer)(data=data)
        serializer.is_valid(raise_exception=True)
        fields = {k: v for k, v in serializer.validated_data.items() if k != "uploads"}
        outcome = outcome_save_staged(
            account=learner_account(request),
            actor=request.user,  # type: ignore[arg-type]
            data=fields,
            upload_tokens=serializer.validated_data["uploads"],
        )
        return Response(OutcomeSerializer(outcome).data, status=status.HTTP_201_CREATED)


UPLOAD_DESCRIPTION = (
    "Upload evidence ahead of the outcome it proves: each file is checked as the outcome's "
    "would be, and kept for 24 hours under a `token` that `POST /api/v1/outcomes/` (or "
    "`PATCH /api/v1/outcomes/{id}/`) names it by; a token is spent by the first outcome that "
    "saves it. An account has at most 20 uploads waiting. No `Idempotency-Key`: a retry "
    "uploads the file again under a new token (the unused one expires), so an answer never "
    "hands out a token that is already spent."
)


class EvidenceUploadView(APIView):
    """Evidence uploaded ahead of the outcome it proves (multipart): each file is checked as
    the outcome's would be, and kept for a day under a ``token`` that
    ``POST /api/v1/outcomes/`` names it by.

    Not ``@idempotent``, like adding a webhook: a replayed answer would repeat tokens the first
    answer's outcome may already have spent, and keep them in clear in the keys' table."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadFilesSerializer},
        responses={201: EvidenceUploadSerializer(many=True)},
        description=UPLOAD_DESCRIPTION,
    )
    def post(self, request: Request) -> Response:
        body = EvidenceUploadFilesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        staged = evidence_stage(
            account_id=learner_account(request).pk,
            uploads=uploads_read(body.validated_data["files"]),
        )
        return Response(
            EvidenceUploadSerializer(staged, many=True).data, status=status.HTTP_201_CREATED
        )


class OutcomeDetailView(APIView):
    """One outcome; PATCH changes it (and may add files) while it is only saved."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    parser_classes = [MultiPartParser, FormParser, DepthLimitedJSONParser]

    def _outcome(self, request: Request, pk: int) -> LearningOutcome:
        return get_object_or_404(outcomes_of(account=learner_account(request)), pk=pk)

    @extend_schema(responses=OutcomeSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(OutcomeSerializer(self._outcome(request, pk)).data)

    @extend_schema(
        request={"application/json": OutcomeChangeSerializer},
        responses=OutcomeSerializer,
        description=(
            "Change a saved outcome: the fields to change, and evidence to add uploaded first "
            "(POST /api/v1/evidence/uploads/), named by token in `uploads`. The multipart form "
            "(fields and `files` in one body) is still accepted."
        ),
    )
    def patch(self, request: Request, pk: int) -> Response:
        outcome = self._outcome(request, pk)
        if not request.content_type.startswith(MULTIPART):
            change = OutcomeChangeSerializer(outcome, data=request.data, partial=True)
            change.is_valid(raise_exception=True)
            outcome = outcome_update_staged(
                outcome=outcome,
                actor=request.user,  # type: ignore[arg-type]
                data={k: v for k, v in change.validated_data.items() if k != "uploads"},
                upload_tokens=change.validated_data.get("uploads", []),
            )
            return Response(OutcomeSerializer(outcome).data)
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
