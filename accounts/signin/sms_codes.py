"""SMS one-time codes: asked for on a page, sent by a worker, checked once.

- A code has 6 digits, lives ``SMS_CODE_MINUTES`` (5) minutes, is used once and dies after
  ``SMS_CODE_MAX_WRONG_TRIES`` wrong tries; a newer code for the same number and purpose
  replaces the older one.
- Asking for codes is throttled per number and per client address (the project's DRF rate
  throttles on the shared cache; rates ``sms_number`` and ``sms_address``).
- The page's answer is the same whether or not the number has an account: the worker decides.
  A registration code goes to any number (whoever enters it holds the phone, and only then
  learns whether the number is taken); a password reset code only to a number that signs in
  to an active account, and to others nothing.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.core.models import User
from accounts.identity.crypto import blind_index
from accounts.ledger.models import LearningAccount
from accounts.signin.models import SmsCode
from accounts.signin.registration import personal_account_register
from accounts.signin.sms import SmsMessage, mask_phone, sms_send
from accounts.validators import normalise_phone

Purpose = SmsCode.Purpose

CODE_NOT_VALID = _(
    "This code is not valid: it is wrong, expired or already used, or was tried too many "
    "times. Ask for a new code."
)
TOO_MANY_CODES = _(
    "Too many codes were asked for this number or from this network. Wait a while and try again."
)


def phone_index(phone: str) -> str:
    return blind_index("sms:" + normalise_phone(phone))


def _code_hash(*, index: str, purpose: str, code: str) -> str:
    # Keyed by SECRET_KEY and bound to the number and purpose: a copied table gives no code.
    return salted_hmac(f"sms-code:{index}:{purpose}", code, algorithm="sha256").hexdigest()


# --- Throttles --------------------------------------------------------------------------------


class _SmsThrottle(SimpleRateThrottle):
    """A DRF rate throttle over the shared cache, keyed by what it is given; the rate is read at
    each request (``DEFAULT_THROTTLE_RATES``), so a test or an operator can change it."""

    def __init__(self, scope: str, ident: str | None) -> None:
        self.scope = scope
        self.ident = ident
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        self.rate = str(rate) if rate else None
        if self.rate is not None:
            self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        ident = self.ident if self.ident is not None else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        return super().allow_request(request, view)


class SmsAddressThrottle(_SmsThrottle):
    """The per-address limit as a DRF throttle class (the API's views name it; the pages call
    :func:`sms_code_allowed`); one cache counter per address for both."""

    def __init__(self) -> None:
        super().__init__("sms_address", None)


def sms_number_allowed(*, request: Any, phone: str) -> bool:
    """Whether a code may be sent to ``phone`` now; counts the request."""
    return _SmsThrottle("sms_number", phone_index(phone)).allow_request(request, None)


def sms_code_allowed(*, request: HttpRequest, phone: str) -> bool:
    """Whether a code may be sent to ``phone`` for this client now; counts the request. The
    address is counted first, so that spraying many numbers from one place is limited too."""
    by_address = SmsAddressThrottle()
    return by_address.allow_request(request, None) and sms_number_allowed(
        request=request, phone=phone
    )


# --- Queueing (the page) and sending (the worker) ---------------------------------------------


def sms_code_queue(*, phone: str, purpose: str, language: str) -> None:
    """Queue the worker task that sends a code, once the request's transaction commits. The
    number is in the task's arguments, but its logged form (``kwargsrepr``: worker logs,
    monitoring) shows it masked."""
    from accounts.tasks import send_sms_code

    kwargs = {"phone": normalise_phone(phone), "purpose": purpose, "language": language}
    shown = {**kwargs, "phone": mask_phone(kwargs["phone"])}

    def send() -> None:
        # kwargsrepr: Celery's option for hiding arguments in logs (absent from the stubs).
        send_sms_code.apply_async(kwargs=kwargs, kwargsrepr=repr(shown))  # type: ignore[call-arg]

    send.__qualname__ = "sms_code_queue(accounts.tasks.send_sms_code)"
    transaction.on_commit(send, robust=True)


def _sms_code_create(*, phone: str, purpose: str) -> str:
    index = phone_index(phone)
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    with transaction.atomic():
        # The older codes of this number and purpose stop working: only the newest counts.
        SmsCode.objects.filter(phone_index=index, purpose=purpose, used_at__isnull=True).update(
            used_at=now
        )
        SmsCode.objects.create(
            phone_index=index,
            purpose=purpose,
            code_hash=_code_hash(index=index, purpose=purpose, code=code),
            expires_at=now + timedelta(minutes=settings.SMS_CODE_MINUTES),
        )
    return code


def sms_code_send(*, phone: str, purpose: str) -> bool:
    """Run by the worker: create a code for ``phone`` and send it, unless ``purpose`` is a
    password reset and no active account signs in with that number. Returns whether a message
    went out. Raises the backend's errors (``SmsTransientError`` is retried by the task)."""
    phone = normalise_phone(phone)
    if purpose == Purpose.PASSWORD_RESET and not _reset_user_of(phone):
        return False
    code = _sms_code_create(phone=phone, purpose=purpose)
    sms_send(SmsMessage.verification(phone=phone, code=code, minutes=settings.SMS_CODE_MINUTES))
    return True


def _reset_user_of(phone: str) -> User | None:
    """The account a reset code for ``phone`` may reset: an active one whose phone was proved
    by an SMS code (at registration, or by an earlier reset). A number only typed in (over the
    API without a code, by centre staff, by an import, or changed since) may be mistyped or
    someone else's: its holder must not be able to take the account; email reset remains."""
    if not phone:
        return None
    return User.objects.filter(phone=phone, is_active=True, phone_verified_at__isnull=False).first()


def sms_codes_purge() -> int:
    """Delete the codes expired more than a day ago (the day keeps the counts of wrong tries
    for anyone looking into abuse); returns how many went."""
    deleted, _details = SmsCode.objects.filter(
        expires_at__lt=timezone.now() - timedelta(days=1)
    ).delete()
    return deleted


# --- Checking ---------------------------------------------------------------------------------


def sms_code_match(*, phone: str, purpose: str, code: str) -> SmsCode | None:
    """The live code of ``phone`` for ``purpose`` if ``code`` is it; a wrong code counts as one
    try (committed at once, so that a refusal later in the request does not undo it). The
    code is not used up here: :func:`sms_code_use` does that, with the work it allows."""
    index = phone_index(phone)
    code = (code or "").strip()
    with transaction.atomic():
        latest = (
            SmsCode.objects.select_for_update()
            .filter(phone_index=index, purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
        if (
            latest is None
            or latest.used_at is not None
            or latest.expires_at <= timezone.now()
            or latest.wrong_tries >= settings.SMS_CODE_MAX_WRONG_TRIES
        ):
            return None
        expected = _code_hash(index=index, purpose=purpose, code=code)
        if len(code) == 6 and code.isdigit() and hmac.compare_digest(expected, latest.code_hash):
            return latest
        latest.wrong_tries += 1
        latest.save(update_fields=["wrong_tries"])
        return None


def sms_code_use(*, sms_code: SmsCode) -> None:
    """Use ``sms_code`` up, inside the caller's transaction; refuses one used meanwhile (two
    requests with the same code: the second loses here)."""
    used = SmsCode.objects.filter(pk=sms_code.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not used:
        raise ValidationError({"code": CODE_NOT_VALID})


def password_reset_by_sms(*, phone: str, code: str, password: str) -> User:
    """Set a new password for the account that signs in with ``phone``, given the code sent to
    it. A wrong code and an unknown number get the same refusal. Proving the phone this way
    also marks it verified. (Not one transaction: a wrong try must stay counted.)"""
    phone = normalise_phone(phone)
    sms_code = sms_code_match(phone=phone, purpose=Purpose.PASSWORD_RESET, code=code)
    user = _reset_user_of(phone)
    if sms_code is None or user is None:
        raise ValidationError({"code": CODE_NOT_VALID})
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from exc
    with transaction.atomic():
        sms_code_use(sms_code=sms_code)
        user.set_password(password)
        user.phone_verified_at = user.phone_verified_at or timezone.now()
        user.save(update_fields=["password", "phone_verified_at"])
    return user


def personal_account_register_by_phone(*, code: str, **fields: Any) -> LearningAccount:
    """Open a personal learning account (``personal_account_register``'s fields) once the
    code sent to its phone is entered: the phone is verified from the start. A wrong code
    refuses before anything else is looked at, so that only the holder of the phone learns
    whether its number or identity already has an account; the code stays usable when the
    registration is refused for another field."""
    phone = normalise_phone(fields["phone"])
    sms_code = sms_code_match(phone=phone, purpose=Purpose.REGISTER, code=code)
    if sms_code is None:
        raise ValidationError({"code": CODE_NOT_VALID})
    with transaction.atomic():
        account = personal_account_register(**fields, phone_verified=True)
        sms_code_use(sms_code=sms_code)
    return account
