"""``/api/v1/schema/``, apart from :mod:`creditbank.schema` (drf-spectacular's views import the
settings that name the generator there)."""

from typing import Any

from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from .schema import SCHEMA_LANGUAGE, EnglishSchemaGenerator


class SchemaView(SpectacularAPIView):
    """``/api/v1/schema/``: the same document for everyone (drf-spectacular would translate it
    into the request's language)."""

    generator_class = EnglishSchemaGenerator

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The generator returns plain strings (drf-spectacular resolves lazy translations),
        # so the answer no longer depends on the language active when it is rendered.
        with translation.override(SCHEMA_LANGUAGE):
            return self._get_schema_response(request)
