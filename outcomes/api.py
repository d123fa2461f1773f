from typing import Any

from django.http import Http404, HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import LearningAccount, Role
from accounts.permissions import HasRole
from accounts.services import learning_account_of

from .models import EvidenceFile, LearningOutcome
from .serializers import OutcomeSerializer
from .services import Upload, outcome_save, outcome_update, outcome_withdraw, outcomes_of
from .views import evidence_download


def learner_account(request: Request) -> LearningAccount:
    account = learning_account_of(user=request.user)  # type: ignore[arg-type]
    if account is None:
        raise Http404
    return account


def uploads(files: list[Any]) -> list[Upload]:
    return [Upload(name=f.name or "", data=f.read()) for f in files]


def description(validated: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in validated.items() if k != "files"}


class OutcomeListView(generics.ListAPIView[LearningOutcome]):
    """The caller's learning outcomes; POST (multipart) adds one with its evidence files."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = OutcomeSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return outcomes_of(account=learner_account(self.request))

    @extend_schema(
        request={"multipart/form-data": OutcomeSerializer}, responses={201: OutcomeSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = OutcomeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = outcome_save(
            account=learner_account(request),
            actor=request.user,  # type: ignore[arg-type]
            data=description(serializer.validated_data),
            uploads=uploads(serializer.validated_data.get("files", [])),
        )
        return Response(OutcomeSerializer(outcome).data, status=status.HTTP_201_CREATED)


class OutcomeDetailView(APIView):
    """One outcome; PATCH changes it (and may add files) while it is only saved."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

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
            uploads=uploads(serializer.validated_data.get("files", [])),
        )
        return Response(OutcomeSerializer(outcome).data)


class OutcomeWithdrawView(OutcomeDetailView):
    http_method_names = ["post"]

    @extend_schema(request=None, responses=OutcomeSerializer)
    def post(self, request: Request, pk: int) -> Response:
        outcome = outcome_withdraw(outcome=self._outcome(request, pk), actor=request.user)  # type: ignore[arg-type]
        return Response(OutcomeSerializer(outcome).data)


class EvidenceDownloadView(APIView):
    """An evidence file, to its owner or to staff who opened the owner's file with a reason."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        get_object_or_404(EvidenceFile, pk=pk)
        return evidence_download(request._request, pk)
