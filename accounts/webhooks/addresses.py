"""Where a webhook may be sent: an ``https`` URL on a public address. Plain ``http`` to
127.0.0.1 or localhost is allowed only where ``WEBHOOKS_ALLOW_LOCAL_HTTP`` is on (development
and tests); anywhere else an address that is private, loopback, link-local, reserved or
multicast is refused, when the subscription is saved and again before every attempt (a name
may resolve elsewhere later), so that a subscription cannot make the portal call its own
network (SSRF). So are the IPv6 forms that carry an IPv4 address to somewhere else: NAT64
(64:ff9b::/96), 6to4 (2002::/16) and an IPv4-mapped address of a refused IPv4 address.

Before an attempt the name is resolved once (``webhook_target``), every address it answers is
checked, and the worker connects to those checked addresses only: a name that answers a public
address to the check and 127.0.0.1 to the connection (DNS rebinding) cannot reach the portal's
network, because the connection never asks the name again."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 ranges that lead to an IPv4 address chosen by whoever writes the URL (Python's
# ``is_global`` counts them as public).
_TUNNELS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("2002::/16"))


@dataclass(frozen=True)
class WebhookTarget:
    """Where one attempt goes: the URL as written (its host name is sent as ``Host`` and, for
    https, as the TLS server name) and the checked addresses to connect to, in order."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _local_allowed(host: str, allow_local_http: bool | None) -> bool:
    if allow_local_http is None:
        allow_local_http = bool(settings.WEBHOOKS_ALLOW_LOCAL_HTTP)
    return allow_local_http and host in LOCAL_HOSTS


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _public(address.ipv4_mapped)
        if any(address in network for network in _TUNNELS):
            return False
    return address.is_global and not address.is_multicast


def _addresses(host: str, port: int) -> list[Address]:
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
    return webhook_target(url).url


def webhook_target(url: str, *, allow_local_http: bool | None = None) -> WebhookTarget:
    """``url`` checked and resolved once, or a ``ValidationError`` on the field ``url``. Plain
    http to loopback where ``allow_local_http`` says (by default ``WEBHOOKS_ALLOW_LOCAL_HTTP``;
    another user-given address, such as a transfer record's, passes its own setting)."""
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
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError({"url": _("Enter an https:// URL.")}, code="port") from exc
    if _local_allowed(host, allow_local_http):
        local = _addresses(host, port)
        if not all(address.is_loopback for address in local):
            raise ValidationError(
                {"url": _("Webhooks can only be sent to a public internet address.")},
                code="private",
            )
        return WebhookTarget(url, parts.scheme, host, port, tuple(dict.fromkeys(map(str, local))))
    if parts.scheme != "https":
        raise ValidationError({"url": _("Enter an https:// URL.")}, code="scheme")
    addresses = _addresses(host, port)
    if not addresses or not all(_public(address) for address in addresses):
        raise ValidationError(
            {"url": _("Webhooks can only be sent to a public internet address.")},
            code="private",
        )
    return WebhookTarget(url, parts.scheme, host, port, tuple(dict.fromkeys(map(str, addresses))))
