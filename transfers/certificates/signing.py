"""The bank's signing key and what is done with it: the canonical bytes of a value, an Ed25519
signature over them, its check against the published keys, and the base58btc form the
credential's proof uses.

Signing: ``signature = base64(Ed25519(canonical_bytes(content)))`` where ``canonical_bytes`` is
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` as UTF-8. The content
holds only strings, whole numbers, lists, objects and null (amounts are strings), so this is
also its JCS (RFC 8785) form.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SIGNATURE_ALGORITHM = "Ed25519"


def canonical_bytes(value: Any) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8 (JCS for our value types)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _key_from_file(path: Path) -> str:
    """Development only: a key generated once and kept in VAR_DIR, so certificates issued on a
    developer's machine keep verifying across restarts."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        try:
            # O_EXCL: two processes starting at once end up with the same key, the first one's.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(raw).decode() + "\n")
    return path.read_text().strip()


def signing_key() -> Ed25519PrivateKey:
    """The bank's private key: CERTIFICATE_SIGNING_KEY (base64 of the raw 32 bytes), or in
    development the key kept in VAR_DIR."""
    encoded = str(getattr(settings, "CERTIFICATE_SIGNING_KEY", "") or "")
    if not encoded:
        if getattr(settings, "PRODUCTION", False):
            raise ImproperlyConfigured("CERTIFICATE_SIGNING_KEY is required in production.")
        encoded = _key_from_file(Path(settings.CERTIFICATE_SIGNING_KEY_FILE))
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded, validate=True))
    except ValueError as exc:
        raise ImproperlyConfigured(
            "CERTIFICATE_SIGNING_KEY must be the base64 of a raw Ed25519 private key."
        ) from exc


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(raw_public(public_key)).hexdigest()[:16]


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key from its base64 raw form or PEM. Raises ValueError otherwise."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def public_keys() -> dict[str, Ed25519PublicKey]:
    """The keys certificates may be signed with, by key id: the current one and the retired
    ones still trusted for certificates issued before a rotation."""
    current = signing_key().public_key()
    keys = {key_id_of(current): current}
    for text in getattr(settings, "CERTIFICATE_RETIRED_PUBLIC_KEYS", []):
        retired = public_key_from_text(text)
        keys.setdefault(key_id_of(retired), retired)
    return keys


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    algorithm: str
    public_key: str  # base64 of the raw 32 bytes
    pem: str


def signing_key_public() -> PublishedKey:
    """The public half of the signing key, as published for offline checks."""
    public = signing_key().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return PublishedKey(
        key_id=key_id_of(public),
        algorithm=SIGNATURE_ALGORITHM,
        public_key=base64.b64encode(raw_public(public)).decode(),
        pem=pem,
    )


def content_sign(content: Mapping[str, Any]) -> tuple[str, str]:
    """(base64 signature, key id) of ``content``."""
    key = signing_key()
    signature = key.sign(canonical_bytes(content))
    return base64.b64encode(signature).decode(), key_id_of(key.public_key())


def signature_check(
    content: Any, signature: str, *, key: Ed25519PublicKey | None = None, key_id: str = ""
) -> bool:
    """Whether ``signature`` (base64) is the bank's over ``content``: with ``key`` if given,
    else with the published key named ``key_id``. Never raises on bad input."""
    try:
        if key is None:
            key = public_keys().get(key_id)
            if key is None:
                return False
        key.verify(base64.b64decode(signature, validate=True), canonical_bytes(content))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def fingerprint_of(content: Any) -> str:
    """The SHA-256 of the signed bytes, shown on the PDF and on the verification page so that a
    reader can tell that both speak of the same content."""
    digest = hashlib.sha256(canonical_bytes(content)).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _B58.index(char)  # ValueError on a foreign character
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body
