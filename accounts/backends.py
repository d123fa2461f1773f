from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest


class IdentifierBackend(ModelBackend):
    """Sign in with any one identifier: the username (a learner's is the learning account
    number), the email address or the mobile phone number."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if not username or password is None:
            return None
        identifier = username.strip()
        if not identifier:
            return None
        matches = list(
            user_model._default_manager.alias(email_lower=Lower("email")).filter(
                Q(username=identifier)
                | Q(username=identifier.upper())
                | Q(email_lower=identifier.lower())
                | Q(phone=identifier.replace(" ", "").replace("-", ""))
            )[:2]
        )
        if len(matches) != 1:
            # Hash the password anyway, so that the time taken does not tell an attacker
            # whether the identifier exists.
            user_model().set_password(password)
            return None
        user = matches[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
