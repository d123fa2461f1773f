"""Template filters for certificate pages."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def serial_groups(serial: str) -> SafeString:
    """A serial that a narrow screen may wrap between its printed groups, never inside one: a
    line may break after each hyphen (``<wbr>``; the text copied is unchanged). Chromium does
    not break between a hyphen and a digit by itself."""
    parts = [conditional_escape(part) for part in str(serial).split("-")]
    return mark_safe("-<wbr>".join(parts))  # noqa: S308 - every part is escaped above
