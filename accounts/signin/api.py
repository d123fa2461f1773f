from django.conf import settings
from django.contrib.auth import user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.signin.authentication import TokenAuthentication
from accounts.signin.serializers import (
    DetailSerializer,
    SmsCodeRequestSerializer,
    SmsPasswordResetSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    UserSerializer,
)
from accounts.signin.services import api_token_create
from accounts.signin.sms_codes import (
    SmsAddressThrottle,
    password_reset_by_sms,
    sms_code_queue,
    sms_number_allowed,
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


class SmsCodeRequestView(APIView):
    """Send a one-time code by SMS, for a registration or a password reset. The answer is the
    same whether or not an account signs in with the number (a reset code goes only to one
    that does). Throttled per client address and per number."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SmsAddressThrottle]

    @extend_schema(request=SmsCodeRequestSerializer, responses={202: DetailSerializer})
    def post(self, request: Request) -> Response:
        body = SmsCodeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        phone = body.validated_data["phone"]
        if not sms_number_allowed(request=request, phone=phone):
            raise Throttled()
        sms_code_queue(
            phone=phone,
            purpose=body.validated_data["purpose"],
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        detail = _(
            "If the number can receive it, a code is on its way. It works once, for %(minutes)d "
            "minutes."
        ) % {"minutes": settings.SMS_CODE_MINUTES}
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class SmsPasswordResetView(APIView):
    """Choose a new password with the code sent by SMS (purpose password_reset). A wrong code
    and a number without an account get the same 400."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SmsAddressThrottle]

    @extend_schema(request=SmsPasswordResetSerializer, responses={200: DetailSerializer})
    def post(self, request: Request) -> Response:
        body = SmsPasswordResetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            password_reset_by_sms(
                phone=data["phone"], code=data["code"], password=data["new_password"]
            )
        except DjangoValidationError as exc:
            errors = {
                "new_password" if name == "new_password1" else name: messages
                for name, messages in exc.message_dict.items()
            }
            raise serializers.ValidationError(errors) from exc
        return Response({"detail": _("Your new password is saved. You can sign in with it now.")})
