from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.signin.mfa import second_factor_required, totp_device_of

# Paths a signed-in user may reach before giving the second factor.
OPEN_PREFIXES = ("/mfa/", "/logout/", "/static/", "/i18n/", "/healthz", "/readyz", "/api/")


class SecondFactorMiddleware:
    """Pages refuse a staff session that has not given its second factor: it is sent to enter a
    code, or to set up an authenticator first. (The API asks for the code at token time.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            second_factor_required(user)
            and not user.is_verified()  # type: ignore[union-attr]
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            target = "mfa-verify" if totp_device_of(user) else "mfa-setup"  # type: ignore[arg-type]
            return redirect(reverse(target) + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)
