"""Collective accounts: an institution applies, a centre administrator decides, the
institution's administrator imports members and follows their progress.

Pages and API views only parse the input, call one service of
``accounts.collective.services`` and shape the answer. Who may see an institution is decided
by the scoping functions there: a centre administrator sees the applications of their own
centre, an institution administrator their own institution; anything else is a 404, so that
ids of other institutions reveal nothing.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from accounts.collective.imports import TEMPLATE_HEADINGS, MemberRowsInvalid
from accounts.collective.models import CollectiveMembership, MemberImport
from accounts.collective.permissions import InstitutionAdminPage
from accounts.collective.services import (
    COLLECTIVE_KINDS,
    MemberShown,
    applications_for,
    collective_account_apply,
    collective_account_decide,
    collective_centres,
    collective_invitation_accept,
    collective_invitation_decline,
    collective_members,
    collective_members_export,
    collective_members_import,
    collective_memberships_of,
    collective_of,
    membership_shown,
)
from accounts.core.api import CentreCodeField
from accounts.core.models import Institution, Role, User
from accounts.ledger.models import LearningAccount
from accounts.ledger.services import learning_account_required
from accounts.serviceaccounts.models import Scope
from accounts.serviceaccounts.permissions import HasScope
from accounts.signin.permissions import HasRole, RoleRequiredMixin, user_has_role
from accounts.validators import PHONE_VALIDATOR, validate_unified_social_credit_code
from common.downloads import (
    CONTENT_TYPES,
    EXPORT_FORMATS,
    file_download,
    row_errors_context,
    upload_read,
)
from common.forms import form_errors_apply
from common.idempotency import idempotent
from common.tables import RowError, table_write

KIND_CHOICES = [(kind.value, kind.label) for kind in COLLECTIVE_KINDS]
STATUS_CHOICES = LearningAccount.Status.choices
MEMBERS_PER_PAGE = 50


def _export_stem(collective: LearningAccount) -> str:
    return f"members-{collective.number}"


# --- Forms ----------------------------------------------------------------------------------


class CollectiveApplicationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the institution"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind of institution"), choices=KIND_CHOICES)
    credit_code = forms.CharField(
        label=gettext_lazy("Unified social credit code"),
        max_length=18,
        validators=[validate_unified_social_credit_code],
        help_text=gettext_lazy("The 18 characters on the business licence or registration."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    centre = forms.ModelChoiceField(
        label=gettext_lazy("Accreditation branch centre"),
        queryset=collective_centres(),
        help_text=gettext_lazy("The centre that will review the application and serve you."),
    )
    admin_name = forms.CharField(
        label=gettext_lazy("Administrator's name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    admin_email = forms.EmailField(
        label=gettext_lazy("Administrator's email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    admin_phone = forms.CharField(
        label=gettext_lazy("Administrator's mobile phone"),
        max_length=20,
        validators=[PHONE_VALIDATOR],
        help_text=gettext_lazy("The administrator signs in with this email or phone."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "At least 10 characters, not only digits, not a common password. After signing in "
            "you also set up an authenticator app."
        ),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("approve", gettext_lazy("Approve: open the collective account")),
            ("reject", gettext_lazy("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required for a rejection; the institution will see it."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == "reject" and not cleaned.get("reason", "").strip():
            self.add_error(
                "reason", _("Give the reason for the rejection; the institution will see it.")
            )
        return cleaned


class MemberImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Member list (CSV or XLSX)"),
        allow_empty_file=True,  # the service explains an empty file like any other refusal
        help_text=gettext_lazy(
            "Columns 姓名, 证件类型, 证件号码, 手机号, 电子邮箱 (or name, id_type, id_number, "
            "phone, email) in the first row. Up to 10 MB and 100,000 rows."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet"
            }
        ),
    )


# --- Pages ----------------------------------------------------------------------------------


@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class ApplyPage(View):
    """An institution applies for a collective account; no sign-in needed. The administrator
    is signed in afterwards and, being staff, is first asked to set up a second factor."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            return self.signed_in_away(request)
        return self.render(request, CollectiveApplicationForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            return self.signed_in_away(request)
        form = CollectiveApplicationForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                account = collective_account_apply(
                    name=data["name"],
                    kind=data["kind"],
                    credit_code=data["credit_code"],
                    centre=data["centre"],
                    admin_name=data["admin_name"],
                    admin_email=data["admin_email"],
                    admin_phone=data["admin_phone"],
                    admin_password=data["password1"],
                )
            except ValidationError as exc:
                # "password1" is the form field's name, not a password.
                form_errors_apply(form, exc, {"admin_password": "password1"})  # nosec B105
            else:
                login(request, account.opened_by, backend="accounts.backends.IdentifierBackend")
                messages.success(
                    request,
                    _(
                        "The application of %(institution)s is submitted; its collective "
                        "account %(number)s awaits the centre's approval. From now on, sign in "
                        "with your email or mobile phone."
                    )
                    % {"institution": account.institution, "number": account.number},
                )
                return redirect("collective-home")
        return self.render(request, form)

    def render(self, request: HttpRequest, form: forms.Form) -> HttpResponse:
        return render(request, "accounts/collective/apply.html", {"form": form})

    @staticmethod
    def signed_in_away(request: HttpRequest) -> HttpResponse:
        """A signed-in user cannot apply (the application creates its administrator): say so,
        and send an institution's administrator to their institution's page."""
        user = request.user
        institution_id = getattr(user, "institution_id", None)
        administers = (
            user_has_role(user, Role.INSTITUTION_ADMIN)
            and institution_id is not None
            and collective_of(user=user, institution_id=institution_id) is not None  # type: ignore[arg-type]
        )
        if administers:
            messages.info(
                request,
                _(
                    "%(institution)s has applied for its collective account already; "
                    "here is its page."
                )
                % {"institution": user.institution},  # type: ignore[union-attr]
            )
            return redirect("collective-members", pk=institution_id)
        messages.info(
            request,
            _(
                "You are signed in. An institution applies for a collective account with an "
                "administrator of its own: sign out first, then apply."
            ),
        )
        return redirect("home")


class ApplicationsPage(RoleRequiredMixin, View):
    """A centre administrator's list of the applications to their centre, pending first."""

    allowed_roles = (Role.CENTRE_ADMIN,)

    def get(self, request: HttpRequest) -> HttpResponse:
        wanted = request.GET.get("status", LearningAccount.Status.PENDING)
        institutions = applications_for(user=request.user)  # type: ignore[arg-type]
        if wanted in LearningAccount.Status.values:
            institutions = institutions.filter(collective_account__status=wanted)
        else:
            wanted = "all"
        page = Paginator(institutions, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            "page": page,
            "wanted": wanted,
            "statuses": [*STATUS_CHOICES[:3], ("all", _("All"))],
        }
        return render(request, "accounts/collective/applications.html", context)


class ApplicationPage(RoleRequiredMixin, View):
    """One application, and the form to approve or reject it."""

    allowed_roles = (Role.CENTRE_ADMIN,)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(request, self.institution(request, pk), DecisionForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        institution = self.institution(request, pk)
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                collective_account_decide(
                    institution=institution,
                    decided_by=request.user,  # type: ignore[arg-type]
                    approve=form.cleaned_data["decision"] == "approve",
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                approved = form.cleaned_data["decision"] == "approve"
                messages.success(
                    request,
                    (
                        _("The collective account of %(institution)s is open.")
                        if approved
                        else _("The application of %(institution)s is rejected.")
                    )
                    % {"institution": institution.name},
                )
                return redirect("collective-applications")
        return self.render(request, institution, form)

    def institution(self, request: HttpRequest, pk: int) -> Institution:
        return get_object_or_404(applications_for(user=request.user), pk=pk)  # type: ignore[arg-type]

    def render(
        self, request: HttpRequest, institution: Institution, form: forms.Form
    ) -> HttpResponse:
        context = {
            "institution": institution,
            "account": institution.collective_account,
            "form": form,
        }
        return render(request, "accounts/collective/application.html", context)


class CollectiveHomePage(InstitutionAdminPage):
    """The institution administrator's entry point: their institution's member list."""

    def get(self, request: HttpRequest) -> HttpResponse:
        institution_id = request.user.institution_id  # type: ignore[union-attr]
        if (
            institution_id is None
            or collective_of(
                user=request.user,  # type: ignore[arg-type]
                institution_id=institution_id,
            )
            is None
        ):
            raise Http404
        return redirect("collective-members", pk=institution_id)


class MembersPage(InstitutionAdminPage):
    """The members of the collective account with their hours and credits."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        collective = self.collective(request, pk)
        page = Paginator(collective_members(collective=collective), MEMBERS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context = {
            **self.collective_context(collective),
            "page": page,
            # Only what the institution may see of each row: people invited are not members.
            "rows": [membership_shown(m) for m in page.object_list],
            "imports": collective.member_imports.all()[:10],
        }
        return render(request, "accounts/collective/members.html", context)


class MemberImportPage(InstitutionAdminPage):
    """Upload a member list; every problem is shown in a table, and nothing is imported
    until the file has none."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(request, self.collective(request, pk), MemberImportForm(), [])

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        collective = self.collective(request, pk)
        form = MemberImportForm(request.POST, request.FILES)
        row_errors: list[RowError] = []
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                result = collective_members_import(
                    collective=collective,
                    uploaded_by=request.user,  # type: ignore[arg-type]
                    filename=uploaded.name or "",
                    data=upload_read(uploaded),
                )
            except MemberRowsInvalid as exc:
                row_errors = exc.rows
                form.add_error("file", exc.message_dict["file"])
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "%(rows)d people imported: %(opened)d learning accounts opened; "
                        "%(linked)d people who already have a learning account are invited and "
                        "join once they accept. New learners set their password with “Forgot "
                        "your password?” and their email address."
                    )
                    % {
                        "rows": result.accounts_opened + result.accounts_linked,
                        "opened": result.accounts_opened,
                        "linked": result.accounts_linked,
                    },
                )
                return redirect("collective-members", pk=pk)
        return self.render(request, collective, form, row_errors)

    def render(
        self,
        request: HttpRequest,
        collective: LearningAccount,
        form: forms.Form,
        row_errors: list[RowError],
    ) -> HttpResponse:
        context = {
            **self.collective_context(collective),
            "form": form,
            **row_errors_context(row_errors),
        }
        return render(request, "accounts/collective/import.html", context)


def _learner_account(request: HttpRequest) -> LearningAccount:
    # Staff signed in here get 403, a learner without an account 404.
    if not user_has_role(request.user, Role.LEARNER):
        raise PermissionDenied
    return learning_account_required(user=request.user)  # type: ignore[arg-type]


def _answer_invitation(request: HttpRequest, pk: int, accept: bool) -> HttpResponse:
    """The learner answers an institution's invitation on their file page."""
    account = _learner_account(request)
    membership = get_object_or_404(collective_memberships_of(account=account), pk=pk)
    institution = membership.collective.institution
    answer = collective_invitation_accept if accept else collective_invitation_decline
    try:
        answer(membership=membership, actor=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        done = (
            _("You joined the member list of %(institution)s.")
            if accept
            else _("You declined the invitation of %(institution)s; it does not see your account.")
        )
        messages.success(request, done % {"institution": institution.name if institution else ""})
    return redirect(reverse("learning-file") + "#collective-invitations")


@login_required
@require_POST
def invitation_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Accepted, the institution sees the learner's account, hours and credits."""
    return _answer_invitation(request, pk, accept=True)


@login_required
@require_POST
def invitation_decline_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Declined, the institution sees "declined" and nothing of the account."""
    return _answer_invitation(request, pk, accept=False)


class MemberExportPage(InstitutionAdminPage):
    def get(self, request: HttpRequest, pk: int, file_format: str) -> HttpResponse:
        collective = self.collective(request, pk)
        if file_format not in EXPORT_FORMATS:
            raise Http404
        data = collective_members_export(collective=collective, file_format=file_format)
        return file_download(data, fmt=file_format, stem=_export_stem(collective))


class ImportTemplatePage(RoleRequiredMixin, View):
    """An empty member list with the heading row, to fill in."""

    allowed_roles = (Role.INSTITUTION_ADMIN,)

    def get(self, request: HttpRequest, file_format: str) -> HttpResponse:
        if file_format not in EXPORT_FORMATS:
            raise Http404
        data = table_write([], headings=TEMPLATE_HEADINGS, fmt=file_format, title=_("Members"))
        # The template is the same every day: its name carries no date, unlike an export's.
        return file_download(data, fmt=file_format, stem="member-list", dated=False)


# --- API ------------------------------------------------------------------------------------


class CollectiveApplicationSerializer(serializers.Serializer):
    name = serializers.CharField(label=gettext_lazy("Name of the institution"), max_length=200)
    kind = serializers.ChoiceField(label=gettext_lazy("Kind of institution"), choices=KIND_CHOICES)
    credit_code = serializers.CharField(
        label=gettext_lazy("Unified social credit code"),
        max_length=18,
        validators=[validate_unified_social_credit_code],
    )
    centre = CentreCodeField(
        label=gettext_lazy("Accreditation branch centre"),
        queryset=collective_centres(),
        help_text=gettext_lazy("The code of an active accreditation branch centre."),
    )
    admin_name = serializers.CharField(label=gettext_lazy("Administrator's name"), max_length=150)
    admin_email = serializers.EmailField(
        label=gettext_lazy("Administrator's email"), max_length=254
    )
    admin_phone = serializers.CharField(
        label=gettext_lazy("Administrator's mobile phone"),
        max_length=20,
        validators=[PHONE_VALIDATOR],
    )
    admin_password = serializers.CharField(
        label=gettext_lazy("Password"),
        write_only=True,
        trim_whitespace=False,
        max_length=128,
        style={"input_type": "password"},
    )


class AdministratorSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["name", "email", "phone"]
        read_only_fields = fields


class InstitutionApplicationSerializer(serializers.ModelSerializer):
    """An institution with its collective account: the application and its decision."""

    centre: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    centre_name = serializers.CharField(source="centre.name", read_only=True, default="")
    account_number = serializers.CharField(source="collective_account.number", read_only=True)
    # A plain string in the schema: an enum here would collide with LearningAccount's status
    # enum in drf-spectacular's naming (fixable with ENUM_NAME_OVERRIDES in settings).
    status = serializers.CharField(
        source="collective_account.status",
        read_only=True,
        help_text=gettext_lazy("pending, active, rejected or closed."),
    )
    applied_at = serializers.DateTimeField(source="collective_account.opened_at", read_only=True)
    administrator = AdministratorSerializer(source="collective_account.opened_by", read_only=True)
    decided_at = serializers.DateTimeField(
        source="collective_account.decided_at", read_only=True, allow_null=True
    )
    decision_note = serializers.CharField(source="collective_account.decision_note", read_only=True)

    class Meta:
        model = Institution
        fields = [
            "id",
            "name",
            "kind",
            "credit_code",
            "centre",
            "centre_name",
            "is_active",
            "account_number",
            "status",
            "applied_at",
            "administrator",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class StatusQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=STATUS_CHOICES,
        required=False,
        help_text=gettext_lazy("Only applications whose collective account has this status."),
    )


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("Required for a rejection; the institution sees it."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["decision"] == "reject" and not attrs.get("reason", "").strip():
            raise serializers.ValidationError(
                {"reason": _("Give the reason for the rejection; the institution will see it.")}
            )
        return attrs


class MemberSerializer(serializers.Serializer):
    """A row of the member list as the institution sees it: the identity number only masked;
    a person invited (or who declined) shows the status, the name the institution wrote and
    the masked number only, every other field null."""

    status = serializers.ChoiceField(
        choices=CollectiveMembership.Status.choices,
        read_only=True,
        help_text=gettext_lazy(
            "active: a member; invited: a person with a learning account who has not accepted "
            "yet; declined: a person who declined."
        ),
    )
    account_number = serializers.CharField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)
    id_type = serializers.CharField(read_only=True)
    id_number_masked = serializers.CharField(read_only=True)
    joined_at = serializers.DateTimeField(read_only=True, allow_null=True)
    hours = serializers.DecimalField(
        max_digits=10, decimal_places=1, read_only=True, allow_null=True
    )
    credits = serializers.DecimalField(
        max_digits=8, decimal_places=1, read_only=True, allow_null=True
    )

    def to_representation(self, instance: Any) -> Any:
        shown = instance if isinstance(instance, MemberShown) else membership_shown(instance)
        return super().to_representation(shown)


class MemberImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=gettext_lazy(
            "CSV (UTF-8 or GB18030) or XLSX; heading row with name, id_type, id_number, phone, "
            "email (or 姓名, 证件类型, 证件号码, 手机号, 电子邮箱). Up to 10 MB and 100,000 rows."
        ),
    )


class MemberImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = MemberImport
        fields = ["id", "filename", "rows", "accounts_opened", "accounts_linked", "created_at"]
        read_only_fields = fields


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=gettext_lazy("The row number in the spreadsheet."))
    column = serializers.CharField(
        help_text=gettext_lazy("name, id_type, id_number, phone or email.")
    )
    heading = serializers.CharField(help_text=gettext_lazy("The column's heading in the file."))
    message = serializers.CharField()


class MemberImportErrorsSerializer(serializers.Serializer):
    # A file refused as a whole (not a spreadsheet, too large) is answered {"file": [message]}
    # instead of row problems: the schema says either shape may come.
    detail = serializers.CharField(required=False)
    rows = RowErrorSerializer(many=True, required=False)
    file = serializers.ListField(child=serializers.CharField(), required=False)


class InstitutionsApi(ListAPIView):
    """``POST``: an institution applies for a collective account (no sign-in needed).
    ``GET``: a centre administrator's list of the applications to their centre."""

    serializer_class = InstitutionApplicationSerializer
    throttle_scope = "register"

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "POST":
            return [AllowAny()]
        return [HasRole.of(Role.CENTRE_ADMIN)()]

    def get_throttles(self) -> list[BaseThrottle]:
        # Applications create accounts, like online registration, and share its limit.
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    def get_queryset(self) -> Any:
        query = StatusQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        institutions = applications_for(user=self.request.user)  # type: ignore[arg-type]
        if query.validated_data.get("status"):
            institutions = institutions.filter(
                collective_account__status=query.validated_data["status"]
            )
        return institutions

    @extend_schema(parameters=[StatusQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=CollectiveApplicationSerializer,
        responses={201: InstitutionApplicationSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = CollectiveApplicationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = collective_account_apply(**serializer.validated_data)
        return Response(
            InstitutionApplicationSerializer(account.institution).data,
            status=status.HTTP_201_CREATED,
        )


class InstitutionApi(APIView):
    """One institution and its collective account: for the administrator of its centre, and
    for its own administrator."""

    permission_classes = [HasRole.of(Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN) | HasScope]
    service_scopes: ClassVar[dict[str, str]] = {"GET": Scope.READ}

    @extend_schema(responses=InstitutionApplicationSerializer)
    def get(self, request: Request, pk: int) -> Response:
        user: User = request.user  # type: ignore[assignment]
        if user.role == Role.CENTRE_ADMIN:
            institution = get_object_or_404(applications_for(user=user), pk=pk)
        else:
            collective = collective_of(user=user, institution_id=pk)
            if collective is None:
                raise Http404
            institution = collective.institution  # type: ignore[assignment]
        return Response(InstitutionApplicationSerializer(institution).data)


class DecisionApi(APIView):
    """A centre administrator approves or rejects an application to their centre."""

    permission_classes = [HasRole.of(Role.CENTRE_ADMIN)]

    @extend_schema(request=DecisionSerializer, responses=InstitutionApplicationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        institution = get_object_or_404(applications_for(user=request.user), pk=pk)  # type: ignore[arg-type]
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        collective_account_decide(
            institution=institution,
            decided_by=request.user,  # type: ignore[arg-type]
            approve=body.validated_data["decision"] == "approve",
            reason=body.validated_data["reason"],
        )
        institution = applications_for(user=request.user).get(pk=pk)  # type: ignore[arg-type]
        return Response(InstitutionApplicationSerializer(institution).data)


class InstitutionAdminApi(APIView):
    # An institution's system may call too, with the scope of each view (HasScope).
    permission_classes = [HasRole.of(Role.INSTITUTION_ADMIN) | HasScope]
    service_scopes: ClassVar[dict[str, str]] = {}

    def collective(self, request: Request, pk: int) -> LearningAccount:
        collective = collective_of(user=request.user, institution_id=pk)  # type: ignore[arg-type]
        if collective is None:
            raise Http404
        return collective


class MembersApi(InstitutionAdminApi, ListAPIView):
    """The members of the institution's collective account, with hours and credits; only its
    own administrator sees them."""

    serializer_class = MemberSerializer
    service_scopes: ClassVar[dict[str, str]] = {"GET": Scope.READ}

    def get_queryset(self) -> Any:
        return collective_members(collective=self.collective(self.request, self.kwargs["pk"]))


class MemberImportApi(InstitutionAdminApi):
    """Import members from a CSV or XLSX file (multipart field ``file``). Either every row is
    imported, or nothing is and the answer lists every problem by row and column."""

    parser_classes = [MultiPartParser, FormParser]
    service_scopes: ClassVar[dict[str, str]] = {"POST": Scope.MEMBERS_IMPORT}

    @extend_schema(
        request={"multipart/form-data": MemberImportUploadSerializer},
        responses={
            201: MemberImportSerializer,
            400: OpenApiResponse(
                MemberImportErrorsSerializer,
                description=(
                    'Row problems as ``rows``; a file refused as a whole as ``{"file": '
                    "[message]}``."
                ),
            ),
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        collective = self.collective(request, pk)
        body = MemberImportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        uploaded = body.validated_data["file"]
        try:
            result = collective_members_import(
                collective=collective,
                uploaded_by=request.user,  # type: ignore[arg-type]
                filename=uploaded.name or "",
                data=upload_read(uploaded),
            )
        except MemberRowsInvalid as exc:
            errors = MemberImportErrorsSerializer(
                {"detail": exc.message_dict["file"][0], "rows": exc.rows}
            )
            return Response(errors.data, status=status.HTTP_400_BAD_REQUEST)
        return Response(MemberImportSerializer(result).data, status=status.HTTP_201_CREATED)


class InvitationSerializer(serializers.ModelSerializer):
    """An institution's place for the learner on its member list, as the learner sees it."""

    institution = serializers.CharField(source="collective.institution.name", read_only=True)
    invited_at = serializers.DateTimeField(
        source="member_import.created_at", read_only=True, allow_null=True
    )
    joined_at = serializers.SerializerMethodField()

    class Meta:
        model = CollectiveMembership
        fields = ["id", "institution", "status", "invited_at", "joined_at"]
        read_only_fields = fields

    def get_joined_at(self, membership: CollectiveMembership) -> datetime.datetime | None:
        return membership.joined_at if membership.is_member else None


class LearnerApi(APIView):
    permission_classes = [HasRole.of(Role.LEARNER)]

    def membership(self, request: Request, pk: int) -> CollectiveMembership:
        account = learning_account_required(user=request.user)  # type: ignore[arg-type]
        return get_object_or_404(collective_memberships_of(account=account), pk=pk)


class InvitationsApi(LearnerApi, ListAPIView):
    """The learner's places on institutions' member lists: invitations to answer (``invited``),
    and those accepted (``active``) or declined."""

    serializer_class = InvitationSerializer

    def get_queryset(self) -> Any:
        account = learning_account_required(user=self.request.user)  # type: ignore[arg-type]
        return collective_memberships_of(account=account)


class InvitationAcceptApi(LearnerApi):
    """The learner accepts an institution's invitation: it then sees their account number,
    name, hours and credits. An invitation already answered is refused (400, ``status``)."""

    @extend_schema(request=None, responses=InvitationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        membership = collective_invitation_accept(
            membership=self.membership(request, pk),
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(InvitationSerializer(membership).data)


class InvitationDeclineApi(LearnerApi):
    """The learner declines an institution's invitation: it sees "declined" and nothing of
    the account. An invitation already answered is refused (400, ``status``)."""

    @extend_schema(request=None, responses=InvitationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        membership = collective_invitation_decline(
            membership=self.membership(request, pk),
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(InvitationSerializer(membership).data)


class MemberExportApi(InstitutionAdminApi):
    """The member list as a file: ``export.csv`` or ``export.xlsx``."""

    service_scopes: ClassVar[dict[str, str]] = {"GET": Scope.READ}

    @extend_schema(
        parameters=[OpenApiParameter("file_format", str, "path", enum=list(EXPORT_FORMATS))],
        responses={(200, "text/csv"): bytes, (200, CONTENT_TYPES["xlsx"]): bytes},
    )
    def get(self, request: Request, pk: int, file_format: str) -> HttpResponseBase:
        collective = self.collective(request, pk)
        if file_format not in EXPORT_FORMATS:
            raise Http404
        data = collective_members_export(collective=collective, file_format=file_format)
        return file_download(data, fmt=file_format, stem=_export_stem(collective))


# --- URLs -----------------------------------------------------------------------------------

# Pages (mounted at the site root) and API views (mounted under /api/v1/).
