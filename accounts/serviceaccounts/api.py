"""The API of an institution's service accounts (under /api/v1/): the same operations as the
pages, for its own administrators only (others: 404; a service account itself: 403)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.core.models import Institution
from accounts.institution_admin import InstitutionAdminApi, InstitutionAdminCollectionApi
from accounts.serviceaccounts.lookups import ServiceAccountAdminLookups
from accounts.serviceaccounts.models import Scope, ServiceAccount, ServiceCall
from accounts.serviceaccounts.services import (
    service_account_create,
    service_account_disable,
    service_account_secret_rotate,
    service_accounts_of,
    service_calls_of,
)


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


class ServiceAccountAdminApi(ServiceAccountAdminLookups, InstitutionAdminApi):
    secret_field = "client_secret"  # noqa: S105 - a field name, not a secret


@extend_schema_view(
    get=extend_schema(responses=ServiceAccountSerializer(many=True)),
    post=extend_schema(
        request=ServiceAccountRequest, responses={201: ServiceAccountCreatedSerializer}
    ),
)
class ServiceAccountsApi(ServiceAccountAdminApi, InstitutionAdminCollectionApi):
    """The institution's service accounts (``GET``); a new one (``POST``), answered with its
    ``client_secret`` this once."""

    listed_serializer = ServiceAccountSerializer
    created_serializer = ServiceAccountCreatedSerializer
    request_serializer = ServiceAccountRequest

    def listed(self, institution: Institution) -> Any:
        return service_accounts_of(institution=institution)

    def create(
        self, *, institution: Institution, actor: Any, data: dict[str, Any]
    ) -> tuple[Any, str]:
        return service_account_create(
            institution=institution, actor=actor, name=data["name"], scopes=data["scopes"]
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
        return self.secret_answer(secret)


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
