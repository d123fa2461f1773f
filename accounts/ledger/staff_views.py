"""What centre staff do with learning accounts: open one for a person at the centre and find a
learner. (Viewing a learner's file, which composes several apps, is in creditbank.)"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.core.models import Role, User
from accounts.identity.numbers import IdType
from accounts.ledger.forms import CentreRegistrationForm, LearnerSearchForm
from accounts.ledger.models import LearningAccount, RevealReason
from accounts.ledger.reveals import REVEAL_STAFF_ROLES, identity_reveal
from accounts.ledger.serializers import LearningAccountSerializer
from accounts.ledger.services import (
    FILE_STAFF_ROLES,
    account_with_totals,
    personal_account_find,
)
from accounts.signin.permissions import HasRole, user_has_role
from accounts.signin.registration import personal_account_register
from accounts.tasks import send_password_setup_email
from accounts.validators import PHONE_VALIDATOR
from common.forms import form_errors_apply
from common.idempotency import idempotent
from common.tasks import task_after_commit

COUNTER_ROLES = (Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN)


def open_at_centre(*, staff: User, data: dict[str, Any]) -> LearningAccount:
    """Open the account, recorded as checked in person at the staff member's centre, and email
    the learner a link to choose a password."""
    account = personal_account_register(
        name=data["name"],
        id_type=data["id_type"],
        id_number=data["id_number"],
        phone=data["phone"],
        email=data["email"],
        password=None,
        opened_by=staff,
        centre=staff.centre,
        document_note=data["document_note"],
    )
    holder_id = holder_id_of(account)
    # After the commit, by the worker, with retries: a mail server that is down neither fails
    # the counter's request nor loses the learner's link. A broker that is down does not fail
    # the committed request either (the learner can still reset the password by email).
    # The link is on PORTAL_URL, not on the host this request named.
    task_after_commit(send_password_setup_email, user_id=holder_id)
    return account


def holder_id_of(account: LearningAccount) -> int:
    """The holder of a personal account (always set: a database constraint says so)."""
    return int(account.holder_id)  # type: ignore[arg-type]


@sensitive_post_parameters("id_number")
def centre_account_open(request: HttpRequest) -> HttpResponse:
    if not user_has_role(request.user, *COUNTER_ROLES):
        return redirect_or_forbid(request)
    form = CentreRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = open_at_centre(
                staff=request.user,  # type: ignore[arg-type]
                data=form.cleaned_data,
            )
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Account %(number)s is open. The learner will receive an email to choose a "
                    "password."
                )
                % {"number": account.number},
            )
            return redirect("staff-learning-file", number=account.number)
    return render(request, "accounts/centre_account_open.html", {"form": form})


@sensitive_post_parameters("id_number")
def learner_search(request: HttpRequest) -> HttpResponse:
    if not user_has_role(request.user, *FILE_STAFF_ROLES):
        return redirect_or_forbid(request)
    # POST, not GET: an identity number must never travel in a URL, where proxies, server logs
    # and browser history would keep it.
    form = LearnerSearchForm(request.POST or None)
    result = None
    searched = False
    if request.method == "POST" and form.is_valid():
        try:
            result = personal_account_find(**form.cleaned_data)
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            searched = True
            form = LearnerSearchForm()  # the number typed is not echoed back into the page
    return render(
        request,
        "accounts/learner_search.html",
        {"form": form, "result": result, "searched": searched},
    )


def redirect_or_forbid(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth.views import redirect_to_login
    from django.core.exceptions import PermissionDenied

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied


# --- API ---------------------------------------------------------------------------------------


class CentreRegistrationSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    id_type = serializers.ChoiceField(choices=IdType.choices)
    id_number = serializers.CharField(max_length=40, write_only=True)
    phone = serializers.CharField(max_length=20, validators=[PHONE_VALIDATOR])
    email = serializers.EmailField(max_length=254)
    document_note = serializers.CharField(max_length=300)


class RevealSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=RevealReason.choices)
    reference = serializers.CharField(
        max_length=40,
        help_text=gettext_lazy(
            "The number of the application under review at your centre, of the learner's "
            "visit or correction request at your centre; for an account opened at your "
            "counter, its account number."
        ),
    )


class AccountSummarySerializer(serializers.ModelSerializer):
    """What a search shows before anyone states a reason: enough to recognise the person."""

    account_number = serializers.CharField(source="number", read_only=True)
    name = serializers.CharField(source="holder.name", read_only=True)

    class Meta:
        model = LearningAccount
        fields = ["account_number", "name", "id_number_masked"]
        read_only_fields = fields


class LookupSerializer(serializers.Serializer):
    account_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    id_type = serializers.ChoiceField(choices=IdType.choices, required=False)
    id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)


class CentreAccountOpenApi(APIView):
    """Open a personal account for a person whose document a centre reviewer checked."""

    permission_classes = [HasRole.of(*COUNTER_ROLES)]

    @extend_schema(request=CentreRegistrationSerializer, responses={201: LearningAccountSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = CentreRegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = open_at_centre(
            staff=request.user,  # type: ignore[arg-type]
            data=serializer.validated_data,
        )
        account_with_totals(account)
        return Response(LearningAccountSerializer(account).data, status=status.HTTP_201_CREATED)


class AccountLookupApi(APIView):
    """Find a personal account by number or identity document; answers only the masked form.
    A POST, so that an identity number never appears in a URL (and so in access logs)."""

    permission_classes = [HasRole.of(*FILE_STAFF_ROLES)]

    @extend_schema(
        request=LookupSerializer,
        responses={
            200: AccountSummarySerializer,
            404: OpenApiResponse(description="No learning account matches."),
        },
    )
    def post(self, request: Request) -> Response:
        query = LookupSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        account = personal_account_find(**query.validated_data)
        if account is None:
            return Response(
                {"detail": gettext_lazy("No learning account matches.")},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(AccountSummarySerializer(account).data)


@method_decorator(never_cache, name="dispatch")
class IdentityRevealApi(APIView):
    """The clear identity number, for a reason from the list and a reference to the centre's
    business with the learner (an application under review, a visit, a counter opening, a
    correction request), both recorded and shown to the learner. Past the daily number of
    reveals the centre's administrator is alerted and further reveals are refused (400).
    Centre staff only: the management admin, who has no centre, is refused (403)."""

    permission_classes = [HasRole.of(*REVEAL_STAFF_ROLES)]

    @extend_schema(request=RevealSerializer, responses={200: dict})
    def post(self, request: Request, account_number: str) -> Response:
        body = RevealSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = get_object_or_404(LearningAccount, number=account_number, kind="personal")
        number_in_clear = identity_reveal(
            staff=request.user,  # type: ignore[arg-type]
            account=account,
            reason=body.validated_data["reason"],
            reference=body.validated_data["reference"],
        )
        return Response({"account_number": account.number, "id_number": number_in_clear})
