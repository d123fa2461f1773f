"""Pages and API for closing the account, corrections of basic information and of decided
records, and visits to a centre for the paper file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.core.api import CentreCodeField
from accounts.core.models import Centre, Role, User
from accounts.ledger.models import LearningAccount
from accounts.ledger.services import learning_account_of
from accounts.rights.models import CentreVisit, ClosureRequest, CorrectionRequest
from accounts.rights.services import (
    closure_cancel,
    closure_open_work_of,
    closure_pending_of,
    closure_request,
    correctable_record_of,
    correctable_records_of,
    correction_at_centre,
    correction_decide,
    correction_request,
    corrections_of,
    corrections_pending,
    corrections_viewed_record,
    visit_book,
    visit_copy_record,
    visits_at,
    visits_of,
)
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from accounts.validators import validate_no_identity_number
from common.forms import DateInput, form_errors_apply
from common.idempotency import idempotent

CENTRE_STAFF = (Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN)


# --- Forms ----------------------------------------------------------------------------------


class ClosureForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"), widget=forms.PasswordInput, strip=False
    )


class CorrectionForm(forms.Form):
    field = forms.ChoiceField(
        label=gettext_lazy("What to correct"), choices=CorrectionRequest.Field.choices
    )
    new_value = forms.CharField(
        label=gettext_lazy("Correct value"),
        max_length=150,
        validators=[validate_no_identity_number],
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea,
        validators=[validate_no_identity_number],
    )


class RecordCorrectionForm(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("What to correct"))
    new_value = forms.CharField(
        label=gettext_lazy("Correct value"),
        max_length=150,
        help_text=gettext_lazy("Dates as YYYY-MM-DD; hours as a number, such as 32 or 7.5."),
        validators=[validate_no_identity_number],
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea,
        validators=[validate_no_identity_number],
    )

    def __init__(self, *args: Any, record: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(item["name"], capfirst(item["label"])) for item in record["fields"]]
        choices += [(name, _refused_label(name)) for name in record["refused"]]
        self.fields["field"].choices = choices  # type: ignore[attr-defined]


def _refused_label(name: str) -> str:
    return str(REFUSED_LABELS.get(name, name))


# How the refused choices read in the form; asking for one gets the kind's message.
REFUSED_LABELS = {"accredited_amounts": gettext_lazy("Hours or credits accredited")}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("accept", gettext_lazy("Accept")), ("reject", gettext_lazy("Reject"))],
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


class VisitForm(forms.Form):
    centre = forms.ModelChoiceField(
        label=gettext_lazy("Centre"), queryset=Centre.objects.filter(is_active=True)
    )
    visit_on = forms.DateField(label=gettext_lazy("Date"), widget=DateInput())
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=CentreVisit.Purpose.choices)


class CopyForm(forms.Form):
    pages = forms.CharField(
        label=gettext_lazy("Pages handed over"),
        max_length=200,
        help_text=gettext_lazy("For example: 1-4, 7"),
    )


# --- Pages ----------------------------------------------------------------------------------


@login_required
def closure_page(request: HttpRequest) -> HttpResponse:
    """Ask for the account to be closed (with the password), or see the pending request."""
    user: User = request.user  # type: ignore[assignment]
    account = learning_account_of(user=user)
    form = ClosureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            closure_request(user=user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(request, _("Your account will be closed at the end of the period."))
            return HttpResponseRedirect(reverse("rights-closure"))
    pending = closure_pending_of(account=account) if account else None
    # What the closure will withdraw, told before it is asked for and while it is pending.
    open_work = (
        closure_open_work_of(account=account)
        if account and account.status != LearningAccount.Status.CLOSED
        else []
    )
    return render(
        request,
        "accounts/rights_closure.html",
        {"form": form, "pending": pending, "account": account, "open_work": open_work},
    )


@login_required
@require_POST
def closure_cancel_page(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        closure_cancel(user=user)
    except ValidationError as exc:
        # ``messages`` holds errors keyed by a field and by none (``message_dict`` refuses those).
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, _("The closure of your account is cancelled."))
    return HttpResponseRedirect(reverse("rights-closure"))


def _correction_asked(request: HttpRequest, form: Any, **record: Any) -> bool:
    """Send the learner's correction request; a refusal goes onto the form's fields."""
    try:
        correction_request(user=request.user, **record, **form.cleaned_data)  # type: ignore[arg-type]
    except ValidationError as exc:
        form_errors_apply(form, exc)
        return False
    messages.success(request, _("Your request has been sent to a centre."))
    return True


@login_required
def corrections_page(request: HttpRequest) -> HttpResponse:
    """The learner's correction requests and the form to ask for one."""
    user: User = request.user  # type: ignore[assignment]
    form = CorrectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _correction_asked(request, form):
        return HttpResponseRedirect(reverse("rights-corrections"))
    return render(
        request,
        "accounts/rights_corrections.html",
        {
            "form": form,
            "requests": corrections_of(user=user),
            "records": correctable_records_of(user=user),
        },
    )


@login_required
def record_correction_page(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The learner asks for a correction of one of their decided records (404 for anyone
    else's), seeing the values recorded now."""
    user: User = request.user  # type: ignore[assignment]
    record = correctable_record_of(user=user, record_kind=kind, record_id=pk)
    form = RecordCorrectionForm(request.POST or None, record=record)
    asked = request.method == "POST" and form.is_valid()
    if asked and _correction_asked(request, form, record_kind=kind, record_id=pk):
        return HttpResponseRedirect(reverse("rights-corrections"))
    return render(
        request,
        "accounts/rights_record_correction.html",
        {"form": form, "record": record},
        status=400 if form.errors else 200,
    )


QUEUE_PAGE_SIZE = 20


def _queue_page(request: HttpRequest) -> dict[str, Any]:
    """A page of the requests waiting for the staff member's centre, each look recorded."""
    staff: User = request.user  # type: ignore[assignment]
    page = Paginator(corrections_pending(staff=staff), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    corrections_viewed_record(staff=staff, requests=list(page.object_list))
    return {"requests": page.object_list, "page": page}


class CorrectionQueueView(RoleRequiredMixin, View):
    """The correction requests waiting for the staff member's centre (the centre that decided
    the record, or the learner's own for basic information)."""

    allowed_roles = CENTRE_STAFF

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "accounts/rights_correction_queue.html",
            {**_queue_page(request), "blank": DecisionForm()},
        )


@method_decorator(require_POST, name="dispatch")
class CorrectionDecideView(RoleRequiredMixin, View):
    allowed_roles = CENTRE_STAFF

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        # Another centre's request is not found, whatever the form says.
        correction_at_centre(staff=request.user, request_id=pk)  # type: ignore[arg-type]
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                correction_decide(
                    request_id=pk,
                    reviewer=request.user,  # type: ignore[arg-type]
                    accept=form.cleaned_data["decision"] == "accept",
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The decision is recorded."))
                return HttpResponseRedirect(reverse("rights-correction-queue"))
        return render(
            request,
            "accounts/rights_correction_queue.html",
            {
                **_queue_page(request),
                "form": form,
                "blank": DecisionForm(),
                "failed": pk,
            },
            status=400,
        )


@login_required
def visits_page(request: HttpRequest) -> HttpResponse:
    """The learner books a visit to a centre and sees the visits booked."""
    user: User = request.user  # type: ignore[assignment]
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            visit_book(
                user=user,
                centre_id=form.cleaned_data["centre"].pk,
                visit_on=form.cleaned_data["visit_on"],
                purpose=form.cleaned_data["purpose"],
            )
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(request, _("Your visit is booked."))
            return HttpResponseRedirect(reverse("rights-visits"))
    return render(
        request, "accounts/rights_visits.html", {"form": form, "visits": visits_of(user=user)}
    )


class CentreVisitsView(RoleRequiredMixin, View):
    """Visits booked at the centre; staff record a certified copy handed over."""

    allowed_roles = CENTRE_STAFF

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, CopyForm(), None)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CopyForm(request.POST)
        raw = request.POST.get("visit", "")
        visit_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 18 else 0
        if form.is_valid():
            try:
                visit_copy_record(
                    staff=request.user,  # type: ignore[arg-type]
                    visit_id=visit_id,
                    pages=form.cleaned_data["pages"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The certified copy is recorded."))
                return HttpResponseRedirect(reverse("rights-centre-visits"))
        return self._page(request, form, visit_id, status=400)

    def _page(
        self, request: HttpRequest, form: forms.Form, failed: int | None, status: int = 200
    ) -> HttpResponse:
        visits = visits_at(staff=request.user)  # type: ignore[arg-type]
        return render(
            request,
            "accounts/rights_centre_visits.html",
            {"visits": visits, "form": form, "blank": CopyForm(), "failed": failed},
            status=status,
        )


# --- API ------------------------------------------------------------------------------------


class OpenWorkSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    link = serializers.CharField()


class ClosureSerializer(serializers.ModelSerializer[ClosureRequest]):
    withdraws = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "While the closure is pending: the applications and transfers still waiting for a "
            "decision, which are withdrawn when the account closes."
        )
    )

    class Meta:
        model = ClosureRequest
        fields = ["status", "requested_at", "due_at", "finished_at", "withdraws"]

    @extend_schema_field(OpenWorkSerializer(many=True))
    def get_withdraws(self, obj: ClosureRequest) -> Any:
        if obj.status != ClosureRequest.Status.PENDING:
            return []
        return OpenWorkSerializer(closure_open_work_of(account=obj.account), many=True).data


class ClosureAskSerializer(serializers.Serializer[Any]):
    password = serializers.CharField(trim_whitespace=False)


class CorrectionSerializer(serializers.ModelSerializer[CorrectionRequest]):
    field_display = serializers.CharField(source="get_field_display", read_only=True)

    class Meta:
        model = CorrectionRequest
        fields = [
            "id",
            "record_kind",
            "record_id",
            "record_label",
            "field",
            "field_display",
            "old_value",
            "new_value",
            "reason",
            "status",
            "requested_at",
            "decided_at",
            "decision_reason",
        ]
        read_only_fields = [
            "id",
            "record_kind",
            "record_id",
            "record_label",
            "old_value",
            "status",
            "requested_at",
            "decided_at",
            "decision_reason",
        ]


class CorrectionAskSerializer(serializers.Serializer[Any]):
    # Without a record: basic information. With one: a field of that decided record (its
    # fields are listed at /api/v1/accounts/me/correctable-records/).
    record_kind = serializers.CharField(max_length=30, required=False, default="", allow_blank=True)
    record_id = serializers.IntegerField(
        required=False, default=None, allow_null=True, min_value=1, max_value=2**62
    )
    # Any name: asking for an identity field gets the message to visit a centre.
    field = serializers.CharField(max_length=30)
    new_value = serializers.CharField(max_length=150, validators=[validate_no_identity_number])
    reason = serializers.CharField(max_length=500, validators=[validate_no_identity_number])


# DRF takes declared fields out of the class, so names like ``label`` and ``fields`` are free.
class CorrectableFieldSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    value = serializers.CharField()


class CorrectableRecordSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    fields = CorrectableFieldSerializer(many=True)  # type: ignore[assignment]
    refused = serializers.DictField(
        child=serializers.CharField(),
        help_text=gettext_lazy("Choices always refused, each with the reason and what to do."),
    )


class CorrectionDecisionSerializer(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    reason = serializers.CharField(max_length=500, allow_blank=True)


class MyClosureView(APIView):
    """The caller's account closure: ask (POST, with the password), see (GET), cancel
    (DELETE)."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(
        responses={
            200: ClosureSerializer,
            404: OpenApiResponse(description="No closure was asked for."),
        }
    )
    def get(self, request: Request) -> Response:
        account = learning_account_of(user=request.user)  # type: ignore[arg-type]
        latest = account.closure_requests.first() if account else None
        if latest is None:
            return Response({"detail": _("No closure was asked for.")}, status=404)
        return Response(ClosureSerializer(latest).data)

    @extend_schema(request=ClosureAskSerializer, responses={201: ClosureSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        data = ClosureAskSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        closure = closure_request(
            user=request.user,  # type: ignore[arg-type]
            password=data.validated_data["password"],
        )
        return Response(ClosureSerializer(closure).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            200: ClosureSerializer,
            400: OpenApiResponse(description="There is no pending closure to cancel."),
        }
    )
    def delete(self, request: Request) -> Response:
        closure = closure_cancel(user=request.user)  # type: ignore[arg-type]
        return Response(ClosureSerializer(closure).data)


class MyCorrectionsView(ListAPIView[CorrectionRequest]):
    """The caller's correction requests (GET) and a new one (POST)."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = CorrectionSerializer

    def get_queryset(self) -> Any:
        return corrections_of(user=self.request.user)  # type: ignore[arg-type]

    @extend_schema(request=CorrectionAskSerializer, responses={201: CorrectionSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        data = CorrectionAskSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        correction = correction_request(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(CorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)


class MyCorrectableRecordsView(APIView):
    """The caller's decided records that may be corrected, with each correctable field and
    its value now; ask for a correction at ``/api/v1/accounts/me/corrections/`` with
    ``record_kind``, ``record_id``, ``field``, ``new_value`` and ``reason``."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=CorrectableRecordSerializer(many=True))
    def get(self, request: Request) -> Response:
        records = correctable_records_of(user=request.user)  # type: ignore[arg-type]
        return Response(CorrectableRecordSerializer(records, many=True).data)


class CorrectionQueueApiView(ListAPIView[CorrectionRequest]):
    """Correction requests waiting for the caller's centre's decision (the centre that decided
    the record, or the learner's own for basic information); each one listed is recorded as
    seen by the caller."""

    permission_classes = [HasRole.of(*CENTRE_STAFF)]
    serializer_class = CorrectionSerializer

    def get_queryset(self) -> Any:
        return corrections_pending(staff=self.request.user)  # type: ignore[arg-type]

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        shown = list(page) if page is not None else list(queryset)
        corrections_viewed_record(staff=self.request.user, requests=shown)  # type: ignore[arg-type]
        return page


class CorrectionDecisionApiView(APIView):
    """A centre reviewer accepts or rejects a correction, with a reason."""

    permission_classes = [HasRole.of(*CENTRE_STAFF)]

    @extend_schema(request=CorrectionDecisionSerializer, responses=CorrectionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        # Another centre's request is 404, whatever the body says.
        correction_at_centre(staff=request.user, request_id=pk)  # type: ignore[arg-type]
        data = CorrectionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        correction = correction_decide(
            request_id=pk,
            reviewer=request.user,  # type: ignore[arg-type]
            accept=data.validated_data["decision"] == "accept",
            reason=data.validated_data["reason"],
        )
        return Response(CorrectionSerializer(correction).data)


class VisitSerializer(serializers.ModelSerializer[CentreVisit]):
    centre = CentreCodeField(
        queryset=Centre.objects.all(), help_text=gettext_lazy("The centre's code.")
    )

    class Meta:
        model = CentreVisit
        fields = [
            "id",
            "centre",
            "visit_on",
            "purpose",
            "status",
            "booked_at",
            "handed_over_at",
            "pages",
        ]
        read_only_fields = ["id", "status", "booked_at", "handed_over_at", "pages"]


class CopySerializer(serializers.Serializer[Any]):
    pages = serializers.CharField(max_length=200, allow_blank=True)


class MyVisitsView(ListAPIView[CentreVisit]):
    """The caller's visits to a centre (GET) and a new booking (POST)."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = VisitSerializer

    def get_queryset(self) -> Any:
        return visits_of(user=self.request.user)  # type: ignore[arg-type]

    @extend_schema(request=VisitSerializer, responses={201: VisitSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        data = VisitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visit = visit_book(
            user=request.user,  # type: ignore[arg-type]
            centre_id=data.validated_data["centre"].pk,
            visit_on=data.validated_data["visit_on"],
            purpose=data.validated_data["purpose"],
        )
        return Response(VisitSerializer(visit).data, status=status.HTTP_201_CREATED)


class CentreVisitsApiView(ListAPIView[CentreVisit]):
    """Visits booked at the caller's centre."""

    permission_classes = [HasRole.of(*CENTRE_STAFF)]
    serializer_class = VisitSerializer

    def get_queryset(self) -> Any:
        return visits_at(staff=self.request.user)  # type: ignore[arg-type]


class VisitCopyApiView(APIView):
    """Centre staff record the certified copy handed over at a visit."""

    permission_classes = [HasRole.of(*CENTRE_STAFF)]

    @extend_schema(request=CopySerializer, responses=VisitSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = CopySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visit = visit_copy_record(
            staff=request.user,  # type: ignore[arg-type]
            visit_id=pk,
            pages=data.validated_data["pages"],
        )
        return Response(VisitSerializer(visit).data)
