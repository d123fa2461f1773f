"""Protection of identity numbers: encryption at rest and a keyed blind index.

The clear number is needed rarely (a reviewer's recorded reveal, a certificate check by a
centre); lookups for uniqueness go through the blind index, which reveals nothing without the
key. Without configured keys (development, tests) keys are derived from SECRET_KEY; production
refuses to start without its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = settings.IDENTITY_ENCRYPTION_KEYS or [
        base64.urlsafe_b64encode(_derived("identity-encryption")).decode()
    ]
    return MultiFernet([Fernet(key) for key in keys])


def _index_key() -> bytes:
    configured = settings.IDENTITY_INDEX_KEY
    return configured.encode() if configured else _derived("identity-index")


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def blind_index(number: str) -> str:
    """The same normalised number always gives the same index; the index alone tells nothing."""
    return hmac.new(_index_key(), number.encode(), hashlib.sha256).hexdigest()
