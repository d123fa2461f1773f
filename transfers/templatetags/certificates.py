"""Template filters for certificate pages."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def serial_groups(serial: str) -> SafeString:
    """A serial that a narrow screen may wrap between its printed groups, never inside one:
    each group (with its hyphen) is an inline block, and the text copied is the serial as
    printed. (A ``<wbr>`` after each hyphen would also break a line under ``nowrap``.)"""
    parts = [conditional_escape(part) for part in str(serial).split("-")]
    groups = [f"{part}-" for part in parts[:-1]] + parts[-1:]
    return mark_safe(  # noqa: S308 - every part is escaped above
        "".join(f'<span class="serial__group">{group}</span>' for group in groups)
    )
