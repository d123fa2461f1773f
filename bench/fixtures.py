"""Who the HTTP benchmark signs in as, and the URLs it asks for.

Run inside Django (``python -m bench fixtures``) against the seeded database: a learner's
browser session and API token, a reviewer's session that has given its second factor, and one
issued certificate's serial. Sessions are made directly (as the login and TOTP views would
leave them) rather than through the sign-in form, which is throttled and locked out on purpose.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.models import LearningAccount, User
from transfers.models import Certificate

from .seed import account_number

CATALOGUE_QUERY = "教师"


def _session_for(user: User, **extra: Any) -> str:
    # The engine the portal uses (cached_db with Redis), as a sign-in would leave it.
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.IdentifierBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    for key, value in extra.items():
        session[key] = value
    session.create()
    assert session.session_key is not None
    return session.session_key


def bench_fixtures(*, accounts: int) -> dict[str, Any]:
    """Cookies, token and URLs for the endpoints; the learner is seeded person ``accounts//2``
    (a typical one, in the middle of the table)."""
    account = LearningAccount.objects.select_related("holder").get(
        number=account_number(accounts // 2)
    )
    learner = account.holder
    assert learner is not None
    _instance, token = AuthToken.objects.create(user=learner)
    reviewer = User.objects.get(username="reviewer.yuzhong")
    device = TOTPDevice.objects.filter(user=reviewer, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=reviewer, name="bench", confirmed=True)
    reviewer_session = _session_for(reviewer, **{DEVICE_ID_SESSION_KEY: device.persistent_id})
    serial = (
        Certificate.objects.filter(state=Certificate.State.ISSUED)
        .order_by("id")
        .values_list("serial", flat=True)[accounts // 20 if accounts >= 20 else 0]
    )
    return {
        "learner": account.number,
        "learner_cookie": f"{settings.SESSION_COOKIE_NAME}={_session_for(learner)}",
        "learner_token": token,
        "reviewer_cookie": f"{settings.SESSION_COOKIE_NAME}={reviewer_session}",
        "serial": serial,
        "catalogue_query": CATALOGUE_QUERY,
    }
