"""Every 4xx answer of the API has one shape, the schema's ``ApiError`` (creditbank/schema.py):
messages keyed by field, a field of a nested object or list item keyed by its path
(``items[0].outcome``), ``detail`` for a refusal of the request as a whole."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler


def _flatten(errors: Any, path: str, into: dict[str, Any]) -> None:
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int) or str(key).isdigit():
                # DRF keys a ListField's errors by the item's position.
                name = f"{path}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY and path:
                # About the nested value as a whole (an empty list): keyed by the value.
                name = path
            else:
                name = f"{path}.{key}" if path else str(key)
            _flatten(value, name, into)
    elif isinstance(errors, list) and any(isinstance(e, dict | list) for e in errors):
        # A list of nested objects (a ListSerializer): one entry per item, {} for a valid one.
        for index, value in enumerate(errors):
            _flatten(value, f"{path}[{index}]", into)
    else:
        messages = errors if isinstance(errors, list) else [errors]
        into.setdefault(path or "non_field_errors", []).extend(messages)


def errors_flattened(errors: Any) -> Any:
    """DRF's nested validation errors as the one flat, field-keyed shape; a body that is
    ``{"detail": message}`` (or with ``rows``) is already in it."""
    if not isinstance(errors, dict | list):
        return errors
    if isinstance(errors, dict) and "detail" in errors and not isinstance(errors["detail"], list):
        return errors
    flat: dict[str, Any] = {}
    _flatten(errors, "", flat)
    return flat


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Services raise Django's ValidationError keyed by field; the API answers it as a 400 with
    the same field-keyed body that serializer errors have."""
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = ValidationError(detail=detail)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = errors_flattened(response.data)
    return response
