"""Sign-in operations: API tokens, the email that lets a learner opened at a centre choose
a password, and the email and phone a user signs in with (free of other users, changed by the
learner)."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from accounts.core.models import User
from accounts.ledger.models import BusinessTransaction
from accounts.ledger.services import learning_account_of, transaction_record
from accounts.notifications.services import portal_url
from accounts.validators import normalise_phone

logger = logging.getLogger(__name__)


def api_token_create(*, user: User) -> tuple[str, datetime | None]:
    """Issue an API token for ``user``; returns the token and its expiry. Only a hash of the
    token is stored, so a leaked database does not leak working tokens."""
    instance, token = AuthToken.objects.create(user=user)
    return token, instance.expiry


def api_tokens_purge_expired() -> int:
    """Delete API tokens past their expiry; returns how many went."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted


def _password_link_send(*, user: User, template: str) -> bool:
    """Email ``user`` the one-time link to choose a password (the reset mechanism: the same
    token, expiry and page) with ``template``'s subject and text. The link is on the portal's
    own address (PORTAL_URL), never on the host a request happened to name; False, and nothing
    sent, when no address is configured."""
    address = urlsplit(portal_url())
    if not address.netloc:
        logger.error("no password link sent: set PORTAL_URL (or a named ALLOWED_HOSTS)")
        return False
    domain = address.netloc + address.path.rstrip("/")
    context = {
        "email": user.email,
        "domain": domain,
        "site_name": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": address.scheme or "https",
    }
    PasswordResetForm().send_mail(
        f"registration/{template}_subject.txt",
        f"registration/{template}_email.txt",
        context,
        None,
        user.email,
    )
    return True


def password_setup_email_send(*, user: User) -> bool:
    """Email a learner who has no password yet (opened at a centre) the link to choose one."""
    return _password_link_send(user=user, template="account_opened")


def password_reset_users(*, email: str) -> list[User]:
    """The active users a reset link for ``email`` goes to: Django's rule, also for accounts
    with no password yet (opened at a centre or imported by an institution: the emailed link is
    how they choose one). The database match is case-insensitive; comparing the casefolded
    forms again, as Django does, refuses look-alike addresses such as "ß" for "ss"."""
    same = unicodedata.normalize("NFKC", email).casefold()
    return [
        user
        for user in User.objects.filter(email__iexact=email, is_active=True)
        if unicodedata.normalize("NFKC", user.email).casefold() == same
    ]


def password_reset_emails_send(*, email: str) -> int:
    """Email the one-time link to choose a new password to the users of ``email`` (run by a
    worker, so that the page answers the same, as fast, whether the address has an account);
    returns how many were sent. The link is on the portal's own address (PORTAL_URL), never on
    the host a request happened to name."""
    users = password_reset_users(email=email)
    return sum(_password_link_send(user=user, template="password_reset") for user in users)


# --- The email and phone a user signs in with ------------------------------------------------


def sign_in_identifiers_check(*, email: str, phone: str, user: User | None = None) -> None:
    """Email and phone are sign-in identifiers: refuse ones another user already has."""
    others = User.objects.exclude(pk=user.pk) if user is not None else User.objects.all()
    errors: dict[str, Any] = {}
    if email and others.alias(e=Lower("email")).filter(e=email.lower()).exists():
        errors["email"] = _("This email address is already used by another account.")
    if phone and others.filter(phone=phone).exists():
        errors["phone"] = _("This mobile phone number is already used by another account.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def contact_details_change(*, user: User, email: str, phone: str, password: str) -> list[str]:
    """The learner changes the email or phone they sign in with, confirming with their
    password; returns the fields changed. Identity details change only at a centre."""
    if not user.check_password(password):
        raise ValidationError({"password": _("The password is not correct.")})
    email, phone = email.strip(), normalise_phone(phone)
    changed = [
        field for field, new in (("email", email), ("phone", phone)) if new != getattr(user, field)
    ]
    sign_in_identifiers_check(email=email, phone=phone, user=user)
    if not changed:
        return []
    user.email, user.phone = email, phone
    fields = list(changed)
    if "phone" in changed:
        # The new number is not proved yet.
        user.phone_verified_at = None
        fields.append("phone_verified_at")
    try:
        with transaction.atomic():
            user.save(update_fields=fields)
    except IntegrityError:
        # Someone else took the address or number between the check above and this save.
        sign_in_identifiers_check(email=email, phone=phone, user=user)
        raise
    account = learning_account_of(user=user)
    if account is not None:
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.DETAILS_CHANGED,
            actor=user,
            # Which details changed, not their values: the history is no place for them.
            details={"changed": changed},
        )
    return changed
