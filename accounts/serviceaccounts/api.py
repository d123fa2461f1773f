"""The API of an institution's service accounts (under /api/v1/): the same operations as the
pages, for its own administrators only (others: 404; a service account itself: 403)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.core.models import Role
from accounts.serviceaccounts.lookups import ServiceAccountAdminLookups
from accounts.serviceaccounts.models import Scope, ServiceAccount, ServiceCall
from accounts.serviceaccounts.services import (
    service_account_create,
    service_account_disable,
    service_account_secret_rotate,
    service_accounts_of,
    service_calls_of,
)
from accounts.signin.permissions import HasRole


class ServiceAccountSerializer(serializers.ModelSerializer):
    client_id = serializers.CharField(read_only=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(Scope.choices), read_only=True)

    class Meta:
        model = ServiceAccount
        fields = [
            "id",
            "name",
            "client_id",
            "scopes",
            "is_active",
            "created_at",
            "secret_rotated_at",
            "disabled_at",
        ]
        read_only_fields = fields


class ServiceAccountCreatedSerializer(ServiceAccountSerializer):
    client_secret = serializers.CharField(
        read_only=True, help_text="The client secret, shown this once (only its hash is kept)."
    )

    class Meta(ServiceAccountSerializer.Meta):
        fields = [*ServiceAccountSerializer.Meta.fields, "client_secret"]
        read_only_fields = fields


class ServiceAccountRequest(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(Scope.choices), max_length=len(Scope.values) * 2
    )


class ServiceAccountSecretSerializer(serializers.Serializer):
    client_secret = serializers.CharField(
        help_text="The new client secret, shown this once; the old one no longer works."
    )


class ServiceCallSerializer(serializers.ModelSerializer):
    service_account: serializers.PrimaryKeyRelatedField[ServiceAccount] = (
        serializers.PrimaryKeyRelatedField(read_only=True)
    )
    client_id = serializers.CharField(source="service_account.client_id", read_only=True)

    class Meta:
        model = ServiceCall
        fields = [
            "id",
            "service_account",
            "client_id",
            "scope",
            "method",
            "path",
            "status_code",
            "at",
            "duration_ms",
        ]
        read_only_fields = fields


class ServiceAccountAdminApi(ServiceAccountAdminLookups, APIView):
    permission_classes = [HasRole.of(Role.INSTITUTION_ADMIN)]


class ServiceAccountsApi(ServiceAccountAdminApi):
    """The institution's service accounts (``GET``); a new one (``POST``), answered with its
    ``client_secret`` this once."""

    @extend_schema(responses=ServiceAccountSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        accounts = service_accounts_of(institution=self.institution(request, pk))
        return Response(ServiceAccountSerializer(accounts, many=True).data)

    @extend_schema(request=ServiceAccountRequest, responses={201: ServiceAccountCreatedSerializer})
    def post(self, request: Request, pk: int) -> Response:
        institution = self.institution(request, pk)
        body = ServiceAccountRequest(data=request.data)
        body.is_valid(raise_exception=True)
        account, secret = service_account_create(
            institution=institution,
            actor=request.user,  # type: ignore[arg-type]
            name=body.validated_data["name"],
            scopes=body.validated_data["scopes"],
        )
        account.client_secret = secret  # type: ignore[attr-defined]
        return Response(
            ServiceAccountCreatedSerializer(account).data, status=status.HTTP_201_CREATED
        )


class ServiceAccountApi(ServiceAccountAdminApi):
    @extend_schema(responses=ServiceAccountSerializer)
    def get(self, request: Request, pk: int, service_account_id: int) -> Response:
        return Response(
            ServiceAccountSerializer(self.service_account(request, pk, service_account_id)).data
        )


class ServiceAccountRotateApi(ServiceAccountAdminApi):
    """A new client secret, answered this once; the old one, and every access token obtained
    with it, stop working at once."""

    @extend_schema(request=None, responses=ServiceAccountSecretSerializer)
    def post(self, request: Request, pk: int, service_account_id: int) -> Response:
        secret = service_account_secret_rotate(
            account=self.service_account(request, pk, service_account_id),
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response({"client_secret": secret})


class ServiceAccountDisableApi(ServiceAccountAdminApi):
    """Disable the account: no more tokens, and its tokens stop working at once."""

    @extend_schema(request=None, responses=ServiceAccountSerializer)
    def post(self, request: Request, pk: int, service_account_id: int) -> Response:
        account = service_account_disable(
            account=self.service_account(request, pk, service_account_id),
            actor=request.user,  # type: ignore[arg-type]
        )
        account.refresh_from_db()
        return Response(ServiceAccountSerializer(account).data)


class ServiceCallsApi(ServiceAccountAdminApi, ListAPIView):
    """Every call the institution's service accounts made, newest first (``?service_account=``
    for one of them)."""

    serializer_class = ServiceCallSerializer

    def get_queryset(self) -> Any:
        institution = self.institution(self.request, self.kwargs["pk"])
        calls = service_calls_of(institution=institution)
        wanted = self.request.query_params.get("service_account", "")
        if wanted.isdigit():
            calls = calls.filter(service_account_id=int(wanted))
        return calls
