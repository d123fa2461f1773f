from django.contrib.auth import user_logged_in
from django.db.models import QuerySet, Sum
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .models import LearningAccount, LedgerEntry, Role, StaffAccess
from .permissions import HasRole
from .serializers import (
    ContactDetailsSerializer,
    LearningAccountSerializer,
    RegistrationSerializer,
    StaffAccessSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    UserSerializer,
)
from .services import (
    account_with_totals,
    api_token_create,
    contact_details_change,
    personal_account_register,
    staff_accesses_of,
)


class TokenCreateView(APIView):
    """Exchange a username (account number, email or phone) and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, expiry = api_token_create(user=user)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        body = TokenResponseSerializer({"token": token, "expiry": expiry}).data
        return Response(body, status=status.HTTP_200_OK)


class TokenDeleteView(APIView):
    """Revoke the token this request was made with."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class CurrentUserView(APIView):
    """The signed-in user: name, role, and the centre or institution they work for."""

    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


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
        account = personal_account_register(**serializer.validated_data)
        account_with_totals(account)
        return Response(LearningAccountSerializer(account).data, status=status.HTTP_201_CREATED)


class MyAccountView(APIView):
    """The caller's own learning account, with hours and credits from the ledger."""

    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=LearningAccountSerializer)
    def get(self, request: Request) -> Response:
        account = get_object_or_404(
            LearningAccount.objects.select_related("holder"), holder=request.user
        )
        account_with_totals(account)
        transferred = LedgerEntry.objects.filter(
            account=account, book=LedgerEntry.Book.TRANSFERRED
        ).aggregate(total=Sum("credits"))["total"]
        account.transferred_credits = transferred or 0  # type: ignore[attr-defined]
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
