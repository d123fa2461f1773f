"""The OpenAPI schema: one error shape, names generators accept, the same in every language.

drf-spectacular describes the success response of each operation; the error answers follow
from how the view is configured, so they are added here for every operation alike (issue 9: the
schema is the contract the API fuzzer holds the server to):

- 400 when the operation takes parameters or a body;
- 401 when it authenticates callers (a missing, wrong or expired token is refused even where a
  signed-out caller is welcome), 403 when a permission decides who may call it;
- 404 when its path names a resource (unknown, or not visible to the caller, look the same),
  or when it is paginated (a page past the last one);
- 429 when it is throttled (and the token endpoint's lockout after wrong passwords).

Every 4xx answer has one body, the ``ApiError`` component (``creditbank.exceptions`` makes the
server keep to it): messages keyed by field, a nested field as ``items[0].outcome``, an optional
``detail`` for the request as a whole, and ``rows`` for a refused spreadsheet. An operation that
answers another error documents it with ``extend_schema`` (an ``OpenApiResponse`` with a
description is enough).

Issue 22 (generated clients): request bodies are JSON except where a file is uploaded; a creating
``POST`` documents ``Idempotency-Key`` when its view honours it; operationIds and component names
are identifiers (no dots, no leading underscore); the schema is generated in English whatever the
request's language, so every client generates the same code.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from common.idempotency import IDEMPOTENCY_PARAMETER

API_ERROR = "ApiError"
# The language the schema is written in, whatever the request's: generated code must not
# depend on who downloaded the schema.
SCHEMA_LANGUAGE = "en"

_ROW_ERROR = {
    "type": "object",
    "description": "One problem in an uploaded spreadsheet.",
    "properties": {
        "row": {"type": "integer", "description": "The row number as the spreadsheet shows it."},
        "column": {"type": "string"},
        "heading": {"type": "string", "description": "The column's heading in the file."},
        "message": {"type": "string"},
    },
    "required": ["row", "column", "message"],
}

_SCHEMAS: dict[str, dict[str, Any]] = {
    API_ERROR: {
        "type": "object",
        "description": (
            "Every 4xx answer. Messages are keyed by the field they concern; a field of a "
            "nested object or list item is keyed by its path, as `items[0].outcome`; "
            "`non_field_errors` holds messages about the request as a whole. `detail` is one "
            "message when the request is refused as a whole (not signed in, not allowed, not "
            "found, throttled, unreadable); `rows` lists the problems of a refused spreadsheet."
        ),
        "properties": {
            "detail": {"type": "string"},
            "rows": {"type": "array", "items": _ROW_ERROR},
        },
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}

_DESCRIPTIONS = {
    "400": "The request is invalid; nothing was written.",
    "401": "No valid credentials (missing, wrong or expired token).",
    "403": "The caller may not do this.",
    "404": "Not found, or not visible to the caller.",
    "429": "Too many requests; try again later.",
}

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_REFUSALS = {
    "409": "The first request with this Idempotency-Key is still running; retry later.",
    "422": "This Idempotency-Key was used for a different request.",
}

JSON = "application/json"
MULTIPART = "multipart/form-data"
FORM = "application/x-www-form-urlencoded"


def _has_file_field(serializer: Any) -> bool:
    serializer = force_instance(serializer)
    if not isinstance(serializer, serializers.BaseSerializer):
        return False
    fields = getattr(serializer, "fields", {})
    for field in fields.values():
        if isinstance(field, serializers.FileField):
            return True
        child = getattr(field, "child", None)
        if isinstance(child, serializers.FileField):
            return True
    return False


class ErrorDocumentingAutoSchema(AutoSchema):
    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: Any,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self._json_unless_files(operation)
        responses: dict[str, Any] = operation["responses"]
        for code, response in responses.items():
            if code.startswith("4"):
                response["content"] = {JSON: {"schema": self._component(API_ERROR)}}
        if any(p.get("name") == IDEMPOTENCY_HEADER for p in operation.get("parameters", [])):
            self._idempotency_documented(responses)
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = {
                    "description": _DESCRIPTIONS[code],
                    "content": {JSON: {"schema": self._component(API_ERROR)}},
                }
        return operation

    def get_override_parameters(self) -> list[Any]:
        # A handler decorated with ``idempotent`` (common/idempotency.py) honours the header.
        parameters = list(super().get_override_parameters())
        handler = getattr(self.view, (self.method or "").lower(), None)
        if getattr(handler, "idempotent", False):
            parameters.append(IDEMPOTENCY_PARAMETER)
        return parameters

    def get_operation_id(self) -> str:
        # A generator turns the operationId into a module or function name: no dots.
        operation_id = super().get_operation_id()
        return re.sub(r"_+", "_", re.sub(r"\W", "_", operation_id)).strip("_")

    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        # A module's private serializer (``_Reason``) is named after its app: two apps' private
        # serializers must not share a component, nor collide with a public one once a
        # generator drops the underscore.
        name = super().get_serializer_name(serializer, direction)
        if name.startswith("_"):
            app = type(serializer).__module__.split(".")[0]
            name = app.title().replace("_", "") + name.lstrip("_")
        return name

    def _get_request_body(self, direction: str = "request") -> Any:
        # A view whose PATCH needs every field (``patch_requires_all = True``) documents them
        # as required, not as the partial body drf-spectacular assumes for PATCH.
        if self.method == "PATCH" and getattr(self.view, "patch_requires_all", False):
            self.method = "PUT"
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_body(direction)

    def _json_unless_files(self, operation: dict[str, Any]) -> None:
        """Bodies are documented as JSON; multipart only where a file goes up."""
        body = operation.get("requestBody")
        if not body:
            return
        content: dict[str, Any] = body["content"]
        files = _has_file_field(self.get_request_serializer())
        # One media type per body: openapi-python-client 0.29 sends a body documented under
        # two media types of one component as both at once (and cannot import the module).
        keep = MULTIPART if files and MULTIPART in content else JSON
        if keep in content:
            for media_type in [m for m in content if m != keep]:
                content.pop(media_type)

    def _idempotency_documented(self, responses: dict[str, Any]) -> None:
        for code, response in responses.items():
            if code.startswith("2"):
                response.setdefault("headers", {})["Idempotent-Replayed"] = {
                    "schema": {"type": "string", "enum": ["true"]},
                    "description": (
                        "Present on a replay: the answer of the first request with this "
                        "Idempotency-Key, nothing was created again."
                    ),
                }
        for code, description in _IDEMPOTENCY_REFUSALS.items():
            responses.setdefault(code, {"description": description})
            responses[code]["content"] = {JSON: {"schema": self._component(API_ERROR)}}

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        codes = []
        if operation.get("parameters") or operation.get("requestBody"):
            codes.append("400")
        if self.view.get_authenticators():
            codes.append("401")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes.append("403")
        parameters = operation.get("parameters", [])
        # A path names a resource; a page number past the last page is "Invalid page".
        if any(p.get("in") == "path" or p.get("name") == "page" for p in parameters):
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _component(self, name: str) -> dict[str, str]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, schema=_SCHEMAS[name], object=name
        )
        self.registry.register_on_missing(component)
        return component.ref


class EnglishSchemaGenerator(SchemaGenerator):
    """The schema in :data:`SCHEMA_LANGUAGE`, whatever language is active (a request's
    ``Accept-Language``, the ``lang`` parameter, the management command's default)."""

    def get_schema(self, request: Any = None, public: bool = False) -> dict[str, Any]:
        with translation.override(SCHEMA_LANGUAGE):
            return super().get_schema(request=request, public=public)
