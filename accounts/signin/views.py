from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from accounts.signin.forms import (
    ContactDetailsForm,
    OneTimeCodeForm,
    RegistrationForm,
    SmsResetConfirmForm,
    SmsResetRequestForm,
)
from accounts.signin.mfa import (
    mark_verified,
    totp_device_of,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_qr_svg,
    totp_secret_base32,
    totp_verify,
)
from accounts.signin.models import SmsCode
from accounts.signin.services import contact_details_change
from accounts.signin.sms import mask_phone
from accounts.signin.sms_codes import (
    TOO_MANY_CODES,
    password_reset_by_sms,
    personal_account_register_by_phone,
    sms_code_allowed,
    sms_code_queue,
)
from accounts.validators import normalise_phone
from common.forms import form_errors_apply


@sensitive_post_parameters("id_number", "password1", "password2", "code")
def register(request: HttpRequest) -> HttpResponse:
    """Open a personal learning account online; the lifelong learning file comes with it.

    The phone is proved by an SMS code before the account opens: "Send the code" (the
    ``action=send_code`` button) sends it and shows the form again as typed, with only the
    phone's own problems; "Open my account" checks the code and opens the account."""
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "minutes": settings.SMS_CODE_MINUTES}
    if request.method == "POST" and request.POST.get("action") == "send_code":
        form.is_valid()
        for name in [name for name in form.errors if name != "phone"]:
            del form.errors[name]
        if "phone" not in form.errors:
            phone = form.cleaned_data["phone"]
            if _sms_code_request(request, phone=phone, purpose=SmsCode.Purpose.REGISTER):
                context["code_sent_to"] = mask_phone(normalise_phone(phone))
            else:
                form.add_error("phone", TOO_MANY_CODES)
        return render(request, "accounts/register.html", context)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = personal_account_register_by_phone(
                code=data["code"],
                name=data["name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                phone=data["phone"],
                email=data["email"] or "",
                password=data["password1"],
            )
        except ValidationError as exc:
            form_errors_apply(form, exc, {"password": "password1"})
        else:
            login(request, account.holder, backend="accounts.backends.IdentifierBackend")
            messages.success(
                request,
                _(
                    "Your learning account %(number)s is open and you are signed in. Next time, "
                    "sign in with this number or your mobile phone."
                )
                % {"number": account.number},
            )
            return redirect("learning-file")
    return render(request, "accounts/register.html", context)


def _sms_code_request(request: HttpRequest, *, phone: str, purpose: str) -> bool:
    """Queue a code for ``phone`` unless a throttle refuses; the worker decides whether it
    goes (the answer is the same for a number with or without an account)."""
    if not sms_code_allowed(request=request, phone=phone):
        return False
    sms_code_queue(
        phone=phone,
        purpose=purpose,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    return True


SMS_RESET_PHONE = "sms_reset_phone"


def password_reset_sms(request: HttpRequest) -> HttpResponse:
    """Reset by SMS, step 1: the phone number. The same answer whether or not an account signs
    in with it; the number is kept in the session for step 2."""
    form = SmsResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = normalise_phone(form.cleaned_data["phone"])
        if _sms_code_request(request, phone=phone, purpose=SmsCode.Purpose.PASSWORD_RESET):
            request.session[SMS_RESET_PHONE] = phone
            return redirect("password_reset_sms_confirm")
        form.add_error("phone", TOO_MANY_CODES)
    return render(
        request,
        "registration/password_reset_sms.html",
        {"form": form, "minutes": settings.SMS_CODE_MINUTES},
    )


@sensitive_post_parameters("code", "new_password1", "new_password2")
def password_reset_sms_confirm(request: HttpRequest) -> HttpResponse:
    """Reset by SMS, step 2: the code and the new password."""
    phone = request.session.get(SMS_RESET_PHONE, "")
    form = SmsResetConfirmForm(request.POST or None, initial={"phone": phone})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            password_reset_by_sms(
                phone=data["phone"], code=data["code"], password=data["new_password1"]
            )
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            request.session.pop(SMS_RESET_PHONE, None)
            return redirect("password_reset_complete")
    context = {
        "form": form,
        "sent_to": mask_phone(phone) if phone else "",
        "minutes": settings.SMS_CODE_MINUTES,
    }
    return render(request, "registration/password_reset_sms_confirm.html", context)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the code, then type the first code it shows.

    Only a user without an authenticator may set one up on a password alone. Replacing an
    existing authenticator needs a session that already gave its second factor: otherwise
    anyone holding a staff member's password could enrol their own phone instead.
    """
    user = request.user
    if totp_device_of(user) is not None and not user.is_verified():  # type: ignore[union-attr,arg-type]
        return redirect(reverse("mfa-verify") + "?" + urlencode({"next": _safe_next(request)}))
    device = totp_enrolment_start(user=user)  # type: ignore[arg-type]
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp_enrolment_confirm(user=user, device=device, code=form.cleaned_data["code"]):  # type: ignore[arg-type]
            device.refresh_from_db()
            mark_verified(request, device)
            messages.success(request, _("Two-factor sign-in is set up."))
            return redirect(_safe_next(request))
        form.add_error(
            "code",
            _("That code is not valid. Check the time on your phone and try the newest code."),
        )
    context = {
        "form": form,
        "qr_svg": totp_qr_svg(device),
        "secret": totp_secret_base32(device),
        "next": _safe_next(request),
    }
    return render(request, "accounts/mfa_setup.html", context)


@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step of a staff sign-in: a code from the authenticator app."""
    if totp_device_of(request.user) is None:  # type: ignore[arg-type]
        return redirect(reverse("mfa-setup") + "?" + urlencode({"next": _safe_next(request)}))
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = totp_verify(user=request.user, code=form.cleaned_data["code"])  # type: ignore[arg-type]
        if device is not None:
            mark_verified(request, device)
            return redirect(_safe_next(request))
        form.add_error(
            "code", _("That code is not valid or was already used. Try the newest code.")
        )
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": _safe_next(request)})


def form_page(view: Any, title: Promise, intro: Promise, submit: Promise, **kwargs: Any) -> Any:
    return view.as_view(
        template_name="registration/form_page.html",
        extra_context={"title": title, "intro": intro, "submit": submit},
        **kwargs,
    )


def message_page(view: Any, title: Promise, message: Promise) -> Any:
    return view.as_view(
        template_name="registration/message_page.html",
        extra_context={"title": title, "message": message},
    )


@login_required
@sensitive_post_parameters("password")
def contact_details(request: HttpRequest) -> HttpResponse:
    """Change the email and phone used to sign in. Name and identity are changed only at a
    centre, where the document is seen."""
    user = request.user
    form = ContactDetailsForm(
        request.POST or None,
        initial={"email": user.email, "phone": user.phone},  # type: ignore[union-attr]
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = contact_details_change(user=user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            if changed:
                messages.success(request, _("Your contact details are saved."))
            return redirect("learning-file" if user.role == "learner" else "home")  # type: ignore[union-attr]
    return render(request, "accounts/contact_details.html", {"form": form})
