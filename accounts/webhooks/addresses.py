"""Where a webhook may be sent: an ``https`` URL on a public address. Plain ``http`` to
127.0.0.1 or localhost is allowed only where ``WEBHOOKS_ALLOW_LOCAL_HTTP`` is on (development
and tests); anywhere else an address that is private, loopback, link-local, reserved or
multicast is refused, when the subscription is saved and again before every attempt (a name
may resolve elsewhere later), so that a subscription cannot make the portal call its own
network (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _local_allowed(host: str) -> bool:
    return bool(settings.WEBHOOKS_ALLOW_LOCAL_HTTP) and host in LOCAL_HOSTS


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError) as exc:
        raise ValidationError(
            {"url": _("The address's host name could not be found.")}, code="unresolved"
        ) from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def webhook_url_check(url: str) -> str:
    """``url`` as it will be called, or a ``ValidationError`` on the field ``url``."""
    url = url.strip()
    refused = ValidationError({"url": _("Enter an https:// URL.")}, code="scheme")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise refused
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError as exc:  # a broken IPv6 literal
        raise refused from exc
    if not host or parts.scheme not in ("https", "http"):
        raise refused
    if parts.username or parts.password:
        raise ValidationError(
            {"url": _("The URL must not contain a user name or password.")}, code="userinfo"
        )
    if _local_allowed(host):
        return url
    if parts.scheme != "https":
        raise ValidationError({"url": _("Enter an https:// URL.")}, code="scheme")
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise ValidationError({"url": _("Enter an https:// URL.")}, code="port") from exc
    for address in _addresses(host, port):
        if not address.is_global or address.is_multicast:
            raise ValidationError(
                {"url": _("Webhooks can only be sent to a public internet address.")},
                code="private",
            )
    return url
