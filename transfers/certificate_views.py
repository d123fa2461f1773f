"""Pages of certificates: the learner's list with the request form and downloads, and the public
verification page ``/verify/<serial>/`` that the QR code on every certificate points to."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import RoleRequiredMixin
from common.forms import DateInput, form_errors_apply
from common.http import SignedInRequest
from common.replicas import replica_reads

from .certificate_api import MISTYPED, VerifyThrottle, credential_response, pdf_response
from .certificates.content import DEFAULT_DISCLOSE, DISCLOSABLE
from .certificates.issuing import (
    certificate_of_owner,
    certificate_request,
    certificates_of,
    transfer_record_address_renew,
    transfer_record_published,
)
from .certificates.linked_data import controller_document
from .certificates.serials import Reading, Typo, serial_mistyped, serial_read, serial_typo
from .certificates.status_list import (
    decision_status_list_credential,
    decision_status_list_exists,
    status_list_credential,
    status_list_exists,
)
from .certificates.verification import certificate_verify, revocation_reason_display
from .models import Certificate

# While a certificate is being made the list reloads itself this often (seconds).
POLL_SECONDS = 3


class CertificateRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of certificate"),
        choices=Certificate.Kind.choices,
        initial=Certificate.Kind.HOURS_CERTIFICATE,
        help_text=gettext_lazy(
            "A transfer record is for taking your accredited results to another credit bank; "
            "only a certificate of learning hours covers a period."
        ),
        # static/js/certificates.js turns the period off for the kinds without one.
        widget=forms.Select(attrs={"data-period-kind": Certificate.Kind.HOURS_CERTIFICATE}),
    )
    period_from = forms.DateField(
        label=gettext_lazy("Period from"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("For a certificate of learning hours: the first day counted."),
    )
    period_to = forms.DateField(
        label=gettext_lazy("Period to"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("The last day counted (today at the latest)."),
    )
    disclose = forms.MultipleChoiceField(
        label=gettext_lazy("Shown to whoever verifies it"),
        choices=list(DISCLOSABLE.items()),
        initial=list(DEFAULT_DISCLOSE),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "The verification page always shows the kind, period, totals and whether the "
            "certificate is genuine and current; tick what else it may show."
        ),
    )


class CertificateListPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)
    template_name = "transfers/certificates.html"

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        today = timezone.localdate()
        form = CertificateRequestForm(
            initial={"period_from": datetime.date(today.year, 1, 1), "period_to": today}
        )
        return self._render(request, form)

    def post(self, request: SignedInRequest[User]) -> HttpResponse:
        form = CertificateRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                certificate = certificate_request(
                    account=learning_account_required(user=request.user),
                    actor=request.user,
                    kind=data["kind"],
                    period_from=data["period_from"],
                    period_to=data["period_to"],
                    disclose=data["disclose"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _("Your certificate %(serial)s is being prepared.")
                    % {"serial": certificate.serial},
                )
                return redirect("certificates")
        return self._render(request, form, status=400)

    def _render(
        self, request: SignedInRequest[User], form: forms.Form, status: int = 200
    ) -> HttpResponse:
        certificates = list(
            certificates_of(account=learning_account_required(user=request.user))[:50]
        )
        for certificate in certificates:
            if certificate.kind == Certificate.Kind.TRANSFER_RECORD and certificate.file_token:
                # The whole address, for the learner to copy into the other bank's form.
                address = reverse("transfer-record-public", args=[certificate.file_token])
                certificate.public_address = request.build_absolute_uri(address)  # type: ignore[attr-defined]
        context: dict[str, Any] = {
            "form": form,
            "certificates": certificates,
            "poll_seconds": POLL_SECONDS
            if any(c.state == Certificate.State.REQUESTED for c in certificates)
            else None,
        }
        return render(request, self.template_name, context, status=status)


class CertificatePdfDownload(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User], serial: str) -> HttpResponseBase:
        certificate = certificate_of_owner(user=request.user, serial=serial)
        if certificate is None:
            raise Http404
        return pdf_response(certificate)


class CertificateCredentialDownload(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User], serial: str) -> HttpResponseBase:
        certificate = certificate_of_owner(user=request.user, serial=serial)
        if certificate is None:
            raise Http404
        return credential_response(certificate)


class TransferRecordAddressRenew(RoleRequiredMixin, View):
    """POST: the transfer record's public address and claim code are replaced; the old ones
    stop working."""

    allowed_roles = (Role.LEARNER,)

    def post(self, request: SignedInRequest[User], serial: str) -> HttpResponseBase:
        try:
            certificate = transfer_record_address_renew(user=request.user, serial=serial)
        except ValidationError as exc:
            raise Http404 from exc
        messages.success(
            request,
            _(
                "The transfer record %(serial)s has a new address and a new claim code; the old "
                "ones no longer work. Give the new ones only to the credit bank you move to."
            )
            % {"serial": certificate.serial},
        )
        return redirect("certificates")


@replica_reads
def verify_page(request: HttpRequest, serial: str) -> HttpResponse:
    """Public: anyone who holds a serial (or scanned the QR code) sees whether the certificate
    is genuine and current. Every serial naming no issued certificate gets the same page."""
    if not VerifyThrottle.page_allowed(request):
        return _verify_render(request, {"throttled": True}, status=429)
    verification = certificate_verify(serial=serial)
    context: dict[str, Any] = {"verification": verification, "bank": bank_identity()}
    if verification is None and serial_mistyped(serial):
        context.update(_mistyped(serial))
    if verification is not None and verification.revoked:
        context["revocation_reason"] = revocation_reason_display(
            verification.revocation_reason_code
        )
    status = 200 if verification is not None else 400 if "mistyped" in context else 404
    return _verify_render(request, context, status=status)


def _verify_render(request: HttpRequest, context: dict[str, Any], *, status: int) -> HttpResponse:
    response = render(request, "transfers/verify.html", context, status=status)
    # It may show the learner's name and the list of their outcomes, and it says whether the
    # certificate is revoked now: no browser or proxy keeps it (the middleware only marks
    # signed-in requests, and a verifier is not signed in).
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def bank_identity() -> dict[str, str]:
    """Who issues the certificates: the bank's name in the page's language (and both), its
    address and contact (settings BANK_*)."""
    chinese = get_language() in (None, "") or str(get_language()).startswith("zh")
    return {
        "name": settings.BANK_NAME_ZH if chinese else settings.BANK_NAME_EN,
        "name_zh": settings.BANK_NAME_ZH,
        "name_en": settings.BANK_NAME_EN,
        "address": settings.BANK_ADDRESS,
        "contact": settings.BANK_CONTACT,
    }


MISTYPED_RIGHT_LENGTH = gettext_lazy("This number has a typo. Check it against the certificate.")


def _mistyped(typed: str) -> dict[str, Any]:
    """The typo message for ``typed``, and where it looks wrong when its groups can say."""
    context: dict[str, Any] = {"mistyped": MISTYPED, "typed": typed}
    typo = serial_typo(typed)
    if typo is not None:
        if typo.kind in ("changed", "last"):
            # Every group has its length: the hint says so, and this line must not speak of a
            # missing or extra character.
            context["mistyped"] = MISTYPED_RIGHT_LENGTH
        context["typo_hint"] = typo_explained(typo)
    return context


def typo_explained(typo: Typo) -> str:
    """Where a mistyped serial looks wrong, in words (see :class:`Typo`)."""
    values = {"number": typo.group, "group": typo.typed_group}
    if typo.kind == "missing" and typo.group:
        return (
            _(
                "Group %(number)s (“%(group)s”) is one character short: each group has 4 "
                "characters, the last one 2."
            )
            % values
        )
    if typo.kind == "missing":
        return _("One character is missing: a serial number has 18 characters, 4-4-4-4-2.")
    if typo.kind == "extra" and typo.group:
        return (
            _(
                "Group %(number)s (“%(group)s”) has one character too many: each group has 4 "
                "characters, the last one 2."
            )
            % values
        )
    if typo.kind == "extra":
        return _("There is one character too many: a serial number has 18 characters, 4-4-4-4-2.")
    if typo.kind == "last":
        return (
            _("The last group (“%(group)s”) ends in a character no serial number ends in.") % values
        )
    return _(
        "Every group has the right length, so one character is wrong or two side by side are "
        "swapped; the check character cannot tell which group. Compare each group with the "
        "certificate: 8 and B, 5 and S, 2 and Z, 6 and G look alike."
    )


def controller_document_view(request: HttpRequest) -> JsonResponse:
    """Public: the bank's DID document (``did:web`` of the portal's host), naming the keys its
    credentials are signed with as Multikeys; verifiers resolve the credentials' issuer here."""
    response = JsonResponse(controller_document(), content_type="application/did+json")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def status_list_view(request: HttpRequest, number: int) -> JsonResponse:
    """Public: a signed Bitstring Status List credential (which credentials are revoked)."""
    if not status_list_exists(number=number):
        raise Http404
    return _status_list_response(status_list_credential(number=number))


def transfer_record_view(request: HttpRequest, token: uuid.UUID) -> JsonResponse:
    """Public, for the learner's next bank to fetch: an issued transfer record by the
    unguessable token only its holder is shown (not by the serial printed on it; ADR 0022)."""
    certificate = transfer_record_published(token=token)
    if certificate is None:
        raise Http404
    response = credential_response(certificate)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def decision_status_list_view(request: HttpRequest, number: int) -> JsonResponse:
    """Public: the signed status list of accreditations a transfer record names (ADR 0022)."""
    if not decision_status_list_exists(number=number):
        raise Http404
    return _status_list_response(decision_status_list_credential(number=number))


def _status_list_response(credential: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(credential, content_type="application/vc+ld+json")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def verify_lookup(request: HttpRequest) -> HttpResponse:
    """The form on the verification page: type a serial, go to its page."""
    serial = (request.GET.get("serial") or "").strip()
    if not serial or "/" in serial:
        return _verify_render(request, {"lookup": True}, status=200)
    reading, canonical = serial_read(serial)
    if reading is Reading.TYPO:
        return _verify_render(request, {"lookup": True, **_mistyped(serial)}, status=400)
    # A serial typed in lower case, with spaces or O for 0 goes to its printed form's page.
    return redirect("certificate-verify", serial=canonical or serial)
