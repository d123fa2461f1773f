"""``GET /api/v1/centres/``: the centres and their codes, public (a learner names a centre by
its code when applying; an institution's system needs the list before anyone signs in)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from .models import Centre
from .queries import centres_list


class CentreSerializer(serializers.ModelSerializer[Centre]):
    class Meta:
        model = Centre
        fields = ["code", "name", "kind", "address", "phone"]
        read_only_fields = fields


class CentreListView(APIView):
    """The centres at work, by code: the management centre and the accreditation branch
    centres (``kind`` ``branch``) to which a learner applies."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(responses=CentreSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(CentreSerializer(centres_list(active=True), many=True).data)
