"""Pages and API of the conversion rules: which catalogue entry counts for which course.

Anyone may read the rules in effect (the catalogue shows them beside each entry); only the
management administrator publishes, imports and exports them.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Role, User
from accounts.signin.permissions import RoleRequiredMixin
from accreditation.catalogue import (
    beijing_today,
    catalogue_entries_published,
    catalogue_entry_find,
    catalogue_names,
)
from accreditation.catalogue.api_base import (
    PublicReadApi,
    SheetExportApi,
    SheetImportApi,
    list_response,
    publish_status,
)
from common.forms import DateInput
from common.idempotency import idempotent
from common.replicas import replica_reads
from common.table_pages import ImportPublishPage, export_download

from .models import ConversionRule, Course
from .rules import (
    conversion_rule_publish_from,
    conversion_rules_current,
    conversion_rules_export,
    conversion_rules_import,
    course_find,
)

RULES_PER_PAGE = 50


# --- Forms ------------------------------------------------------------------------------------


class EntryChoiceField(forms.ModelChoiceField):
    # The entry's name today, by entry id: the form fills it in with one query.
    names: dict[int, str] = {}

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {self.names.get(obj.pk, '')}".strip()


class CourseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        programme = obj.programme
        return (
            f"{programme.institution.name} · {programme.display_name} · {obj.code} "
            f"{obj.display_name} ({obj.credits})"
        )


class ConversionRulePublishForm(forms.Form):
    entry = EntryChoiceField(
        label=gettext_lazy("Catalogue entry"), queryset=catalogue_entries_published()
    )
    course = CourseChoiceField(
        label=gettext_lazy("Course"),
        queryset=Course.objects.select_related("programme__institution").order_by(
            "programme__institution__name", "programme__code", "code"
        ),
    )
    credits = forms.DecimalField(
        label=gettext_lazy("Credits"),
        max_digits=4,
        decimal_places=1,
        help_text=gettext_lazy("At most the course's own credits."),
    )
    effective_from = forms.DateField(label=gettext_lazy("Effective from"), widget=DateInput())
    approving_body = forms.CharField(label=gettext_lazy("Approved by"), max_length=200)
    rationale = forms.CharField(
        label=gettext_lazy("Rationale"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entry = cast(EntryChoiceField, self.fields["entry"])
        entry.names = catalogue_names()


# --- Pages ------------------------------------------------------------------------------------


class ConversionRulesManagePage(RoleRequiredMixin, ImportPublishPage):
    """The management administrator's page: the rules in effect, import, export, publish."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)
    template_name = "transfers/rules_manage.html"
    url_name = "conversion-rules-manage"
    importer = staticmethod(conversion_rules_import)
    publisher = staticmethod(conversion_rule_publish_from)
    publish_form_class = ConversionRulePublishForm

    def publish_initial(self, request: HttpRequest) -> dict[str, Any]:
        return {"effective_from": beijing_today()}

    def published(self, request: HttpRequest, published: Any) -> HttpResponse:
        rule: ConversionRule = published
        messages.success(
            request,
            _("The rule %(code)s → %(course)s (version %(version)d) is in effect from %(date)s.")
            % {
                "code": rule.entry.code,
                "course": rule.course.display_name,
                "version": rule.version,
                "date": rule.effective_from.isoformat(),
            },
        )
        return redirect("conversion-rules-manage")

    def page_context(self, request: HttpRequest) -> dict[str, Any]:
        page = Paginator(conversion_rules_current(), RULES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        names = catalogue_names(entry_ids={rule.entry_id for rule in page.object_list})
        return {
            "page": page,
            "rows": [(rule, names.get(rule.entry_id, "")) for rule in page.object_list],
            "query": "",
        }


class ConversionRulesExportPage(RoleRequiredMixin, View):
    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest, fmt: str) -> HttpResponse:
        return export_download(conversion_rules_export, fmt=fmt, stem="conversion-rules")


# --- API ------------------------------------------------------------------------------------


class ConversionRuleSerializer(serializers.ModelSerializer):
    catalogue_code = serializers.CharField(source="entry.code")
    catalogue_name = serializers.SerializerMethodField(
        help_text=gettext_lazy("The entry's name today, in the request's language.")
    )
    institution = serializers.CharField(source="course.programme.institution.name")
    institution_credit_code = serializers.CharField(
        source="course.programme.institution.credit_code"
    )
    programme_code = serializers.CharField(source="course.programme.code")
    programme = serializers.CharField(source="course.programme.display_name")
    course_code = serializers.CharField(source="course.code")
    course = serializers.CharField(source="course.display_name")
    course_credits = serializers.DecimalField(
        source="course.credits", max_digits=4, decimal_places=1
    )

    class Meta:
        model = ConversionRule
        fields = [
            "id", "version", "catalogue_code", "catalogue_name", "institution",
            "institution_credit_code", "programme_code", "programme", "course_code", "course",
            "course_credits", "credits", "effective_from", "effective_to", "approving_body",
            "rationale",
        ]  # fmt: skip
        read_only_fields = fields

    def get_catalogue_name(self, obj: ConversionRule) -> str:
        return str(self.context.get("entry_names", {}).get(obj.entry_id, ""))


class ConversionRuleQuerySerializer(serializers.Serializer):
    catalogue_code = serializers.CharField(required=False, allow_blank=True, max_length=30)
    programme_code = serializers.CharField(required=False, allow_blank=True, max_length=30)
    on = serializers.DateField(
        required=False,
        help_text=gettext_lazy("The rules as in effect on this date; today by default."),
    )


class ConversionRulePublishSerializer(serializers.Serializer):
    """A rule version to publish; the course is named like in the import file. A new version
    takes effect after the current one, which is closed the day before; publishing what is
    already in effect on that date changes nothing."""

    catalogue_code = serializers.CharField(max_length=30)
    institution_credit_code = serializers.CharField(
        max_length=18,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("The institution; or give its name as ``institution``."),
    )
    institution = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    programme_code = serializers.CharField(max_length=30)
    course_code = serializers.CharField(max_length=30)
    credits = serializers.DecimalField(max_digits=4, decimal_places=1)
    effective_from = serializers.DateField()
    approving_body = serializers.CharField(max_length=200)
    rationale = serializers.CharField()


class ConversionRulesApi(PublicReadApi, generics.GenericAPIView):
    """``GET``: the conversion rules in effect today (or ``on``); anyone may read them.
    ``POST``: the management administrator publishes a rule version (201 when a version was
    added, 200 when it was already in effect)."""

    serializer_class = ConversionRuleSerializer

    @extend_schema(
        parameters=[ConversionRuleQuerySerializer], responses=ConversionRuleSerializer(many=True)
    )
    @replica_reads
    def get(self, request: Request) -> Response:
        query = ConversionRuleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rules = conversion_rules_current(on=query.validated_data.get("on"))
        if query.validated_data.get("catalogue_code"):
            rules = rules.filter(entry__code=query.validated_data["catalogue_code"].upper())
        if query.validated_data.get("programme_code"):
            rules = rules.filter(course__programme__code=query.validated_data["programme_code"])

        def serialize(items: list[ConversionRule]) -> Any:
            names = catalogue_names(entry_ids={rule.entry_id for rule in items})
            context = {**self.get_serializer_context(), "entry_names": names}
            return ConversionRuleSerializer(items, many=True, context=context).data

        return list_response(self, rules, serialize)

    @extend_schema(
        request=ConversionRulePublishSerializer,
        responses={201: ConversionRuleSerializer, 200: ConversionRuleSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = ConversionRulePublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        user: User = request.user  # type: ignore[assignment]
        course = course_find(
            institution_credit_code=data.pop("institution_credit_code"),
            institution=data.pop("institution"),
            programme_code=data.pop("programme_code"),
            course_code=data.pop("course_code"),
        )
        entry = catalogue_entry_find(code=data.pop("catalogue_code"))
        if entry is None:
            raise ValidationError(
                {"catalogue_code": _("The catalogue has no entry with this code.")}
            )
        rule, what = conversion_rule_publish_from(
            fields={**data, "entry": entry, "course": course}, actor=user
        )
        context = {"entry_names": catalogue_names(entry_ids={rule.entry_id})}
        return Response(
            ConversionRuleSerializer(rule, context=context).data,
            status=publish_status(what),
        )


class ConversionRulesImportApi(SheetImportApi):
    """Import conversion rules from a CSV or XLSX file (multipart field ``file``): every row
    is published, or nothing is and the answer lists every problem by row and column."""

    importer = staticmethod(conversion_rules_import)


class ConversionRulesExportApi(SheetExportApi):
    """The rules in effect today as a file that the import takes back unchanged."""

    exporter = staticmethod(conversion_rules_export)
    stem = "conversion-rules"
