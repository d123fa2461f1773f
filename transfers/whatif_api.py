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


DECIMAL = {"max_digits": 7, "decimal_places": 1}
SHARE = {"max_digits": 5, "decimal_places": 4}


class WhatIfSerializer(serializers.Serializer):
    programme = serializers.IntegerField(source="programme.pk")
    programme_code = serializers.CharField(source="programme.code")
    programme_name = serializers.CharField(source="programme.display_name")
    institution = serializers.IntegerField(source="programme.institution_id")
    institution_name = serializers.CharField(source="programme.institution.name")
    kind = serializers.ChoiceField(source="programme.kind", choices=Programme.Kind.choices)
    level = serializers.CharField(source="programme.level")
    credits_required = serializers.DecimalField(source="path.credits_required", **DECIMAL)
    credits_covered = serializers.DecimalField(source="plan.credits_done", **DECIMAL)
    credits_with_outcomes = serializers.DecimalField(**DECIMAL)
    credits_obtainable = serializers.DecimalField(source="plan.credits_after", **DECIMAL)
    hours_to_obtain = serializers.DecimalField(source="plan.hours_planned", **DECIMAL)
    share_now = serializers.DecimalField(
        help_text="Share of the required credits covered by accredited outcomes now (0 to 1).",
        **SHARE,
    )
    share_with_outcomes = serializers.DecimalField(
        help_text="Adding saved and submitted outcomes, once accredited.", **SHARE
    )
    share_obtainable = serializers.DecimalField(
        help_text="Adding the catalogue entries of the plan, once obtained.", **SHARE
    )
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
    course_credits = serializers.DecimalField(source="course.credits", **DECIMAL)
    credits = serializers.DecimalField(**DECIMAL)
    outcome = serializers.IntegerField(source="outcome.pk", allow_null=True, default=None)
    outcome_title = serializers.CharField(source="outcome.title", allow_null=True, default=None)


class PlanStepSerializer(serializers.Serializer):
    course = serializers.IntegerField(source="course.pk")
    course_code = serializers.CharField(source="course.code")
    course_name = serializers.CharField(source="course.display_name")
    entry_code = serializers.CharField(source="version.entry.code")
    entry_name = serializers.CharField(source="version.display_name")
    hours = serializers.DecimalField(**DECIMAL)
    credits = serializers.DecimalField(**DECIMAL)
    rule = serializers.IntegerField(source="rule.pk")


class PlanSerializer(serializers.Serializer):
    programme = serializers.IntegerField(source="programme.pk")
    programme_code = serializers.CharField(source="programme.code")
    programme_name = serializers.CharField(source="programme.display_name")
    credits_required = serializers.DecimalField(source="path.credits_required", **DECIMAL)
    credits_done = serializers.DecimalField(**DECIMAL)
    credits_waiting = serializers.DecimalField(**DECIMAL)
    credits_planned = serializers.DecimalField(**DECIMAL)
    hours_planned = serializers.DecimalField(**DECIMAL)
    credits_after = serializers.DecimalField(**DECIMAL)
    credits_still_needed_after = serializers.DecimalField(**DECIMAL)
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
