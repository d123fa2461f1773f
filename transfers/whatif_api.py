"""API of the what-if across programmes (``GET /api/v1/transfers/what-if/``) and of the plan to
one programme (``GET /api/v1/transfers/plans/<programme_id>/``); see ``transfers.whatif``."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import HasRole
from common.http import SignedInApiRequest
from common.replicas import replica_reads

from .models import Programme
from .whatif import (
    Plan,
    WhatIf,
    institutions_publishing,
    programme_plan,
    programmes_for_what_if,
    what_if,
)


class WhatIfQuerySerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(
        queryset=institutions_publishing(),
        required=False,
        help_text="An institution's id: only its programmes.",
        error_messages={"does_not_exist": _("No institution publishes programmes under this id.")},
    )
    level = serializers.CharField(
        required=False, allow_blank=True, max_length=50, help_text="A level, as programmes give it."
    )
    kind = serializers.ChoiceField(choices=Programme.Kind.choices, required=False)

    def validate_level(self, value: str) -> str:
        value = value.strip()
        if value and not programmes_for_what_if(level=value).exists():
            raise serializers.ValidationError(_("No published programme is of this level."))
        return value


def amount(**options: Any) -> serializers.DecimalField:
    """Credits or hours, one decimal place."""
    return serializers.DecimalField(max_digits=7, decimal_places=1, **options)


def share(help_text: str) -> serializers.DecimalField:
    """A share of the required credits, 0 to 1, four places."""
    return serializers.DecimalField(max_digits=5, decimal_places=4, help_text=help_text)


class WhatIfSerializer(serializers.Serializer):
    programme = serializers.IntegerField(source="programme.pk")
    programme_code = serializers.CharField(source="programme.code")
    programme_name = serializers.CharField(source="programme.display_name")
    institution = serializers.IntegerField(source="programme.institution_id")
    institution_name = serializers.CharField(source="programme.institution.name")
    kind = serializers.ChoiceField(source="programme.kind", choices=Programme.Kind.choices)
    level = serializers.CharField(source="programme.level")
    credits_required = amount(source="path.credits_required")
    credits_covered = amount(source="plan.credits_done")
    credits_with_outcomes = amount()
    credits_obtainable = amount(source="plan.credits_after")
    hours_to_obtain = amount(source="plan.hours_planned")
    share_now = share("Share of the required credits covered by accredited outcomes now (0 to 1).")
    share_with_outcomes = share("Adding saved and submitted outcomes, once accredited.")
    share_obtainable = share("Adding the catalogue entries of the plan, once obtained.")
    path = serializers.SerializerMethodField()
    plan = serializers.SerializerMethodField()

    def get_path(self, row: WhatIf) -> str:
        return f"/api/v1/transfers/paths/{row.programme.pk}/"

    def get_plan(self, row: WhatIf) -> str:
        return f"/api/v1/transfers/plans/{row.programme.pk}/"


class PlanCourseSerializer(serializers.Serializer):
    course = serializers.IntegerField(source="course.pk")
    course_code = serializers.CharField(source="course.code")
    course_name = serializers.CharField(source="course.display_name")
    course_credits = amount(source="course.credits")
    credits = amount()
    outcome = serializers.IntegerField(source="outcome.pk", allow_null=True, default=None)
    outcome_title = serializers.CharField(source="outcome.title", allow_null=True, default=None)


class PlanStepSerializer(serializers.Serializer):
    course = serializers.IntegerField(source="course.pk")
    course_code = serializers.CharField(source="course.code")
    course_name = serializers.CharField(source="course.display_name")
    entry_code = serializers.CharField(source="version.entry.code")
    entry_name = serializers.CharField(source="version.display_name")
    hours = amount()
    credits = amount()
    rule = serializers.IntegerField(source="rule.pk")


class PlanSerializer(serializers.Serializer):
    programme = serializers.IntegerField(source="programme.pk")
    programme_code = serializers.CharField(source="programme.code")
    programme_name = serializers.CharField(source="programme.display_name")
    credits_required = amount(source="path.credits_required")
    credits_done = amount()
    credits_waiting = amount()
    credits_planned = amount()
    hours_planned = amount()
    credits_after = amount()
    credits_still_needed_after = amount()
    done = PlanCourseSerializer(many=True, help_text="Courses covered by accredited outcomes.")
    waiting = PlanCourseSerializer(
        many=True, help_text="Courses covered once a saved or submitted outcome is accredited."
    )
    steps = PlanStepSerializer(
        many=True, help_text="Catalogue entries to obtain, best credits per hour first."
    )
    uncovered = PlanCourseSerializer(
        many=True, help_text="Missing courses no catalogue entry covers."
    )


class WhatIfView(generics.ListAPIView[Any]):
    """The caller's what-if across programmes: every published programme ranked by the share
    of its credits covered now, then with saved outcomes once accredited, then with the
    catalogue entries the plan would add; filter by ``institution``, ``level`` and ``kind``."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = WhatIfSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema's generation
            return []
        query = WhatIfQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        user: User = self.request.user  # type: ignore[assignment]
        return what_if(account=learning_account_required(user=user), **query.validated_data)

    @extend_schema(parameters=[WhatIfQuerySerializer])
    @replica_reads
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PlanView(APIView):
    """The caller's plan to a programme: courses done, waiting for an accreditation, the
    catalogue entries to obtain for the missing ones (with hours and credits), and what no entry
    covers."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=PlanSerializer)
    def get(self, request: SignedInApiRequest[User], programme_id: int) -> Response:
        programme = get_object_or_404(
            Programme.objects.select_related("institution").filter(is_published=True),
            pk=programme_id,
        )
        plan: Plan = programme_plan(
            account=learning_account_required(user=request.user), programme=programme
        )
        return Response(PlanSerializer(plan).data)
