"""System checks of the portal's configuration that settings alone cannot refuse (they run
with ``manage.py check``, ``migrate`` and ``runserver``, before the portal serves anything)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error


def portal_url_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """creditbank.E001: without DEBUG, ``PORTAL_URL`` must be set (E002: and be an http(s)
    address). Certificates print it in
    their QR code and credential, and emails link to it; guessed from ALLOWED_HOSTS it was
    wrong whenever the first host was not the public one."""
    url = str(getattr(settings, "PORTAL_URL", "") or "")
    if url and not url.startswith(("https://", "http://")):
        return [
            Error(
                f"PORTAL_URL must be an absolute http(s) address, not {url!r}.",
                hint="e.g. https://xuefen.example.cn",
                id="creditbank.E002",
            )
        ]
    if settings.DEBUG or url:
        return []
    return [
        Error(
            "PORTAL_URL is required in production.",
            hint="Set PORTAL_URL to the portal's public address, e.g. https://xuefen.example.cn "
            "(it is printed on certificates and linked from emails).",
            id="creditbank.E001",
        )
    ]
