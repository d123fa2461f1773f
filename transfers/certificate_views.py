"""Pages of certificates: the learner's list with the request form and downloads, and the public
verification page ``/verify/<serial>/`` that the QR code on every certificate points to."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import RoleRequiredMixin
from common.forms import form_errors_apply
from common.http import SignedInRequest

from .certificate_api import MISTYPED, credential_response, pdf_response, verify_allowed
from .certificates.content import DEFAULT_DISCLOSE, DISCLOSABLE
from .certificates.issuing import certificate_of_owner, certificate_request, certificates_of
from .certificates.linked_data import controller_document
from .certificates.serials import Reading, serial_mistyped, serial_read
from .certificates.status_list import status_list_credential, status_list_exists
from .certificates.verification import certificate_verify, revocation_reason_display
from .models import Certificate

# While a certificate is being made the list reloads itself this often (seconds).
POLL_SECONDS = 3


class CertificateRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of certificate"),
        choices=Certificate.Kind.choices,
        initial=Certificate.Kind.HOURS_CERTIFICATE,
    )
    period_from = forms.DateField(
        label=gettext_lazy("Period from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("For a certificate of learning hours: the first day counted."),
    )
    period_to = forms.DateField(
        label=gettext_lazy("Period to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
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


def verify_page(request: HttpRequest, serial: str) -> HttpResponse:
    """Public: anyone who holds a serial (or scanned the QR code) sees whether the certificate
    is genuine and current. Every serial naming no issued certificate gets the same page."""
    if not verify_allowed(request):
        return render(request, "transfers/verify.html", {"throttled": True}, status=429)
    verification = certificate_verify(serial=serial)
    context: dict[str, Any] = {"verification": verification}
    if verification is None and serial_mistyped(serial):
        context.update(mistyped=MISTYPED, typed=serial)
    if verification is not None and verification.revoked:
        context["revocation_reason"] = revocation_reason_display(
            verification.revocation_reason_code
        )
    status = 200 if verification is not None else 400 if "mistyped" in context else 404
    return render(request, "transfers/verify.html", context, status=status)


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
    response = JsonResponse(
        status_list_credential(number=number), content_type="application/vc+ld+json"
    )
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def verify_lookup(request: HttpRequest) -> HttpResponse:
    """The form on the verification page: type a serial, go to its page."""
    serial = (request.GET.get("serial") or "").strip()
    if not serial or "/" in serial:
        return render(request, "transfers/verify.html", {"lookup": True})
    reading, canonical = serial_read(serial)
    if reading is Reading.TYPO:
        context = {"lookup": True, "mistyped": MISTYPED, "typed": serial}
        return render(request, "transfers/verify.html", context, status=400)
    # A serial typed in lower case, with spaces or O for 0 goes to its printed form's page.
    return redirect("certificate-verify", serial=canonical or serial)
