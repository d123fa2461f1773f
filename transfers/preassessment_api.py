"""API of binding pre-assessments (ADR 0028): learners ask and withdraw, institution officers
answer. Anyone else's pre-assessment is a 404, as for transfers."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import learning_account_required, validate_no_identity_number
from accounts.signin.permissions import HasRole
from accreditation.models import CatalogueEntryVersion
from common.http import SignedInApiRequest
from outcomes.models import LearningOutcome

from .idempotency import IDEMPOTENCY_PARAMETER, idempotent
from .models import Course, PreAssessment, PreAssessmentState
from .preassessments import (
    ANSWERS,
    BOTH_CHOSEN,
    preassessment_answer,
    preassessment_ask,
    preassessment_withdraw,
    preassessments_visible_to,
)
from .transfer_api import IDEMPOTENCY_REFUSALS


class PreAssessmentSerializer(serializers.ModelSerializer):
    course_code = serializers.CharField(source="course.code", read_only=True)
    course_name = serializers.CharField(source="course.display_name", read_only=True)
    programme = serializers.IntegerField(source="course.programme_id", read_only=True)
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    catalogue_code = serializers.CharField(source="entry.code", read_only=True)
    entry_version_number = serializers.IntegerField(source="entry_version.version", read_only=True)
    account_number = serializers.CharField(source="account.number", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    rule_version = serializers.IntegerField(source="rule.version", read_only=True, default=None)

    class Meta:
        model = PreAssessment
        fields = [
            "id",
            "account_number",
            "course",
            "course_code",
            "course_name",
            "programme",
            "institution",
            "institution_name",
            "entry_version",
            "entry_version_number",
            "catalogue_code",
            "outcome",
            "question",
            "state",
            "state_display",
            "asked_at",
            "working_days",
            "due_on",
            "answered_at",
            "reason",
            "valid_until",
            "rule",
            "rule_version",
            "credits",
        ]
        read_only_fields = fields


class AskSerializer(serializers.Serializer):
    course = serializers.PrimaryKeyRelatedField(
        queryset=Course.objects.select_related("programme__institution")
    )
    entry_version = serializers.PrimaryKeyRelatedField(
        queryset=CatalogueEntryVersion.objects.select_related("entry"),
        required=False,
        allow_null=True,
        default=None,
    )
    outcome = serializers.PrimaryKeyRelatedField(
        queryset=LearningOutcome.objects.all(), required=False, allow_null=True, default=None
    )
    question = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        validators=[validate_no_identity_number],
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("entry_version") is not None and attrs.get("outcome") is not None:
            raise serializers.ValidationError({"outcome": BOTH_CHOSEN})
        return attrs


class AnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=sorted(ANSWERS))
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


PARTIES = (Role.LEARNER, Role.INSTITUTION_OFFICER)


class PreAssessmentListView(generics.ListAPIView[PreAssessment]):
    """Pre-assessments: a learner's own, or an officer's institution's (``?state=asked`` for
    the open ones, ordered by due date). POST (learners) asks a new one."""

    permission_classes = [HasRole.of(*PARTIES)]
    serializer_class = PreAssessmentSerializer

    def get_permissions(self) -> Any:
        if self.request.method == "POST":
            return [HasRole.of(Role.LEARNER)()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[PreAssessment]:
        found = preassessments_visible_to(user=self.request.user)  # type: ignore[arg-type]
        state = self.request.query_params.get("state")
        if state in PreAssessmentState.values:
            found = found.filter(state=state).order_by("due_on", "pk")
        return found

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=PreAssessmentState.values, required=False)]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AskSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: PreAssessmentSerializer,
            **IDEMPOTENCY_REFUSALS,
        },
        description=(
            "Ask the course's institution whether a catalogue entry version (or one of your "
            "saved outcomes) would count for the course. The answer is due on ``due_on`` "
            "(the institution's working days on the portal's calendar)."
        ),
    )
    @idempotent
    def post(self, request: SignedInApiRequest[User]) -> Response:
        body = AskSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        asked = preassessment_ask(
            account=learning_account_required(user=request.user),
            actor=request.user,
            **body.validated_data,
        )
        shown = preassessments_visible_to(user=request.user).get(pk=asked.pk)
        return Response(PreAssessmentSerializer(shown).data, status=status.HTTP_201_CREATED)


class PreAssessmentDetailView(APIView):
    """One pre-assessment."""

    permission_classes = [HasRole.of(*PARTIES)]

    @extend_schema(responses=PreAssessmentSerializer)
    def get(self, request: SignedInApiRequest[User], pk: int) -> Response:
        found = get_object_or_404(preassessments_visible_to(user=request.user), pk=pk)
        return Response(PreAssessmentSerializer(found).data)


class PreAssessmentAnswerView(APIView):
    """An officer of the institution answers: ``yes`` with ``valid_until`` (binding under the
    conversion rule version in force now) or ``no`` with a ``reason``."""

    permission_classes = [HasRole.of(Role.INSTITUTION_OFFICER)]

    @extend_schema(request=AnswerSerializer, responses=PreAssessmentSerializer)
    def post(self, request: SignedInApiRequest[User], pk: int) -> Response:
        found = get_object_or_404(preassessments_visible_to(user=request.user), pk=pk)
        body = AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        preassessment_answer(preassessment=found, actor=request.user, **body.validated_data)
        shown = preassessments_visible_to(user=request.user).get(pk=pk)
        return Response(PreAssessmentSerializer(shown).data)


class PreAssessmentWithdrawView(APIView):
    """The learner withdraws a question not answered yet."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(request=None, responses=PreAssessmentSerializer)
    def post(self, request: SignedInApiRequest[User], pk: int) -> Response:
        found = get_object_or_404(preassessments_visible_to(user=request.user), pk=pk)
        preassessment_withdraw(preassessment=found, actor=request.user)
        shown = preassessments_visible_to(user=request.user).get(pk=pk)
        return Response(PreAssessmentSerializer(shown).data)
