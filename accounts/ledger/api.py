from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.core.models import Role
from accounts.ledger.models import LearningAccount, StaffAccess
from accounts.ledger.serializers import (
    LearningAccountSerializer,
    RegistrationSerializer,
    StaffAccessSerializer,
)
from accounts.ledger.services import (
    account_with_totals,
    account_with_totals_of,
    staff_accesses_of,
)
from accounts.signin.permissions import HasRole
from accounts.signin.registration import personal_account_register
from accounts.signin.serializers import (
    ContactDetailsSerializer,
)
from accounts.signin.services import contact_details_change
from accounts.signin.sms_codes import personal_account_register_by_phone


class AccountRegisterView(APIView):
    """Register a personal learning account online; no sign-in needed."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=RegistrationSerializer, responses={201: LearningAccountSerializer})
    def post(self, request: Request) -> Response:
        serializer = RegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        code = data.pop("phone_code", None)
        if code is None:
            account = personal_account_register(**data)
        else:
            try:
                account = personal_account_register_by_phone(code=code, **data)
            except ValidationError as exc:
                errors = exc.message_dict
                raise ValidationError(
                    {"phone_code" if name == "code" else name: m for name, m in errors.items()}
                ) from exc
        account_with_totals(account)
        return Response(LearningAccountSerializer(account).data, status=status.HTTP_201_CREATED)


class MyAccountView(APIView):
    """The caller's own learning account, with hours and credits from the ledger."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    # PATCH needs the email, the phone and the password (the schema says so: creditbank/schema.py).
    patch_requires_all = True

    @extend_schema(responses=LearningAccountSerializer)
    def get(self, request: Request) -> Response:
        account = account_with_totals_of(user=request.user)  # type: ignore[arg-type]
        if account is None:
            raise Http404
        return Response(LearningAccountSerializer(account).data)

    @extend_schema(request=ContactDetailsSerializer, responses=LearningAccountSerializer)
    def patch(self, request: Request) -> Response:
        """Change the email and phone used to sign in, confirmed with the password."""
        body = ContactDetailsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact_details_change(user=request.user, **body.validated_data)  # type: ignore[arg-type]
        return self.get(request)


class MyStaffAccessesView(ListAPIView):
    """Every time a member of staff looked at the caller's file or revealed their identity
    number, with the reason they gave."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = StaffAccessSerializer

    def get_queryset(self) -> QuerySet[StaffAccess]:
        account = get_object_or_404(LearningAccount, holder=self.request.user)
        return staff_accesses_of(account=account)
