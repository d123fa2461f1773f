"""Typed requests for views that only signed-in users reach.

Django types ``request.user`` as "a user or the anonymous user"; a view behind a sign-in check
knows better. ``SignedInRequest[User]`` says so once, in the view's signature, instead of a
``cast`` or a private ``_user(request)`` helper in each module. It is a type only: at run time
the request is Django's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from rest_framework.request import Request

UserT = TypeVar("UserT", bound=AbstractBaseUser)

if TYPE_CHECKING:

    class SignedInRequest(HttpRequest, Generic[UserT]):
        user: UserT  # type: ignore[assignment]

    class SignedInApiRequest(Request, Generic[UserT]):
        user: UserT  # type: ignore[assignment]

else:

    class SignedInRequest(HttpRequest, Generic[UserT]):
        pass

    class SignedInApiRequest(Request, Generic[UserT]):
        pass
