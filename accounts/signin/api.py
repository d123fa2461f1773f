from django.contrib.auth import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.signin.authentication import TokenAuthentication
from accounts.signin.serializers import (
    TokenRequestSerializer,
    TokenResponseSerializer,
    UserSerializer,
)
from accounts.signin.services import api_token_create


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
