"""Transfer records from another credit bank, checked offline (ADR 0022).

A transfer record is the CLR 2.0 ``ClrCredential`` a bank issues of a learner's accredited
outcomes (kind ``transfer_record``, :func:`.credential._record_credentials`): one
AchievementCredential per accreditation, each with its own proof and its own status bit, naming
the catalogue entry and version, hours, credits, the decision's id and moment and the deciding
centre. :func:`transfer_record_verify` is what the receiving bank runs on one: nothing is
fetched but the status lists, through the caller's ``status_fetch``; the issuer's key comes
from the caller's trust list (``key_for_issuer``), never from the record itself.

Anything wrong is a :class:`TransferRecordRefused` (a ``ValidationError`` keyed by the field
that failed, with a translated reason and a ``reason`` code); no input makes it raise
anything else.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount
from accounts.services import identity_number_hash
from accreditation.services import recognition_field_limits
from common.parsers import MAX_DEPTH, json_too_deep

from .credential import (
    CENTRE_CODE_TYPE,
    CLR_CONTEXTS,
    DECISION_ID_TYPE,
    HOLDER_IDENTITY_TYPES,
    OB_CONTEXTS,
    claim_code_normalise,
)
from .linked_data import VC_CONTEXT, assertion_keys, is_rdfc_secured, proof_check
from .status_list import PURPOSE

# A record of a few hundred outcomes is well under 1 MB; anything larger is not one of ours.
MAX_BYTES = 2_000_000
# Each held credential costs a signature check (an RDF canonicalisation): bounded in number and
# size before any of them is checked. Booking takes at most 200 outcomes too.
MAX_ENTRIES = 200
# One accredited outcome's credential is about 3 KB (measured); 16 KB leaves room for long
# names.
MAX_HELD_BYTES = 16 * 1024
# The record around them (issuer, identifiers, proof) is about 2 KB: its whole size is at most
# this plus its held credentials', so a few entries cost a few dozen KB to canonicalise, not
# MAX_BYTES.
MAX_ENVELOPE_BYTES = 16 * 1024
# A status list holds at least 16 KiB of bits; 16 MiB unpacked is far beyond any real one and
# stops a GZIP bomb.
MAX_LIST_BYTES = 16 * 1024 * 1024
# Distinct status lists one record may name (ours name two: certificates', decisions'): each
# is fetched while the learner waits.
MAX_STATUS_LISTS = 5
# Clocks of two banks differ by a little.
CLOCK_SKEW = datetime.timedelta(minutes=5)

REASONS: dict[str, Any] = {
    "malformed": _("This is not a well-formed credential."),
    "not_transfer_record": _("This credential is not a transfer record."),
    "untrusted_issuer": _("The issuer of the record is not on the trust list."),
    "forged": _("The record is not signed with a key of the bank it names as issuer."),
    "tampered": _("The record has been changed since the issuing bank signed it."),
    "expired": _("The record has expired."),
    "not_yet_valid": _("The record is not valid yet."),
    "revoked": _("The issuing bank has revoked the record."),
    "status_unavailable": _("The issuing bank's status list could not be read or checked."),
    "no_holder": _("The record does not say whose it is (no hashed identity number)."),
}
# The longest value of each provenance field the booking stores (its column's length), by the
# name of the field of the booked entry; VerifiedEntry names two of them differently.
FIELD_LIMITS = recognition_field_limits()
ENTRY_FIELDS = {"status_list_credential": "status_list_url"}
IDENTITY_HASH_RE = re.compile(r"sha256\$[0-9a-fA-F]{64}")

Fetch = Callable[[str], "bytes | dict[str, Any]"]


class TransferRecordRefused(ValidationError):
    """A record refused: ``reason`` (a key of :data:`REASONS`) under ``field`` (the path of
    the part that failed, ``record`` for the whole)."""

    def __init__(self, reason: str, field: str = "record") -> None:
        self.reason = reason
        self.field = field
        super().__init__({field: [ValidationError(REASONS[reason], code=reason)]})


@dataclass(frozen=True)
class VerifiedEntry:
    """One accredited outcome of a verified record, with its provenance."""

    origin_issuer: str  # the issuing bank's id (its did:web)
    origin_decision_id: str  # the decision's id at the issuing bank
    entry_code: str  # the issuing bank's catalogue entry code
    entry_version: str  # and its version ("" when the decision named none)
    title: str
    hours: Decimal
    credits: Decimal
    decided_on: datetime.date
    centre_name: str
    centre_code: str
    status_list_url: str
    status_index: int
    # True or False once the status list was read; None when no status_fetch was given.
    revoked: bool | None = None


@dataclass(frozen=True)
class HolderIdentity:
    """Whom a record is about: her identity number followed by the record's claim code, hashed
    (an OB 3.0 IdentityObject with ``hashed: true``; the code is not in the record, ADR 0022);
    :func:`transfer_record_holder_matches` compares it with an account's and a typed code."""

    identity_type: str
    identity_hash: str  # "sha256$<hex>"


@dataclass(frozen=True)
class VerifiedRecord:
    record_id: str
    issuer_id: str
    issuer_name: str
    valid_from: datetime.datetime
    learner_name: str  # "" when the learner did not disclose it
    learner_id_number_masked: str  # "" likewise
    entries: tuple[VerifiedEntry, ...]
    status_checked: bool
    holder: HolderIdentity

    @property
    def current_entries(self) -> tuple[VerifiedEntry, ...]:
        """The entries not revoked (all of them when the status was not checked)."""
        return tuple(entry for entry in self.entries if entry.revoked is not True)


def _size(value: Any) -> int:
    """A decoded value's size as compact UTF-8 JSON (what canonicalising it walks through)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _refuse(reason: str, field: str = "record") -> NoReturn:
    raise TransferRecordRefused(reason, field)


def _too_deep(value: Any) -> bool:
    """Whether a decoded value nests deeper than MAX_DEPTH (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _decode(document: Any, field: str) -> dict[str, Any]:
    """A JSON object from bytes, text or an already decoded value, within the size and depth
    limits; else refused as malformed."""
    if isinstance(document, bytes | bytearray | str):
        if len(document) > MAX_BYTES:
            _refuse("malformed", field)
        try:
            text = document.decode("utf-8") if isinstance(document, bytes | bytearray) else document
            if json_too_deep(text) is not None:
                _refuse("malformed", field)
            document = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            _refuse("malformed", field)
    if not isinstance(document, dict) or _too_deep(document):
        _refuse("malformed", field)
    return document


class _Reader:
    """Typed access to a credential's fields, refusing with the path of the first that is
    missing or of the wrong type."""

    def __init__(self, value: Any, path: str) -> None:
        self.value, self.path = value, path

    def _at(self, key: str | int) -> str:
        return f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}"

    def obj(self, key: str) -> _Reader:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if not isinstance(value, dict):
            _refuse("malformed", self._at(key))
        return _Reader(value, self._at(key))

    def items(self, key: str) -> list[_Reader]:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if not isinstance(value, list):
            _refuse("malformed", self._at(key))
        return [_Reader(v, f"{self._at(key)}[{n}]") for n, v in enumerate(value)]

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            _refuse("malformed", self._at(key))
        return value

    def types(self) -> list[str]:
        value = self.value.get("type") if isinstance(self.value, dict) else None
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            _refuse("malformed", self._at("type"))
        return value

    def moment(self, key: str) -> datetime.datetime:
        moment = self.moment_or_none(key, required=True)
        if moment is None:
            _refuse("malformed", self._at(key))
        return moment

    def moment_or_none(self, key: str, *, required: bool = False) -> datetime.datetime | None:
        text = self.text(key, required=required)
        if not text:
            return None
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            _refuse("malformed", self._at(key))
        if moment.tzinfo is None:
            _refuse("malformed", self._at(key))
        return moment


def _issuer_id(credential: _Reader) -> str:
    issuer = credential.value.get("issuer")
    if isinstance(issuer, dict):
        return credential.obj("issuer").text("id")
    return credential.text("issuer")


def _validity(credential: _Reader, now: datetime.datetime) -> datetime.datetime:
    valid_from = credential.moment("validFrom")
    valid_until = credential.moment_or_none("validUntil")
    if valid_from > now + CLOCK_SKEW:
        _refuse("not_yet_valid", credential.path + ".validFrom")
    if valid_until is not None and valid_until < now:
        _refuse("expired", credential.path + ".validUntil")
    return valid_from


def _proof(credential: _Reader, *, issuer_id: str, keys: dict[str, Ed25519PublicKey]) -> None:
    """The credential's proof, made by a key the issuer's trusted key document lists: another
    key (or another issuer) is a forgery; the right key over other content, tampering."""
    if not is_rdfc_secured(credential.value):
        _refuse("malformed", credential.path + ".proof")
    method = credential.obj("proof").text("verificationMethod")
    if _issuer_id(credential) != issuer_id or method.partition("#")[0] != issuer_id:
        _refuse("forged", credential.path + ".proof")
    key = keys.get(method)
    if key is None:
        _refuse("forged", credential.path + ".proof")
    if not proof_check(credential.value, key=key):
        _refuse("tampered", credential.path)


def _identifier(node: _Reader, key: str, identifier_type: str) -> str:
    """The one identifier of ``identifier_type`` in ``node[key]`` ("" when there is none)."""
    if key not in node.value:
        return ""
    found = [
        entry.text("identifier")
        for entry in node.items(key)
        if isinstance(entry.value, dict) and entry.value.get("identifierType") == identifier_type
    ]
    if len(found) > 1:
        _refuse("malformed", f"{node.path}.{key}")
    return found[0] if found else ""


def _amount(text: str, field: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        _refuse("malformed", field)
    if not amount.is_finite() or amount < 0 or amount > Decimal("100000"):
        _refuse("malformed", field)
    return amount


def _figures(subject: _Reader, achievement: _Reader) -> dict[str, Decimal]:
    """The results by their declared type (``ext:LearningHours``, ``ext:Credits``): paired by
    the description's id, never by position (a JSON-LD list is a set; its order is not
    signed)."""
    kinds = {}
    for description in achievement.items("resultDescription"):
        kinds[description.text("id")] = description.text("resultType")
    figures: dict[str, Decimal] = {}
    for result in subject.items("result"):
        kind = kinds.get(result.text("resultDescription"))
        if kind in ("ext:LearningHours", "ext:Credits"):
            if kind in figures:
                _refuse("malformed", result.path)
            figures[kind] = _amount(result.text("value"), result.path + ".value")
    for kind in ("ext:LearningHours", "ext:Credits"):
        if kind not in figures:
            _refuse("malformed", subject.path + ".result")
    return figures


def _status(credential: _Reader) -> tuple[str, int]:
    status = credential.obj("credentialStatus")
    if status.value.get("type") != "BitstringStatusListEntry" or (
        status.value.get("statusPurpose") != PURPOSE
    ):
        _refuse("malformed", status.path)
    url = status.text("statusListCredential")
    # Plain http only where settings allow it (development, tests, the two-portal harness):
    # elsewhere a status list on the wire unprotected could be swapped in transit.
    schemes = ("https://", "http://") if settings.RECOGNITION_ALLOW_HTTP else ("https://",)
    if not url.startswith(schemes) or len(url) > FIELD_LIMITS["status_list_credential"]:
        _refuse("malformed", status.path + ".statusListCredential")
    index = status.text("statusListIndex")
    if not index.isascii() or not index.isdigit() or len(index) > 9:
        _refuse("malformed", status.path + ".statusListIndex")
    return url, int(index)


def _entry(held: _Reader, *, issuer_id: str) -> VerifiedEntry | None:
    """The accredited outcome a held credential states, or None for another kind of held
    credential (the record's totals)."""
    if held.value.get("@context") != OB_CONTEXTS:
        _refuse("malformed", held.path + ".@context")
    if "OpenBadgeCredential" not in held.types():
        _refuse("malformed", held.path + ".type")
    subject = held.obj("credentialSubject")
    achievement = subject.obj("achievement")
    decision_id = _identifier(achievement, "otherIdentifier", DECISION_ID_TYPE)
    if achievement.value.get("achievementType") != "ext:AccreditedLearning" or not decision_id:
        return None
    figures = _figures(subject, achievement)
    awarded = held.moment("awardedDate")
    source = subject.obj("source")
    centre_code = _identifier(source, "otherIdentifier", CENTRE_CODE_TYPE)
    url, index = _status(held)
    entry = VerifiedEntry(
        origin_issuer=issuer_id,
        origin_decision_id=decision_id,
        entry_code=achievement.text("humanCode"),
        entry_version=achievement.text("version", required=False),
        title=achievement.text("name"),
        hours=figures["ext:LearningHours"],
        credits=figures["ext:Credits"],
        # The date at the deciding bank, in its own offset (as its pages showed it).
        decided_on=awarded.date(),
        centre_name=source.text("name"),
        centre_code=centre_code,
        status_list_url=url,
        status_index=index,
    )
    # What the booking stores has columns of bounded length: a longer value is not one a bank
    # of ours would issue, and refused here rather than failing the insert on PostgreSQL.
    for name, limit in FIELD_LIMITS.items():
        if len(str(getattr(entry, ENTRY_FIELDS.get(name, name)))) > limit:
            _refuse("malformed", held.path)
    return entry


def _bits(status_list: _Reader, url: str, *, issuer_id: str, keys: dict[str, Any]) -> bytes:
    """The bitstring of a status list credential, after its own checks: the list it says it
    is, by the same issuer, signed with the same trusted key, current, for revocation."""
    if status_list.value.get("@context") != [VC_CONTEXT]:
        _refuse("status_unavailable", status_list.path)
    if "BitstringStatusListCredential" not in status_list.types():
        _refuse("status_unavailable", status_list.path)
    if status_list.value.get("id") != url:
        _refuse("status_unavailable", status_list.path)
    try:
        _proof(status_list, issuer_id=issuer_id, keys=keys)
        _validity(status_list, timezone.now())
    except TransferRecordRefused:
        _refuse("status_unavailable", status_list.path)
    subject = status_list.obj("credentialSubject")
    if subject.value.get("statusPurpose") != PURPOSE:
        _refuse("status_unavailable", subject.path)
    encoded = subject.text("encodedList")
    if not encoded.startswith("u"):
        _refuse("status_unavailable", subject.path + ".encodedList")
    try:
        packed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # GZIP
        bits = inflater.decompress(packed, MAX_LIST_BYTES)
    except (ValueError, zlib.error):
        _refuse("status_unavailable", subject.path + ".encodedList")
    if inflater.unconsumed_tail or not bits:
        _refuse("status_unavailable", subject.path + ".encodedList")
    return bits


def _revoked(bits: bytes, index: int, field: str) -> bool:
    if index >= len(bits) * 8:
        _refuse("status_unavailable", field)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def _status_lists(
    urls: set[str], status_fetch: Fetch, *, issuer_id: str, keys: dict[str, Any]
) -> dict[str, bytes]:
    lists = {}
    for number, url in enumerate(sorted(urls)):
        field = f"status[{number}]"
        try:
            fetched = status_fetch(url)
        except Exception:  # the caller's network: whatever it raises, the list is unavailable
            _refuse("status_unavailable", field)
        try:
            document = _decode(fetched, field)
        except TransferRecordRefused:
            _refuse("status_unavailable", field)
        lists[url] = _bits(_Reader(document, field), url, issuer_id=issuer_id, keys=keys)
    return lists


def transfer_record_verify(
    *,
    document: bytes | dict[str, Any],
    key_for_issuer: Callable[[str], dict[str, Any] | None],
    status_fetch: Fetch | None,
) -> VerifiedRecord:
    """Check a transfer record another bank issued, offline: well-formed, a transfer record,
    its issuer trusted (``key_for_issuer`` gives the issuer's controller document from the
    trust list, or None), the proof of the record and of every credential it holds made with a
    key of that document, valid now, and, when ``status_fetch`` is given, the status of the
    record and of each entry read from the issuer's status lists (themselves verified with the
    same key). A revoked record is refused; revoked entries are returned marked ``revoked``.
    Raises :class:`TransferRecordRefused` with the reason; nothing else."""
    try:
        return _verify(document, key_for_issuer, status_fetch)
    except TransferRecordRefused:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError):
        # A shape the field checks did not foresee: still a refusal, never a 500.
        _refuse("malformed")


def _verify(
    document: Any,
    key_for_issuer: Callable[[str], dict[str, Any] | None],
    status_fetch: Fetch | None,
) -> VerifiedRecord:
    record = _Reader(_decode(document, "record"), "record")
    if "ClrCredential" not in record.types() or "VerifiableCredential" not in record.types():
        _refuse("not_transfer_record", "record.type")
    if record.value.get("@context") != CLR_CONTEXTS:
        _refuse("malformed", "record.@context")
    issuer_id = _issuer_id(record)
    key_document = key_for_issuer(issuer_id)
    if key_document is None:
        _refuse("untrusted_issuer", "record.issuer")
    keys = assertion_keys(key_document)
    if not keys:
        _refuse("untrusted_issuer", "record.issuer")
    if not is_rdfc_secured(record.value):
        _refuse("malformed", "record.proof")
    now = timezone.now()
    subject = record.obj("credentialSubject")
    if "ClrSubject" not in subject.types():
        _refuse("not_transfer_record", subject.path + ".type")
    held_credentials = subject.items("verifiableCredential")
    if len(held_credentials) > MAX_ENTRIES + 1:
        _refuse("malformed", subject.path + ".verifiableCredential")
    held_bytes = 0
    for held in held_credentials:
        size = _size(held.value) if isinstance(held.value, dict) else MAX_HELD_BYTES + 1
        if size > MAX_HELD_BYTES:
            _refuse("malformed", held.path)
        held_bytes += size
    # Before any canonicalisation: the record's proof covers all of it.
    if _size(record.value) > MAX_ENVELOPE_BYTES + held_bytes:
        _refuse("malformed", "record")
    # The record's own proof first: it covers everything it holds, so one signature check
    # decides whether the bank signed this at all before any held credential costs one.
    _proof(record, issuer_id=issuer_id, keys=keys)
    valid_from = _validity(record, now)
    entries: list[VerifiedEntry] = []
    for held in held_credentials:
        _proof(held, issuer_id=issuer_id, keys=keys)
        _validity(held, now)
        entry = _entry(held, issuer_id=issuer_id)
        if entry is not None:
            entries.append(entry)
    if not entries:
        _refuse("not_transfer_record", subject.path + ".verifiableCredential")
    if len({entry.origin_decision_id for entry in entries}) != len(entries):
        _refuse("malformed", subject.path + ".verifiableCredential")

    status_checked = status_fetch is not None
    if status_fetch is not None:
        own_url, own_index = _status(record)
        urls = {own_url} | {entry.status_list_url for entry in entries}
        if len(urls) > MAX_STATUS_LISTS:  # a bank of ours uses two; each is a fetch
            _refuse("malformed", subject.path + ".verifiableCredential")
        lists = _status_lists(urls, status_fetch, issuer_id=issuer_id, keys=keys)
        entries = [
            _with_status(entry, lists[entry.status_list_url], f"{subject.path}[{n}]")
            for n, entry in enumerate(entries)
        ]
        # The record's own bit is set when the bank withdrew it or revoked anything in it:
        # unexplained by a revoked entry, the record as a whole is withdrawn.
        record_revoked = _revoked(lists[own_url], own_index, "record.credentialStatus")
        if record_revoked and not any(entry.revoked for entry in entries):
            _refuse("revoked", "record.credentialStatus")

    identifiers, holder = _identifiers(subject)
    issuer = record.value.get("issuer")
    return VerifiedRecord(
        record_id=record.text("id"),
        issuer_id=issuer_id,
        issuer_name=str(issuer.get("name", "")) if isinstance(issuer, dict) else "",
        valid_from=valid_from,
        learner_name=identifiers.get("name", ""),
        learner_id_number_masked=identifiers.get("nationalIdentityNumber", ""),
        entries=tuple(entries),
        status_checked=status_checked,
        holder=holder,
    )


def _identifiers(subject: _Reader) -> tuple[dict[str, str], HolderIdentity]:
    """What the learner disclosed in clear (by identity type) and the one hashed identity
    number that binds the record to her: a record without it is anyone's, so refused."""
    disclosed: dict[str, str] = {}
    holders: list[HolderIdentity] = []
    field = subject.path + ".identifier"
    for identifier in subject.items("identifier") if "identifier" in subject.value else []:
        kind = identifier.text("identityType")
        if identifier.value.get("hashed") is True:
            digest = identifier.text("identityHash")
            if not IDENTITY_HASH_RE.fullmatch(digest):
                _refuse("malformed", identifier.path)
            holders.append(HolderIdentity(identity_type=kind, identity_hash=digest))
        else:
            disclosed[kind] = identifier.text("identityHash", required=False)
    if len(holders) != 1:
        _refuse("no_holder", field)
    return disclosed, holders[0]


def transfer_record_holder_matches(
    *, record: VerifiedRecord, account: LearningAccount, claim_code: str
) -> bool:
    """Whether the verified ``record`` is about the holder of ``account`` and ``claim_code`` is
    its code: her full identity number followed by the code (normalised) hashes to the
    record's hash, under the identity type of her document. The receiving bank books a record
    only on the account it is about, brought with its code."""
    expected_type = HOLDER_IDENTITY_TYPES.get(account.id_type)
    code = claim_code_normalise(claim_code)
    if expected_type is None or record.holder.identity_type != expected_type or not code:
        return False
    digest = identity_number_hash(account=account, salt=code)
    if digest is None:
        return False
    return hmac.compare_digest(digest.lower(), record.holder.identity_hash.lower())


def _with_status(entry: VerifiedEntry, bits: bytes, field: str) -> VerifiedEntry:
    return replace(entry, revoked=_revoked(bits, entry.status_index, field))


def status_list_read(
    *, document: bytes | dict[str, Any], url: str, issuer_id: str, key_document: dict[str, Any]
) -> Callable[[int], bool]:
    """Another bank's status list ``url``, fetched by the caller, checked as a record's status
    lists are (the list it says it is, by ``issuer_id``, signed with a key of ``key_document``,
    current, for revocation): a function telling whether a status index is set. Raises
    :class:`TransferRecordRefused` (``status_unavailable``), nothing else: the periodic status
    check of recognised decisions (``transfers.recognitions``) reads lists with it."""
    try:
        keys = assertion_keys(key_document)
        if not keys:
            _refuse("status_unavailable", "status")
        bits = _bits(
            _Reader(_decode(document, "status"), "status"), url, issuer_id=issuer_id, keys=keys
        )
    except TransferRecordRefused as refused:
        if refused.reason == "status_unavailable":
            raise
        _refuse("status_unavailable", "status")
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError):
        _refuse("status_unavailable", "status")

    def revoked(index: int) -> bool:
        return _revoked(bits, index, "status")

    return revoked
