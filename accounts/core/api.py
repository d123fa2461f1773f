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

from common.replicas import replica_reads

from .models import Centre
from .queries import centres_list


class CentreCodeField(serializers.SlugRelatedField):
    """A reference to a centre by its ``code``, the centre's identifier in the API (the one
    ``GET /api/v1/centres/`` lists, docs/decisions/0014). Clients written before this rule sent
    the centre's database id: an integer is still read as such, and not documented."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            queryset = self.get_queryset()
            centre = queryset.filter(pk=data).first() if queryset is not None else None
            if centre is not None:
                return centre
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return super().to_internal_value(data)


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
    @replica_reads
    def get(self, request: Request) -> Response:
        return Response(CentreSerializer(centres_list(active=True), many=True).data)
