"""The second factor (TOTP, RFC 6238) that staff and institution administrators sign in with.

Devices, replay protection (a code is accepted once) and throttling of wrong codes come from
django-otp; this module decides who needs one and wraps enrolment and verification.
"""

from __future__ import annotations

from typing import Any

import segno
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.core.models import STAFF_ROLES, User


def second_factor_required(user: Any) -> bool:
    """Everyone who acts on other people's records: all roles but the learner, and anyone who
    may use the admin site whatever their role."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.role in STAFF_ROLES or user.is_staff or user.is_superuser)
    )


def totp_device_of(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """An unconfirmed device whose key the user scans; reused until confirmed, so reloading the
    page does not invalidate a code already set up in the app."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(scale=4, title="TOTP")


def totp_secret_base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def totp_enrolment_confirm(*, user: User, device: TOTPDevice, code: str) -> bool:
    """Confirm the device with a first code; any older confirmed device is replaced."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if not device.verify_token(_clean(code)):
        return False
    replaced, _ = (
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    if replaced:
        # A new phone: API tokens issued with the old one stop working.
        AuthToken.objects.filter(user=user).delete()
    return True


def totp_verify(*, user: User, code: str) -> TOTPDevice | None:
    """The user's device when ``code`` is a fresh valid code for it, else None."""
    device = totp_device_of(user)
    if device is None:
        return None
    # A row lock: two requests with the same code must not both pass the replay check.
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        return device if device.verify_token(_clean(code)) else None


def mark_verified(request: Any, device: TOTPDevice) -> None:
    otp_login(request, device)


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isdigit())
