"""API of credit transfer: learners apply and follow their transfers, institution officers decide
each course; and the learning path to a programme.

Learners see only their own transfers and officers only their institution's: anyone else's is a
404, not a 403, so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.serviceaccounts.models import Scope
from accounts.serviceaccounts.permissions import HasScope
from accounts.services import (
    erased_shown,
    learning_account_required,
    validate_no_identity_number,
)
from accounts.signin.permissions import HasRole
from common.http import SignedInApiRequest
from common.replicas import replica_reads
from outcomes.models import LearningOutcome

from .idempotency import IDEMPOTENCY_PARAMETER, idempotent
from .models import Course, Programme, TransferApplication, TransferItem
from .paths import CourseOnPath, Path, learning_path
from .services import (
    DECISIONS,
    transfer_apply,
    transfer_item_decide,
    transfer_item_keep,
    transfer_item_rescind,
    transfer_item_respond,
    transfer_items_visible_to,
    transfer_withdraw,
    transfers_visible_to,
)

# --- Serializers --------------------------------------------------------------------------------


# The answer to a refused Idempotency-Key: {"idempotency_key": [message]}.
IDEMPOTENCY_ERROR = {
    "type": "object",
    "properties": {"idempotency_key": {"type": "array", "items": {"type": "string"}}},
    "required": ["idempotency_key"],
}
# The two refusals of an operation that honours Idempotency-Key, for its ``responses``.
IDEMPOTENCY_REFUSALS = {
    409: OpenApiResponse(
        IDEMPOTENCY_ERROR,
        description="The first request with this Idempotency-Key is still running.",
    ),
    422: OpenApiResponse(
        IDEMPOTENCY_ERROR,
        description="This Idempotency-Key was used for a different request.",
    ),
}


class TransferItemSerializer(serializers.ModelSerializer):
    course_code = serializers.CharField(source="course.code", read_only=True)
    course_name = serializers.CharField(source="course.display_name", read_only=True)
    outcome_title = serializers.CharField(source="outcome.title", read_only=True)
    catalogue_code = serializers.CharField(source="rule.entry.code", read_only=True)
    rule_version = serializers.IntegerField(source="rule.version", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    reason = serializers.SerializerMethodField()

    class Meta:
        model = TransferItem
        fields = [
            "id",
            "course",
            "course_code",
            "course_name",
            "outcome",
            "outcome_title",
            "rule",
            "catalogue_code",
            "rule_version",
            "credits",
            "preassessment",
            "state",
            "state_display",
            "reason",
            "decided_at",
            "basis_revoked_at",
            "basis_kept_at",
        ]
        read_only_fields = fields

    def get_reason(self, item: TransferItem) -> str:
        """The stored reason; the closure's marker said in words, as the pages say it (the
        stored codes such as ``basis revoked`` stay codes)."""
        return erased_shown(item.reason)


class TransferSerializer(serializers.ModelSerializer):
    programme_code = serializers.CharField(source="programme.code", read_only=True)
    programme_name = serializers.CharField(source="programme.display_name", read_only=True)
    institution = serializers.CharField(source="programme.institution.name", read_only=True)
    account_number = serializers.CharField(source="account.number", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    items = TransferItemSerializer(many=True, read_only=True)

    class Meta:
        model = TransferApplication
        fields = [
            "id",
            "account_number",
            "programme",
            "programme_code",
            "programme_name",
            "institution",
            "state",
            "state_display",
            "submitted_at",
            "decided_at",
            "items",
        ]
        read_only_fields = fields


class TransferItemRequestSerializer(serializers.Serializer):
    course = serializers.PrimaryKeyRelatedField(queryset=Course.objects.all())
    outcome = serializers.PrimaryKeyRelatedField(queryset=LearningOutcome.objects.all())


class TransferRequestSerializer(serializers.Serializer):
    programme = serializers.PrimaryKeyRelatedField(queryset=Programme.objects.all())
    items = TransferItemRequestSerializer(many=True, allow_empty=False)


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=sorted(DECISIONS))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SettleSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class RespondSerializer(serializers.Serializer):
    response = serializers.CharField(max_length=2000, validators=[validate_no_identity_number])


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        validators=[validate_no_identity_number],
    )


class CourseOnPathSerializer(serializers.Serializer):
    course = serializers.IntegerField(source="course.pk")
    course_code = serializers.CharField(source="course.code")
    course_name = serializers.CharField(source="course.display_name")
    course_credits = serializers.DecimalField(
        source="course.credits", max_digits=4, decimal_places=1
    )
    status = serializers.ChoiceField(choices=["match", "maybe", "miss"])
    outcome = serializers.IntegerField(source="outcome.pk", allow_null=True, default=None)
    outcome_title = serializers.CharField(source="outcome.title", allow_null=True, default=None)
    rule = serializers.IntegerField(source="rule.pk", allow_null=True, default=None)
    credits = serializers.DecimalField(max_digits=4, decimal_places=1)
    transferred = serializers.BooleanField()
    pending = serializers.BooleanField()
    # Revoked and not settled yet; kept despite the revocation (see transfers.paths).
    basis_revoked = serializers.BooleanField()
    basis_kept = serializers.BooleanField()
    transfer = serializers.IntegerField(source="transfer_id", allow_null=True)
    covered_by = serializers.SerializerMethodField()

    def get_covered_by(self, line: CourseOnPath) -> list[dict[str, str]]:
        return [{"code": v.entry.code, "name": v.display_name} for v in line.covering]


class RuleStateSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(
        choices=["per_year", "per_source", "bank_share", "category", "residency"]
    )
    state = serializers.ChoiceField(choices=["met", "not_yet", "would_exceed"])
    message = serializers.CharField()
    figures = serializers.DictField(child=serializers.CharField())


class PathSerializer(serializers.Serializer):
    programme = serializers.IntegerField(source="programme.pk")
    programme_code = serializers.CharField(source="programme.code")
    programme_name = serializers.CharField(source="programme.display_name")
    credits_required = serializers.DecimalField(max_digits=6, decimal_places=1)
    credits_covered = serializers.DecimalField(max_digits=6, decimal_places=1)
    credits_transferred = serializers.DecimalField(max_digits=6, decimal_places=1)
    credits_still_needed = serializers.DecimalField(max_digits=6, decimal_places=1)
    courses = CourseOnPathSerializer(many=True)
    # The programme's rules in force (issue 24): their version, and each rule's state.
    rules_version = serializers.IntegerField(source="rules.version", allow_null=True, default=None)
    rule_states = RuleStateSerializer(many=True)


# --- Views --------------------------------------------------------------------------------------

PARTIES = (Role.LEARNER, Role.INSTITUTION_OFFICER)


class TransferListView(generics.ListAPIView[TransferApplication]):
    """Transfers: a learner's own, or an institution officer's institution's (filter with
    ``?state=pending|decided|withdrawn``). POST (learners) applies for a transfer."""

    permission_classes = [HasRole.of(*PARTIES) | HasScope]
    serializer_class = TransferSerializer
    service_scopes = {"GET": Scope.READ}

    def get_permissions(self) -> Any:
        if self.request.method == "POST":
            return [HasRole.of(Role.LEARNER)()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[TransferApplication]:
        transfers = transfers_visible_to(user=self.request.user)  # type: ignore[arg-type]
        state = self.request.query_params.get("state")
        if state in TransferApplication.State.values:
            transfers = transfers.filter(state=state)
        return transfers

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=TransferApplication.State.values, required=False)
        ]
    )
    @replica_reads
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=TransferRequestSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: TransferSerializer,
            **IDEMPOTENCY_REFUSALS,
        },
        description=(
            "Apply to have accredited outcomes count for courses of a programme. All or "
            "nothing: errors are keyed items[i].course or items[i].outcome."
        ),
    )
    @idempotent
    def post(self, request: SignedInApiRequest[User]) -> Response:
        body = TransferRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        application = transfer_apply(
            account=learning_account_required(user=request.user),
            programme=body.validated_data["programme"],
            items=[(i["course"], i["outcome"]) for i in body.validated_data["items"]],
            actor=request.user,
        )
        shown = transfers_visible_to(user=request.user).get(pk=application.pk)
        return Response(TransferSerializer(shown).data, status=status.HTTP_201_CREATED)


class TransferDetailView(APIView):
    """One transfer with its courses."""

    permission_classes = [HasRole.of(*PARTIES) | HasScope]
    service_scopes = {"GET": Scope.READ}

    @extend_schema(responses=TransferSerializer)
    def get(self, request: SignedInApiRequest[User], pk: int) -> Response:
        transfer = get_object_or_404(transfers_visible_to(user=request.user), pk=pk)
        return Response(TransferSerializer(transfer).data)


class TransferWithdrawView(APIView):
    """The learner withdraws every course still waiting; their outcomes are free again."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(request=WithdrawSerializer, responses=TransferSerializer)
    def post(self, request: SignedInApiRequest[User], pk: int) -> Response:
        user = request.user
        transfer = get_object_or_404(transfers_visible_to(user=user), pk=pk)
        body = WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        transfer_withdraw(application=transfer, actor=user, reason=body.validated_data["reason"])
        return Response(TransferSerializer(transfers_visible_to(user=user).get(pk=pk)).data)


class TransferItemDecideView(APIView):
    """An officer of the programme's institution decides one course: ``accept``, ``reject``
    (with a reason) or ``request_information`` (with what is needed)."""

    permission_classes = [HasRole.of(Role.INSTITUTION_OFFICER) | HasScope]
    service_scopes = {"POST": Scope.TRANSFERS_DECIDE}

    @extend_schema(request=DecideSerializer, responses=TransferItemSerializer)
    def post(self, request: SignedInApiRequest[User], pk: int) -> Response:
        user = request.user
        item = get_object_or_404(transfer_items_visible_to(user=user), pk=pk)
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = transfer_item_decide(item=item, actor=user, **body.validated_data)
        return Response(TransferItemSerializer(item).data)


class _TransferItemSettleView(APIView):
    """An officer of the institution settles an accepted course whose accreditation was
    revoked, with a reason (``settle``: rescind or keep)."""

    permission_classes = [HasRole.of(Role.INSTITUTION_OFFICER) | HasScope]
    service_scopes = {"POST": Scope.TRANSFERS_DECIDE}
    settle = staticmethod(transfer_item_rescind)

    @extend_schema(request=SettleSerializer, responses=TransferItemSerializer)
    def post(self, request: SignedInApiRequest[User], pk: int) -> Response:
        user = request.user
        item = get_object_or_404(transfer_items_visible_to(user=user), pk=pk)
        body = SettleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = self.settle(item=item, actor=user, reason=body.validated_data["reason"])
        return Response(TransferItemSerializer(item).data)


class TransferItemRescindView(_TransferItemSettleView):
    """An officer of the institution rescinds an accepted course whose accreditation was
    revoked (with a reason): its credits are reversed in the learner's transferred book."""

    settle = staticmethod(transfer_item_rescind)


class TransferItemKeepView(_TransferItemSettleView):
    """An officer of the institution keeps an accepted course whose accreditation was revoked,
    with the reason; the credits stay."""

    settle = staticmethod(transfer_item_keep)


class TransferItemRespondView(APIView):
    """The learner answers an information request about one course."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(request=RespondSerializer, responses=TransferItemSerializer)
    def post(self, request: SignedInApiRequest[User], pk: int) -> Response:
        user = request.user
        item = get_object_or_404(transfer_items_visible_to(user=user), pk=pk)
        body = RespondSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = transfer_item_respond(
            item=item, actor=user, response=body.validated_data["response"]
        )
        return Response(TransferItemSerializer(item).data)


class LearningPathView(APIView):
    """The caller's path to a programme: each course a match, a maybe or a miss, with the
    credits still needed and the catalogue entries that would cover the gaps."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=PathSerializer)
    def get(self, request: SignedInApiRequest[User], programme_id: int) -> Response:
        programme = get_object_or_404(
            Programme.objects.select_related("institution").filter(is_published=True),
            pk=programme_id,
        )
        found: Path = learning_path(
            account=learning_account_required(user=request.user), programme=programme
        )
        return Response(PathSerializer(found).data)
