"""The API of an institution's webhooks (under /api/v1/): the same operations as the pages,
for its own administrators only (others: 404)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.core.models import Institution
from accounts.institution_admin import InstitutionAdminApi, InstitutionAdminCollectionApi
from accounts.webhooks.lookups import WebhookAdminLookups
from accounts.webhooks.models import EventType, WebhookDelivery, WebhookSubscription
from accounts.webhooks.services import (
    webhook_deliveries_of,
    webhook_delivery_replay,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
    webhook_subscriptions_of,
)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(EventType.choices))

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "event_types", "is_active", "created_at", "secret_rotated_at"]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…), shown this once.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionRequest(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(EventType.choices), max_length=len(EventType.values) * 2
    )


class WebhookSubscriptionChangeRequest(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(EventType.choices),
        max_length=len(EventType.values) * 2,
        required=False,
    )
    is_active = serializers.BooleanField(required=False)


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret (whsec_…), shown this once.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "message_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "replays",
            "created_at",
        ]
        read_only_fields = fields


class WebhookAdminApi(WebhookAdminLookups, InstitutionAdminApi):
    secret_field = "secret"  # noqa: S105 - a field name, not a secret


@extend_schema_view(
    get=extend_schema(responses=WebhookSubscriptionSerializer(many=True)),
    post=extend_schema(
        request=WebhookSubscriptionRequest,
        responses={201: WebhookSubscriptionCreatedSerializer},
    ),
)
class WebhooksApi(WebhookAdminApi, InstitutionAdminCollectionApi):
    """The institution's webhook subscriptions; a new one answers its secret this once."""

    listed_serializer = WebhookSubscriptionSerializer
    created_serializer = WebhookSubscriptionCreatedSerializer
    request_serializer = WebhookSubscriptionRequest

    def listed(self, institution: Institution) -> Any:
        return webhook_subscriptions_of(institution=institution)

    def create(
        self, *, institution: Institution, actor: Any, data: dict[str, Any]
    ) -> tuple[Any, str]:
        return webhook_subscription_create(
            institution=institution, actor=actor, url=data["url"], event_types=data["event_types"]
        )


class WebhookApi(WebhookAdminApi):
    """One subscription: read, change (any of url, event_types, is_active) or delete."""

    @extend_schema(responses=WebhookSubscriptionSerializer)
    def get(self, request: Request, pk: int, subscription_id: int) -> Response:
        return Response(
            WebhookSubscriptionSerializer(self.subscription(request, pk, subscription_id)).data
        )

    @extend_schema(
        request=WebhookSubscriptionChangeRequest, responses=WebhookSubscriptionSerializer
    )
    def patch(self, request: Request, pk: int, subscription_id: int) -> Response:
        subscription = self.subscription(request, pk, subscription_id)
        body = WebhookSubscriptionChangeRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        webhook_subscription_update(
            subscription=subscription,
            actor=request.user,  # type: ignore[arg-type]
            url=data.get("url", subscription.url),
            event_types=data.get("event_types", subscription.event_types),
            is_active=data.get("is_active", subscription.is_active),
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, subscription_id: int) -> Response:
        webhook_subscription_delete(
            subscription=self.subscription(request, pk, subscription_id),
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateApi(WebhookAdminApi):
    """A new signing secret, answered this once; later attempts are signed with it."""

    @extend_schema(request=None, responses=WebhookSecretSerializer)
    def post(self, request: Request, pk: int, subscription_id: int) -> Response:
        secret = webhook_secret_rotate(
            subscription=self.subscription(request, pk, subscription_id),
            actor=request.user,  # type: ignore[arg-type]
        )
        return self.secret_answer(secret)


class WebhookDeliveriesApi(WebhookAdminApi, ListAPIView):
    """The delivery log, newest first: status, attempts, last response code, next attempt."""

    serializer_class = WebhookDeliverySerializer

    def get_queryset(self) -> Any:
        return webhook_deliveries_of(institution=self.institution(self.request, self.kwargs["pk"]))


class WebhookReplayApi(WebhookAdminApi):
    """Send a delivered or failed message again, with the same ``webhook-id``."""

    @extend_schema(request=None, responses=WebhookDeliverySerializer)
    def post(self, request: Request, pk: int, delivery_id: int) -> Response:
        delivery = get_object_or_404(
            WebhookDelivery, pk=delivery_id, subscription__institution=self.institution(request, pk)
        )
        delivery = webhook_delivery_replay(delivery=delivery, actor=request.user)  # type: ignore[arg-type]
        return Response(WebhookDeliverySerializer(delivery).data)
