"""The trust list: the other credit banks whose decisions this bank recognises, each added,
re-keyed and removed by the management admin with a reason, every change an append-only
:class:`TrustedBankEvent`.

A bank is named by its issuer id (what its credentials carry as ``issuer.id``); its key document
is its controller document, in the shape of ours (``transfers.certificates.linked_data``): the
Multikey verification methods whose keys may sign its transfer records. A record is verified
offline against the document stored here, never against one fetched at verification time.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.services import free_text_problem
from common.parsers import json_too_deep

from ..models import TrustedBank, TrustedBankEvent

Action = TrustedBankEvent.Action

ISSUER_RE = re.compile(r"(did:web:[A-Za-z0-9.%_-]+(:[A-Za-z0-9.%_-]+)*|https://[^\s#?]+)")
# An Ed25519 public key as a Multikey: "z6Mk" and 44 base58btc characters.
MULTIKEY_RE = re.compile(r"z6Mk[1-9A-HJ-NP-Za-km-z]{44}")
MAX_KEY_DOCUMENT_BYTES = 64 * 1024
MAX_METHODS = 20
# A controller document nests four or five levels; anything far deeper is not one.
MAX_KEY_DOCUMENT_DEPTH = 16


def _require_manager(actor: User) -> None:
    if actor.role != Role.MANAGEMENT_ADMIN:
        raise ValidationError({"bank": _("Only the management centre keeps the trust list.")})


def _reason_check(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("Keep the reason under 2,000 characters.")})
    if problem := free_text_problem(reason, multiline=True):
        raise ValidationError({"reason": problem})
    return reason


def issuer_check(issuer: str) -> str:
    """The issuer id cleaned, or ValidationError keyed ``issuer``."""
    issuer = (issuer or "").strip()
    if not ISSUER_RE.fullmatch(issuer) or len(issuer) > 300:
        raise ValidationError(
            {
                "issuer": _(
                    "Give the bank's issuer id: a did:web identifier (did:web:cqcb.example.cn) "
                    "or an https address."
                )
            }
        )
    return issuer


def key_document_check(*, issuer: str, document: Any) -> dict[str, Any]:
    """A controller document as this bank stores it (JSON text or a parsed object), checked:
    its ``id`` is the issuer, and it has at least one Multikey verification method of that
    issuer listed as an assertion method. Raises ValidationError keyed ``key_document``."""

    def refuse(message: Any) -> ValidationError:
        return ValidationError({"key_document": message})

    if not isinstance(document, bytes | str):
        # A parsed object is measured as the JSON it would be stored as: a dict is capped like
        # the text (and one too deep or not serialisable is not a key document).
        try:
            document = json.dumps(document)
        except (TypeError, ValueError, RecursionError) as exc:
            raise refuse(
                _("The key document must be a JSON object (a controller document).")
            ) from exc
    if len(document) > MAX_KEY_DOCUMENT_BYTES:
        raise refuse(_("The key document is larger than 64 KB."))
    try:
        text = document.decode("utf-8") if isinstance(document, bytes) else document
        # 64 KB of "[" would recurse past Python's limit in json.loads: counted first.
        if json_too_deep(text, max_depth=MAX_KEY_DOCUMENT_DEPTH) is not None:
            raise refuse(_("The key document is not JSON."))
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise refuse(_("The key document is not JSON.")) from exc
    if not isinstance(document, dict):
        raise refuse(_("The key document must be a JSON object (a controller document)."))
    if document.get("id") != issuer:
        raise refuse(
            _("The key document's “id” must be the bank's issuer id, %(issuer)s.")
            % {"issuer": issuer}
        )
    methods = document.get("verificationMethod")
    if not isinstance(methods, list) or not methods or len(methods) > MAX_METHODS:
        raise refuse(_("The key document must list its keys in “verificationMethod”."))
    assertion = document.get("assertionMethod") or []
    if not isinstance(assertion, list):
        raise refuse(_("“assertionMethod” must be a list of key ids."))
    for method in methods:
        if not isinstance(method, dict):
            raise refuse(_("Each verification method must be a JSON object."))
        method_id = str(method.get("id", ""))
        if not method_id.startswith(issuer + "#"):
            raise refuse(
                _("The key id “%(id)s” is not a key of %(issuer)s.")
                % {"id": method_id, "issuer": issuer}
            )
        multibase = str(method.get("publicKeyMultibase", ""))
        if (
            method.get("type") != "Multikey"
            or not MULTIKEY_RE.fullmatch(multibase)
            or not _multikey_usable(multibase)
        ):
            raise refuse(
                _("The key “%(id)s” must be an Ed25519 Multikey (publicKeyMultibase z6Mk…).")
                % {"id": method_id}
            )
        if method_id not in assertion:
            raise refuse(
                _("The key “%(id)s” is not listed in “assertionMethod”.") % {"id": method_id}
            )
        # A method controlled by anyone else is not the issuer's key: the verifier
        # (linked_data.assertion_keys) would skip it, so the document would verify nothing.
        if method.get("controller") != issuer:
            raise refuse(
                _("The key “%(id)s” must have the bank's issuer id as its “controller”.")
                % {"id": method_id}
            )
    return document


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_PUB = b"\xed\x01"  # the multicodec prefix of an Ed25519 public key


def _multikey_usable(text: str) -> bool:
    """Whether ``text`` (already matching MULTIKEY_RE) decodes to an Ed25519 public key, as
    ``transfers.certificates.linked_data.multikey_decode`` will decode it when verifying (the
    layer above: not importable here). A "z6Mk…" string of the right length can still carry
    other bytes, and a key the verifier cannot decode verifies nothing."""
    number = 0
    for char in text[1:]:
        number = number * 58 + _B58.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    if not raw.startswith(_ED25519_PUB) or len(raw) != len(_ED25519_PUB) + 32:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw[len(_ED25519_PUB) :])
    except ValueError:
        return False
    return True


def _event(bank: TrustedBank, *, action: str, actor: User, reason: str) -> TrustedBankEvent:
    return TrustedBankEvent.objects.create(
        bank=bank, action=action, actor=actor, reason=reason, key_document=bank.key_document
    )


def trusted_bank_add(
    *, name: str, issuer: str, key_document: Any, reason: str, actor: User
) -> TrustedBank:
    """Put a bank on the trust list (again, if it was removed: with the keys given now)."""
    _require_manager(actor)
    errors: dict[str, Any] = {}
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors["name"] = _("Give the bank's name (at most 200 characters).")
    try:
        issuer = issuer_check(issuer)
        document = key_document_check(issuer=issuer, document=key_document)
    except ValidationError as exc:
        errors |= exc.message_dict
    try:
        reason = _reason_check(reason)
    except ValidationError as exc:
        errors |= exc.message_dict
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            bank = TrustedBank.objects.select_for_update().filter(issuer=issuer).first()
            if bank is not None and bank.is_active:
                raise ValidationError({"issuer": _("This bank is already on the trust list.")})
            if bank is None:
                bank = TrustedBank.objects.create(
                    name=name, issuer=issuer, key_document=document, is_active=True
                )
            else:
                bank.name, bank.key_document, bank.is_active = name, document, True
                bank.save(update_fields=["name", "key_document", "is_active"])
            _event(bank, action=Action.ADD, actor=actor, reason=reason)
    except IntegrityError as exc:
        # Two managers adding the same issuer at once: the unique issuer lets one in.
        raise ValidationError({"issuer": _("This bank is already on the trust list.")}) from exc
    return bank


@transaction.atomic
def trusted_bank_keys_set(
    *, bank: TrustedBank, key_document: Any, reason: str, actor: User
) -> TrustedBank:
    """Replace a trusted bank's key document (the bank rotated its keys)."""
    _require_manager(actor)
    reason = _reason_check(reason)
    bank = TrustedBank.objects.select_for_update().get(pk=bank.pk)
    if not bank.is_active:
        raise ValidationError({"bank": _("This bank is not on the trust list.")})
    bank.key_document = key_document_check(issuer=bank.issuer, document=key_document)
    bank.save(update_fields=["key_document"])
    _event(bank, action=Action.KEYS, actor=actor, reason=reason)
    return bank


@transaction.atomic
def trusted_bank_remove(*, bank: TrustedBank, reason: str, actor: User) -> TrustedBank:
    """Take a bank off the trust list: its records are refused from now on. What was already
    recognised stays (a revocation at the origin still reverses it)."""
    _require_manager(actor)
    reason = _reason_check(reason)
    bank = TrustedBank.objects.select_for_update().get(pk=bank.pk)
    if not bank.is_active:
        raise ValidationError({"bank": _("This bank is not on the trust list.")})
    bank.is_active = False
    bank.save(update_fields=["is_active"])
    _event(bank, action=Action.REMOVE, actor=actor, reason=reason)
    return bank


def trusted_bank_for_issuer(*, issuer: str) -> TrustedBank | None:
    """The bank on the trust list whose issuer id is ``issuer`` (active only), or None."""
    return TrustedBank.objects.filter(issuer=issuer, is_active=True).first()


def trusted_bank_keys(*, issuer: str) -> dict[str, Any] | None:
    """The key document of the trusted bank ``issuer``, or None if it is not trusted."""
    bank = trusted_bank_for_issuer(issuer=issuer)
    return dict(bank.key_document) if bank is not None else None


def trusted_banks_list(*, active: bool | None = None) -> QuerySet[TrustedBank]:
    banks = TrustedBank.objects.all()
    if active is not None:
        banks = banks.filter(is_active=active)
    return banks.order_by("-is_active", "name", "id")


def trusted_bank_history(*, bank: TrustedBank | None = None) -> QuerySet[TrustedBankEvent]:
    """Changes of the trust list (of one bank), newest first, with who made them."""
    events = TrustedBankEvent.objects.select_related("bank", "actor")
    if bank is not None:
        events = events.filter(bank=bank)
    return events.order_by("-occurred_at", "-id")
