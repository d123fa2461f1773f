"""The OpenAPI schema documents the errors an operation can answer, not only its success.

drf-spectacular describes the success response of each operation; the error answers follow
from how the view is configured, so they are added here for every operation alike (issue 9: the
schema is the contract the API fuzzer holds the server to):

- 400 with field-keyed errors, when the operation takes parameters or a body;
- 401 when it authenticates callers (a missing, wrong or expired token is refused even where a
  signed-out caller is welcome), 403 when a permission decides who may call it;
- 404 when its path names a resource (unknown, or not visible to the caller, look the same),
  or when it is paginated (a page past the last one);
- 429 when it is throttled (and the token endpoint's lockout after wrong passwords).

An operation that answers another error documents it itself with ``extend_schema`` (an
``OpenApiResponse`` with a description is enough: 4xx answers get the error body here).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

ERROR_DETAIL = "ErrorDetail"
FIELD_ERRORS = "FieldErrors"

_SCHEMAS: dict[str, dict[str, Any]] = {
    ERROR_DETAIL: {
        "type": "object",
        "description": "An error with one human-readable message.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    FIELD_ERRORS: {
        "type": "object",
        "description": (
            "Errors keyed by the field they concern (the list of messages for that field, or "
            "the errors of a nested object or row); `non_field_errors` for the request as a "
            "whole, or `detail` when the body could not be read at all."
        ),
        "additionalProperties": {},
    },
}

_DESCRIPTIONS = {
    "400": "The request is invalid; nothing was written.",
    "401": "No valid credentials (missing, wrong or expired token).",
    "403": "The caller may not do this.",
    "404": "Not found, or not visible to the caller.",
    "429": "Too many requests; try again later.",
}


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
        responses: dict[str, Any] = operation["responses"]
        for code, response in responses.items():
            # An error a view documents itself (by its description) gets the error body.
            if code.startswith("4") and not response.get("content"):
                schema = FIELD_ERRORS if code == "400" else ERROR_DETAIL
                response["content"] = {"application/json": {"schema": self._component(schema)}}
        for code in self._error_codes(operation):
            if code not in responses:
                schema = FIELD_ERRORS if code == "400" else ERROR_DETAIL
                responses[code] = {
                    "description": _DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": self._component(schema)}},
                }
        return operation

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
