"""Revocation any verifier understands: W3C Bitstring Status List v1.0.

Each credential names one bit (``credentialStatus``, purpose ``revocation``): list
``pk // LIST_SIZE``, index ``pk % LIST_SIZE``. The status list credential is built when asked
for from the revocations recorded (a certificate is revoked when an accreditation it relied on
is), and signed like the credentials: so the bit is set by the very transaction that records
the revocation, with nothing else to keep in step.

A transfer record's outcome credentials (ADR 0022) name a bit of their own accreditation
instead, in a second family of lists indexed by the decision's id
(``/credentials/status/decisions/<n>``): another bank that recognised one outcome learns of
that outcome's revocation, not of its neighbours'.
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

from django.utils import timezone

from accounts.notifications.services import portal_url
from accreditation.services import decision_newest_id, decisions_revoked_in

from ..models import Certificate
from .linked_data import VC_CONTEXT, issuer_did, proof_add, xsd_datetime
from .signing import signing_key

# 131,072 bits (16 KiB): the specification's minimum, for herd privacy.
LIST_SIZE = 131_072
PURPOSE = "revocation"


def status_list_url(number: int) -> str:
    return f"{portal_url()}/credentials/status/{number}"


def decision_status_list_url(number: int) -> str:
    return f"{portal_url()}/credentials/status/decisions/{number}"


def _entry(url: str, index: int) -> dict[str, Any]:
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def decision_status_entry(decision_id: int) -> dict[str, Any]:
    """The ``credentialStatus`` of one accreditation's credential in a transfer record."""
    number, index = divmod(decision_id, LIST_SIZE)
    return _entry(decision_status_list_url(number), index)


def status_entry(certificate: Certificate) -> dict[str, Any]:
    """The ``credentialStatus`` of a certificate's credential."""
    number, index = divmod(certificate.pk, LIST_SIZE)
    return _entry(status_list_url(number), index)


def encoded_list(indexes: set[int]) -> str:
    """Multibase base64url (``u``) of the GZIP of the bitstring; index 0 is the left-most bit."""
    bits = bytearray(LIST_SIZE // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def status_list_exists(*, number: int) -> bool:
    """Whether list ``number`` may name a certificate: 0, up to the one of the newest row
    (anything beyond is not found, however large the number typed)."""
    newest = Certificate.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return 0 <= number <= newest // LIST_SIZE


def status_list_credential(*, number: int) -> dict[str, Any]:
    """The signed status list credential ``number``: the bits of the revoked certificates."""
    low = number * LIST_SIZE
    revoked = set(
        Certificate.objects.filter(
            pk__gte=low,
            pk__lt=low + LIST_SIZE,
            state=Certificate.State.ISSUED,
            decisions__revocation__isnull=False,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    return _signed_list(status_list_url(number), {pk - low for pk in revoked})


def decision_status_list_exists(*, number: int) -> bool:
    return 0 <= number <= decision_newest_id() // LIST_SIZE


def decision_status_list_credential(*, number: int) -> dict[str, Any]:
    """The signed status list credential ``number`` of accreditations: the bits of the
    revoked ones."""
    low = number * LIST_SIZE
    revoked = decisions_revoked_in(low=low, high=low + LIST_SIZE)
    return _signed_list(decision_status_list_url(number), {pk - low for pk in revoked})


def _signed_list(url: str, indexes: set[int]) -> dict[str, Any]:
    now = timezone.now()
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did(),
        "validFrom": xsd_datetime(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "encodedList": encoded_list(indexes),
        },
    }
    return proof_add(credential, key=signing_key(), created=now)
