"""``/api/v1/applications/``: learners submit and follow their applications; centre staff
work the queue and decide. Every move is ``POST /api/v1/applications/<id>/<action>/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import (
    centres_list,
    erased_shown,
    users_active,
    validate_no_identity_number,
)
from accounts.signin.permissions import HasRole
from common.idempotency import idempotent
from common.parsers import DepthLimitedJSONParser
from common.replicas import replica_reads
from outcomes.models import LearningOutcome, OutcomeKind
from outcomes.services import outcome_of_holder
from outcomes.storage import uploads_read

from . import services
from .models import (
    Application,
    ApplicationEvent,
    ApplicationState,
    CatalogueEntry,
    Decision,
    Revocation,
)
from .workflow import allowed_actions

STAFF = (Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN, Role.MANAGEMENT_ADMIN)
DECISION_RELATED = (
    "decision__revocation",
    "decision__catalogue_version__entry",
    "decision__decided_by",
    "decision__approved_by",
)


def _is_learner(request: Request) -> bool:
    return getattr(request.user, "role", None) == Role.LEARNER


class _Person(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: User) -> str:
        return user.name or user.username


class _OutcomeBrief(serializers.ModelSerializer[LearningOutcome]):
    class Meta:
        model = LearningOutcome
        fields = [
            "id", "title", "kind", "issuing_body", "achieved_on", "hours", "provider",
        ]  # fmt: skip


class _OutcomeDetail(_OutcomeBrief):
    """What the detail shows (opening it is a recorded staff access); lists leave these out."""

    class Meta(_OutcomeBrief.Meta):
        fields = [
            *_OutcomeBrief.Meta.fields, "certificate_number", "result", "content", "mode",
            "place", "started_on", "ended_on",
        ]  # fmt: skip


class _DecisionSerializer(serializers.ModelSerializer[Decision]):
    catalogue_code = serializers.CharField(source="catalogue_version.entry.code", default=None)
    catalogue_version = serializers.IntegerField(source="catalogue_version.version", default=None)
    decided_by = _Person()
    approved_by = _Person(allow_null=True)
    # The closure's marker said in words, as the pages say it.
    reason = serializers.CharField(source="reason_shown", read_only=True)
    revocation = serializers.SerializerMethodField(
        help_text="Set when the accreditation has been revoked since."
    )

    class Meta:
        model = Decision
        fields = [
            "result", "basis", "hours", "credits", "reason", "catalogue_code",
            "catalogue_version", "decided_by", "approved_by", "decided_at", "on_time",
            "revocation",
        ]  # fmt: skip

    def get_revocation(self, decision: Decision) -> dict[str, Any] | None:
        revocation = getattr(decision, "revocation", None)
        if revocation is None:
            return None
        return {
            "reason_code": revocation.reason_code,
            "reason": erased_shown(revocation.reason),
            "revoked_at": revocation.revoked_at.isoformat(),
        }


class _EventSerializer(serializers.ModelSerializer[ApplicationEvent]):
    actor = _Person()
    action_display = serializers.CharField(source="get_action_display")

    class Meta:
        model = ApplicationEvent
        fields = [
            "action", "action_display", "from_state", "to_state", "actor", "reason", "details",
            "occurred_at",
        ]  # fmt: skip


class ApplicationSerializer(serializers.ModelSerializer[Application]):
    outcome = _OutcomeBrief()
    centre = serializers.SerializerMethodField()
    state_display = serializers.CharField(source="get_state_display")
    claimed_entry = serializers.CharField(
        source="claimed_entry.code", default=None, allow_null=True
    )
    working_days_left = serializers.SerializerMethodField(
        help_text="Working days until the decision is due; negative when overdue. While the "
        "clock is stopped, the days it resumes with."
    )
    clock_stopped = serializers.SerializerMethodField()
    assigned_to = _Person(allow_null=True)
    proposal = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id", "outcome", "centre", "kind", "state", "state_display", "claimed_entry",
            "statement", "submitted_at", "due_on", "due_is_provisional", "working_days_left",
            "clock_stopped", "assigned_to", "proposal", "decision",
        ]  # fmt: skip

    def get_centre(self, application: Application) -> dict[str, str]:
        return {"code": application.centre.code, "name": application.centre.name}

    def get_working_days_left(self, application: Application) -> int | None:
        if not hasattr(application, "days_left"):
            services.days_left_set([application])
        return application.days_left  # type: ignore[attr-defined]

    def get_clock_stopped(self, application: Application) -> bool:
        return application.state == ApplicationState.SUPPLEMENT_REQUESTED

    def get_proposal(self, application: Application) -> dict[str, Any] | None:
        if not application.has_proposal or self.context.get("learner"):
            return None
        by = application.proposed_by
        return {
            "hours": str(application.proposed_hours),
            "credits": str(application.proposed_credits),
            "reason": application.proposal_reason,
            "proposed_by": {"id": by.pk, "name": by.name or by.username} if by else None,
        }

    def get_decision(self, application: Application) -> dict[str, Any] | None:
        decision = getattr(application, "decision", None)
        return _DecisionSerializer(decision).data if decision else None


class ApplicationDetailSerializer(ApplicationSerializer):
    outcome = _OutcomeDetail()
    events = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField(
        help_text="The moves the workflow allows from the current state."
    )

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "events", "actions"]

    @extend_schema_field(_EventSerializer(many=True))
    def get_events(self, application: Application) -> Any:
        events = list(application.events.all())
        if self.context.get("learner"):
            # The centre's internal deliberation stays internal.
            events = [e for e in events if e.action not in services.INTERNAL_ACTIONS]
        return _EventSerializer(events, many=True).data

    def get_actions(self, application: Application) -> list[str]:
        return [a.replace("_", "-") for a in allowed_actions(application.state)]


class SubmitSerializer(serializers.Serializer):
    outcome = serializers.IntegerField()
    centre = serializers.SlugRelatedField(slug_field="code", queryset=centres_list(branch=True))
    claimed_entry = serializers.SlugRelatedField(
        slug_field="code", queryset=CatalogueEntry.objects.all(), required=False, allow_null=True
    )
    statement = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, validators=[validate_no_identity_number]
    )


class QueueQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ApplicationState.choices, required=False)
    kind = serializers.ChoiceField(choices=OutcomeKind.choices, required=False)
    reviewer = serializers.RegexField(r"^(me|none|\d{1,10})$", required=False)
    centre = serializers.SlugRelatedField(
        slug_field="code", queryset=centres_list(), required=False
    )
    ordering = serializers.ChoiceField(choices=list(services.QUEUE_ORDERINGS), required=False)


class ApplicationListView(generics.ListAPIView[Application]):
    """Learners: their own applications; ``POST`` submits a saved outcome to a centre.
    Centre staff: the centre's queue (still owing a decision unless ``state`` says otherwise),
    sorted by due date; the management admin sees every centre."""

    permission_classes = [HasRole.of(Role.LEARNER, *STAFF)]
    serializer_class = ApplicationSerializer

    def get_queryset(self):
        user = self.request.user
        if user.role == Role.LEARNER:  # type: ignore[union-attr]
            return (
                Application.objects.filter(account__holder=cast(User, user))
                .select_related("outcome", "centre", "assigned_to", "claimed_entry", "proposed_by")
                .select_related(*DECISION_RELATED)
                .order_by("-submitted_at", "-id")
            )
        query = QueueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return services.application_queue(user=user, **query.validated_data).select_related(  # type: ignore[arg-type]
            "claimed_entry", "proposed_by", *DECISION_RELATED
        )

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        # Working days left for the whole page from one read of the calendar.
        return services.days_left_set(page) if page is not None else None

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "learner": _is_learner(self.request)}

    @extend_schema(parameters=[QueueQuerySerializer])
    @replica_reads
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SubmitSerializer, responses={201: ApplicationDetailSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        if request.user.role != Role.LEARNER:  # type: ignore[union-attr]
            return Response(
                {"detail": _("Only learners submit applications.")},
                status=status.HTTP_403_FORBIDDEN,
            )
        body = SubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = outcome_of_holder(
            pk=body.validated_data["outcome"], user=cast(User, request.user)
        )
        if outcome is None:
            raise serializers.ValidationError({"outcome": [_("No such learning outcome.")]})
        application = services.application_submit(
            outcome=outcome,
            centre=body.validated_data["centre"],
            actor=request.user,  # type: ignore[arg-type]
            claimed_entry=body.validated_data.get("claimed_entry"),
            statement=body.validated_data.get("statement", ""),
        )
        return Response(_detail(request, application.pk), status=status.HTTP_201_CREATED)


def _visible(request: Request, pk: int) -> Application:
    return get_object_or_404(services.application_visible_to(user=request.user), pk=pk)  # type: ignore[arg-type]


def _detail(request: Request, pk: int, *, record_access: bool = False) -> dict[str, Any]:
    application = (
        services.application_visible_to(user=request.user)  # type: ignore[arg-type]
        .select_related("claimed_entry", *DECISION_RELATED)
        .prefetch_related("events__actor")
        .get(pk=pk)
    )
    if record_access and not _is_learner(request):
        # Reading the application is looking into the learner's file. (The answer to a move
        # is not recorded again: the move itself is an event with its actor.)
        services.application_opened_by_staff(application=application, staff=request.user)  # type: ignore[arg-type]
    context = {"learner": _is_learner(request)}
    return ApplicationDetailSerializer(application, context=context).data


class ApplicationDetailView(APIView):
    """One application with its events (who, when, from, to, why) and its decision."""

    permission_classes = [HasRole.of(Role.LEARNER, *STAFF)]

    @extend_schema(responses=ApplicationDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        _visible(request, pk)
        return Response(_detail(request, pk, record_access=True))


# --- Moves --------------------------------------------------------------------------------------


class _Empty(serializers.Serializer):
    pass


class _Reason(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, validators=[validate_no_identity_number])


class _OptionalReason(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, validators=[validate_no_identity_number]
    )


class _Assign(serializers.Serializer):
    reviewer = serializers.PrimaryKeyRelatedField(queryset=users_active())


class _Accredit(_OptionalReason):
    entry = serializers.SlugRelatedField(slug_field="code", queryset=CatalogueEntry.objects.all())


class _Propose(_Reason):
    hours = serializers.DecimalField(max_digits=7, decimal_places=1)
    credits = serializers.DecimalField(max_digits=5, decimal_places=1)


class _Resubmit(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)
    note = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, validators=[validate_no_identity_number]
    )


Handler = Callable[[Application, User, dict[str, Any]], object]

MOVES: dict[str, tuple[type[serializers.Serializer], Handler, tuple[str, ...], str]] = {
    "assign": (
        _Assign,
        lambda a, u, d: services.application_assign(application=a, actor=u, reviewer=d["reviewer"]),
        (Role.CENTRE_ADMIN,),
        "The centre admin assigns the application to a reviewer of the centre.",
    ),
    "start-review": (
        _Empty,
        lambda a, u, d: services.review_start(application=a, actor=u),
        services.REVIEWER_ROLES,
        "A reviewer takes up a submitted application.",
    ),
    "request-supplement": (
        _Reason,
        lambda a, u, d: services.supplement_request(application=a, actor=u, reason=d["reason"]),
        services.REVIEWER_ROLES,
        "Ask the learner for more material; the 15-working-day clock stops.",
    ),
    "resubmit": (
        _Resubmit,
        lambda a, u, d: services.application_resubmit(
            application=a, actor=u, uploads=uploads_read(d["files"]), note=d.get("note", "")
        ),
        (Role.LEARNER,),
        "The learner provides the material asked for; the clock resumes with the days left.",
    ),
    "accredit": (
        _Accredit,
        lambda a, u, d: services.accredit_against_catalogue(
            application=a, actor=u, entry=d["entry"], reason=d.get("reason", "")
        ),
        services.REVIEWER_ROLES,
        "Accredit against a catalogue entry: hours and credits come from its version in effect.",
    ),
    "propose": (
        _Propose,
        lambda a, u, d: services.individual_propose(
            application=a, actor=u, hours=d["hours"], credits=d["credits"], reason=d["reason"]
        ),
        services.REVIEWER_ROLES,
        "Propose an individual accreditation; a second reviewer must approve it.",
    ),
    "approve": (
        _Empty,
        lambda a, u, d: services.individual_approve(application=a, actor=u),
        services.REVIEWER_ROLES,
        "A second reviewer approves the proposed individual accreditation.",
    ),
    "return-proposal": (
        _Reason,
        lambda a, u, d: services.individual_return(application=a, actor=u, reason=d["reason"]),
        services.REVIEWER_ROLES,
        "A second reviewer does not approve the proposal; review goes on.",
    ),
    "reject": (
        _Reason,
        lambda a, u, d: services.application_reject(application=a, actor=u, reason=d["reason"]),
        services.REVIEWER_ROLES,
        "Reject with a reason.",
    ),
    "withdraw": (
        _OptionalReason,
        lambda a, u, d: services.application_withdraw(
            application=a, actor=u, reason=d.get("reason", "")
        ),
        (Role.LEARNER,),
        "The learner withdraws the application; the outcome is saved again.",
    ),
}


def move_view(slug: str) -> type[APIView]:
    body_class, handler, roles, summary = MOVES[slug]

    class MoveView(APIView):
        permission_classes = [IsAuthenticated, HasRole.of(*roles)]  # type: ignore[arg-type]
        parser_classes = (
            [MultiPartParser, FormParser]
            if slug == "resubmit"
            else [DepthLimitedJSONParser, FormParser]
        )

        @extend_schema(
            request=body_class,
            responses=ApplicationDetailSerializer,
            summary=summary,
            operation_id=f"applications_{slug.replace('-', '_')}",
        )
        def post(self, request: Request, pk: int) -> Response:
            application = _visible(request, pk)
            body = body_class(data=request.data)
            body.is_valid(raise_exception=True)
            handler(application, request.user, body.validated_data)  # type: ignore[arg-type]
            return Response(_detail(request, pk))

    MoveView.__name__ = MoveView.__qualname__ = (
        "Application" + slug.title().replace("-", "") + "View"
    )
    return MoveView


class _Revoke(serializers.Serializer):
    reason_code = serializers.ChoiceField(choices=Revocation.ReasonCode.choices)
    reason = serializers.CharField(max_length=2000)


class ApplicationRevokeView(APIView):
    """Revoke the accreditation of a decided application: the ledger entry is reversed and
    certificates that relied on it verify as revoked (centre admin or management admin)."""

    permission_classes = [HasRole.of(Role.CENTRE_ADMIN, Role.MANAGEMENT_ADMIN)]

    @extend_schema(request=_Revoke, responses=ApplicationDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        application = _visible(request, pk)
        decision = Decision.objects.filter(application=application).first()
        if decision is None:
            raise serializers.ValidationError({"decision": [_("Nothing has been decided yet.")]})
        body = _Revoke(data=request.data)
        body.is_valid(raise_exception=True)
        services.accreditation_revoke(
            decision=decision,
            actor=request.user,  # type: ignore[arg-type]
            reason_code=body.validated_data["reason_code"],
            reason=body.validated_data["reason"],
        )
        return Response(_detail(request, pk))


class _EstimateEntry(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class EstimateSerializer(serializers.Serializer):
    matched = serializers.BooleanField()
    entry = _EstimateEntry(required=False)
    version = serializers.IntegerField(required=False)
    hours = serializers.DecimalField(max_digits=7, decimal_places=1, required=False)
    credits = serializers.DecimalField(max_digits=5, decimal_places=1, required=False)


class CatalogueEstimateView(APIView):
    """What a saved outcome would earn if accredited against the catalogue entry it matches."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=EstimateSerializer)
    def get(self, request: Request, pk: int) -> Response:
        outcome = outcome_of_holder(pk=pk, user=cast(User, request.user))
        if outcome is None:
            raise Http404
        return Response(services.outcome_estimate(outcome=outcome))
