"""The API's JSON parser: DRF's, with a limit on how deeply a body may nest.

Python's JSON decoder recurses once per level, so a body of a few thousand ``[`` overflows the
stack (RecursionError, an HTML 500) before any serializer sees it, and a body just under that
limit would overflow the serializers instead. No request of this API nests more than a few
levels; a body deeper than ``MAX_DEPTH`` is refused as a 400 keyed by the top-level field that
holds it (``non_field_errors`` when the body itself is the deep list), like any invalid field.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

MAX_DEPTH = 64

# A JSON string (whole, with its escapes) or a bracket: the only tokens that change the depth.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def json_too_deep(text: str, *, max_depth: int = MAX_DEPTH) -> str | None:
    """``None`` if ``text`` nests at most ``max_depth`` levels; else the top-level key under
    which it nests deeper (``non_field_errors`` when that is not a key of a top-level object).
    Reads the text once, without recursion, whatever its depth."""
    depth = 0
    top_is_object = False
    key = ""  # the last string read directly in the top-level object
    for match in _TOKEN.finditer(text):
        part = match.group()
        if part in ("[", "{"):
            if depth == 0:
                top_is_object = part == "{"
            depth += 1
            if depth > max_depth:
                return key if top_is_object and key else api_settings.NON_FIELD_ERRORS_KEY
        elif part in ("]", "}"):
            depth -= 1
        elif depth == 1 and top_is_object:
            try:
                key = str(json.loads(part))
            except ValueError:
                key = ""
    return None


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than ``MAX_DEPTH`` with a field-keyed
    400 before they are decoded."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        text = codecs.decode(raw, encoding, errors="replace")
        field = json_too_deep(text)
        if field is not None:
            message = _("The data is nested too deeply (at most %(depth)d levels).") % {
                "depth": MAX_DEPTH
            }
            raise ValidationError({field: [message]})
        return super().parse(io.BytesIO(raw), media_type, parser_context)
