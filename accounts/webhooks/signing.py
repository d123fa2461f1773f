"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the secret is ``whsec_``
and base64 bytes; the signature is ``v1,`` and the base64 HMAC-SHA256, under those bytes, of
``{webhook-id}.{webhook-timestamp}.{body}``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id_generate() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def signature_of(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers_of(*, secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three headers of one attempt: a retry keeps the id and signs a fresh timestamp."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_of(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    }
