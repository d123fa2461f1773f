"""Pages and API of a programme's rules (issue 24; ADR 0027): the institution's officers and
administrators publish versions; anyone may read them through the API (learners see their
state on the learning path)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, BaseThrottle
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from accreditation.catalogue import beijing_today
from common.forms import DateInput, form_errors_apply
from common.http import SignedInRequest
from common.idempotency import idempotent

from .models import CourseCategory, Programme, ProgrammeRules
from .programme_rules import (
    CategorySpec,
    categories_parse,
    programme_rules_history,
    programme_rules_in_force,
    programme_rules_publish,
)

KEEPERS = (Role.INSTITUTION_OFFICER, Role.INSTITUTION_ADMIN)


def _programmes_of(user: User) -> QuerySet[Programme]:
    if user.institution_id is None:
        return Programme.objects.none()
    return Programme.objects.filter(institution_id=user.institution_id).select_related(
        "institution"
    )


# --- Pages ----------------------------------------------------------------------------------------


class ProgrammeRulesForm(forms.Form):
    effective_from = forms.DateField(label=gettext_lazy("Effective from"), widget=DateInput())
    max_credits_per_year = forms.DecimalField(
        label=gettext_lazy("Most credits recognised per year"),
        required=False,
        max_digits=6,
        decimal_places=1,
        help_text=gettext_lazy("Per calendar year; empty: no limit."),
    )
    max_credits_per_source = forms.DecimalField(
        label=gettext_lazy("Most credits from one source"),
        required=False,
        max_digits=6,
        decimal_places=1,
        help_text=gettext_lazy(
            "A source is the body that issued the accredited outcome (the catalogue entry's "
            "issuing body); empty: no limit."
        ),
    )
    max_bank_share_percent = forms.IntegerField(
        label=gettext_lazy("Largest share from the credit bank (%)"),
        required=False,
        help_text=gettext_lazy("Of the programme's credits; empty: no limit."),
    )
    residency_credits = forms.DecimalField(
        label=gettext_lazy("Credits to be earned at the institution"),
        required=False,
        max_digits=6,
        decimal_places=1,
    )
    categories = forms.CharField(
        label=gettext_lazy("Course categories"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One a line: name | minimum credits | course codes, e.g. “Core courses | 20 | "
            "XQ101 XQ102”. A course is in one category at most."
        ),
    )
    approving_body = forms.CharField(label=gettext_lazy("Approved by"), max_length=200)
    rationale = forms.CharField(
        label=gettext_lazy("Rationale"), widget=forms.Textarea(attrs={"rows": 2})
    )


def _categories_text(rules: ProgrammeRules | None) -> str:
    if rules is None:
        return ""
    return "\n".join(
        f"{c.name} | {c.min_credits} | {' '.join(m.course.code for m in c.members.all())}"
        for c in rules.categories.all()
    )


class ProgrammeRulesPage(RoleRequiredMixin, View):
    """The institution's page for one programme's rules: the history of versions and a form
    for a new one (filled with the version in force)."""

    allowed_roles = KEEPERS
    template_name = "transfers/programme_rules.html"

    def context(self, programme: Programme, form: ProgrammeRulesForm) -> dict[str, Any]:
        return {
            "programme": programme,
            "in_force": programme_rules_in_force(programme),
            "history": programme_rules_history(programme),
            "form": form,
        }

    def get(self, request: SignedInRequest[User], programme_id: int) -> HttpResponse:
        programme = get_object_or_404(_programmes_of(request.user), pk=programme_id)
        current = programme_rules_in_force(programme)
        initial: dict[str, Any] = {"effective_from": beijing_today()}
        if current is not None:
            initial.update(
                max_credits_per_year=current.max_credits_per_year,
                max_credits_per_source=current.max_credits_per_source,
                max_bank_share_percent=current.max_bank_share_percent,
                residency_credits=current.residency_credits,
                categories=_categories_text(current),
                approving_body=current.approving_body,
            )
        form = ProgrammeRulesForm(initial=initial)
        return render(request, self.template_name, self.context(programme, form))

    def post(self, request: SignedInRequest[User], programme_id: int) -> HttpResponse:
        programme = get_object_or_404(_programmes_of(request.user), pk=programme_id)
        form = ProgrammeRulesForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                categories = categories_parse(data.pop("categories"))
                rules = programme_rules_publish(
                    programme=programme, actor=request.user, categories=categories, **data
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _("Version %(version)d of the rules is in force from %(date)s.")
                    % {"version": rules.version, "date": rules.effective_from.isoformat()},
                )
                return redirect("programme-rules", programme_id=programme.pk)
        return render(request, self.template_name, self.context(programme, form), status=400)


class ProgrammeListPage(RoleRequiredMixin, View):
    """The institution's programmes, each with a link to its rules."""

    allowed_roles = KEEPERS

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        return render(
            request,
            "transfers/programme_list.html",
            {"programmes": _programmes_of(request.user).order_by("code")},
        )


# --- API ------------------------------------------------------------------------------------------


class CourseCategorySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    min_credits = serializers.DecimalField(max_digits=6, decimal_places=1, min_value=0)
    course_codes = serializers.ListField(
        child=serializers.CharField(max_length=30), max_length=200, default=list
    )


class CourseCategoryOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    name_en = serializers.CharField()
    min_credits = serializers.DecimalField(max_digits=6, decimal_places=1)
    course_codes = serializers.SerializerMethodField()

    def get_course_codes(self, category: CourseCategory) -> list[str]:
        return [member.course.code for member in category.members.all()]


class ProgrammeRulesSerializer(serializers.ModelSerializer):
    categories = CourseCategoryOutSerializer(many=True, read_only=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = ProgrammeRules
        fields = [
            "id", "version", "effective_from", "effective_to", "in_force",
            "max_credits_per_year", "max_credits_per_source", "max_bank_share_percent",
            "residency_credits", "categories", "approving_body", "rationale",
        ]  # fmt: skip
        read_only_fields = fields

    def get_in_force(self, rules: ProgrammeRules) -> bool:
        return rules.is_effective_on(beijing_today())


class ProgrammeRulesPublishSerializer(serializers.Serializer):
    """A new version of the rules, in force from ``effective_from`` (today or later); an empty
    cap is no cap."""

    effective_from = serializers.DateField()
    max_credits_per_year = serializers.DecimalField(
        max_digits=6, decimal_places=1, required=False, allow_null=True, default=None
    )
    max_credits_per_source = serializers.DecimalField(
        max_digits=6, decimal_places=1, required=False, allow_null=True, default=None
    )
    max_bank_share_percent = serializers.IntegerField(
        min_value=1, max_value=100, required=False, allow_null=True, default=None
    )
    residency_credits = serializers.DecimalField(
        max_digits=6, decimal_places=1, required=False, allow_null=True, default=None
    )
    categories = CourseCategorySerializer(many=True, required=False, default=list)
    approving_body = serializers.CharField(max_length=200)
    rationale = serializers.CharField(max_length=2000)


class ProgrammeRulesApi(APIView):
    """``GET``: every version of a published programme's rules, newest first (anyone).
    ``POST``: an officer or administrator of the programme's institution publishes a new
    version (201)."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [HasRole.of(*KEEPERS)()]

    def get_throttles(self) -> list[BaseThrottle]:
        return [AnonRateThrottle()] if self.request.method in ("GET", "HEAD") else []

    @extend_schema(responses=ProgrammeRulesSerializer(many=True))
    def get(self, request: Request, programme_id: int) -> Response:
        programme = get_object_or_404(Programme, pk=programme_id, is_published=True)
        return Response(
            ProgrammeRulesSerializer(programme_rules_history(programme), many=True).data
        )

    @extend_schema(
        request=ProgrammeRulesPublishSerializer, responses={201: ProgrammeRulesSerializer}
    )
    @idempotent
    def post(self, request: Request, programme_id: int) -> Response:
        user: User = request.user  # type: ignore[assignment]
        programme = _programmes_of(user).filter(pk=programme_id).first()
        if programme is None:
            raise Http404
        body = ProgrammeRulesPublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        categories = [
            CategorySpec(
                name=c["name"].strip(),
                name_en=c["name_en"].strip(),
                min_credits=c["min_credits"],
                course_codes=tuple(c["course_codes"]),
            )
            for c in data.pop("categories")
        ]
        rules = programme_rules_publish(
            programme=programme, actor=user, categories=categories, **data
        )
        rules = programme_rules_history(programme).get(pk=rules.pk)
        return Response(ProgrammeRulesSerializer(rules).data, status=status.HTTP_201_CREATED)
