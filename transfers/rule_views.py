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
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from accreditation.catalogue import (
    CONTENT_TYPES,
    EXPORT_FORMATS,
    UNCHANGED,
    RowsInvalid,
    beijing_today,
    catalogue_current,
)
from accreditation.catalogue.api_base import IMPORT_RESPONSES, PublicReadApi, import_response
from accreditation.models import CatalogueEntry
from accreditation.serializers import ExportQuerySerializer, SpreadsheetUploadSerializer
from common.downloads import (
    FileFormatNegotiation,
    SpreadsheetImportForm,
    file_download,
    import_message,
    row_errors_context,
    upload_read,
)
from common.forms import DateInput, form_errors_apply
from common.tables import RowError

from .models import ConversionRule, Course
from .rules import (
    conversion_rule_publish_from,
    conversion_rules_current,
    conversion_rules_export,
    conversion_rules_import,
    course_find,
)

RULES_PER_PAGE = 50


def _entry_names(rules: list[ConversionRule]) -> dict[int, str]:
    """The name of each rule's entry as the catalogue says it today (one query)."""
    versions = catalogue_current().filter(entry_id__in={r.entry_id for r in rules})
    return {v.entry_id: v.display_name for v in versions}


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


def _entries() -> QuerySet[CatalogueEntry]:
    return CatalogueEntry.objects.filter(versions__isnull=False).distinct().order_by("code")


class ConversionRulePublishForm(forms.Form):
    entry = EntryChoiceField(label=gettext_lazy("Catalogue entry"), queryset=_entries())
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
        entry.names = {v.entry_id: v.display_name for v in catalogue_current()}


# --- Pages ------------------------------------------------------------------------------------


class ConversionRulesManagePage(RoleRequiredMixin, View):
    """The management administrator's page: the rules in effect, import, export, publish."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest) -> HttpResponse:
        publish = ConversionRulePublishForm(initial={"effective_from": beijing_today()})
        return self.render(request, import_form=SpreadsheetImportForm(), publish_form=publish)

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.POST.get("action") == "publish":
            return self.publish(request)
        return self.import_file(request)

    def import_file(self, request: HttpRequest) -> HttpResponse:
        form = SpreadsheetImportForm(request.POST, request.FILES)
        row_errors: list[RowError] = []
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                result = conversion_rules_import(
                    data=upload_read(uploaded),
                    filename=uploaded.name or "",
                    actor=request.user,  # type: ignore[arg-type]
                )
            except RowsInvalid as exc:
                row_errors = exc.rows
                form.add_error("file", exc.message_dict["file"])
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, import_message(result))
                return redirect("conversion-rules-manage")
        publish = ConversionRulePublishForm(initial={"effective_from": beijing_today()})
        return self.render(request, import_form=form, publish_form=publish, row_errors=row_errors)

    def publish(self, request: HttpRequest) -> HttpResponse:
        form = ConversionRulePublishForm(request.POST)
        if form.is_valid():
            try:
                rule, _what = conversion_rule_publish_from(
                    fields=form.cleaned_data,
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "The rule %(code)s → %(course)s (version %(version)d) is in effect from "
                        "%(date)s."
                    )
                    % {
                        "code": rule.entry.code,
                        "course": rule.course.display_name,
                        "version": rule.version,
                        "date": rule.effective_from.isoformat(),
                    },
                )
                return redirect("conversion-rules-manage")
        return self.render(request, import_form=SpreadsheetImportForm(), publish_form=form)

    def render(
        self,
        request: HttpRequest,
        *,
        import_form: forms.Form,
        publish_form: forms.Form,
        row_errors: list[RowError] | None = None,
    ) -> HttpResponse:
        page = Paginator(conversion_rules_current(), RULES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        names = _entry_names(list(page.object_list))
        context = {
            "page": page,
            "rows": [(rule, names.get(rule.entry_id, "")) for rule in page.object_list],
            "query": "",
            "import_form": import_form,
            "publish_form": publish_form,
            **row_errors_context(row_errors or []),
        }
        return render(request, "transfers/rules_manage.html", context)


class ConversionRulesExportPage(RoleRequiredMixin, View):
    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest, fmt: str) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise Http404
        return file_download(conversion_rules_export(fmt=fmt), fmt=fmt, stem="conversion-rules")


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
    def get(self, request: Request) -> Response:
        query = ConversionRuleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rules = conversion_rules_current(on=query.validated_data.get("on"))
        if query.validated_data.get("catalogue_code"):
            rules = rules.filter(entry__code=query.validated_data["catalogue_code"].upper())
        if query.validated_data.get("programme_code"):
            rules = rules.filter(course__programme__code=query.validated_data["programme_code"])
        page = self.paginate_queryset(rules)
        items = list(page) if page is not None else list(rules)
        context = {**self.get_serializer_context(), "entry_names": _entry_names(items)}
        data = ConversionRuleSerializer(items, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        request=ConversionRulePublishSerializer,
        responses={201: ConversionRuleSerializer, 200: ConversionRuleSerializer},
    )
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
        code = data.pop("catalogue_code").strip().upper()
        entry = CatalogueEntry.objects.filter(code=code).first()
        if entry is None:
            raise ValidationError(
                {"catalogue_code": _("The catalogue has no entry with this code.")}
            )
        rule, what = conversion_rule_publish_from(
            fields={**data, "entry": entry, "course": course}, actor=user
        )
        context = {"entry_names": _entry_names([rule])}
        return Response(
            ConversionRuleSerializer(rule, context=context).data,
            status=status.HTTP_200_OK if what == UNCHANGED else status.HTTP_201_CREATED,
        )


class ConversionRulesImportApi(APIView):
    """Import conversion rules from a CSV or XLSX file (multipart field ``file``): every row
    is published, or nothing is and the answer lists every problem by row and column."""

    permission_classes = [HasRole.of(Role.MANAGEMENT_ADMIN)]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": SpreadsheetUploadSerializer}, responses=IMPORT_RESPONSES
    )
    def post(self, request: Request) -> Response:
        return import_response(conversion_rules_import, request)


class ConversionRulesExportApi(APIView):
    """The rules in effect today as a file that the import takes back unchanged."""

    permission_classes = [HasRole.of(Role.MANAGEMENT_ADMIN)]
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, "text/csv"): bytes, (200, CONTENT_TYPES["xlsx"]): bytes},
    )
    def get(self, request: Request) -> HttpResponseBase:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data["format"]
        return file_download(conversion_rules_export(fmt=fmt), fmt=fmt, stem="conversion-rules")
