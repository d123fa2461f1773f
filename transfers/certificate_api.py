"""API of certificates: the learner requests and downloads theirs; anyone verifies one by its
serial and reads the public signing key.

A learner sees only their own certificates: anyone else's serial is a 404, like an unknown one.
Verification answers every serial that names no issued certificate with the same 404 and the
same body, and is throttled per address.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import learning_account_required, portal_url
from accounts.signin.permissions import HasRole
from common.http import SignedInApiRequest
from common.replicas import replica_reads

from .certificates.content import DISCLOSABLE
from .certificates.issuing import certificate_of_owner, certificate_request, certificates_of
from .certificates.pades import pdf_trust_roots_pem
from .certificates.serials import serial_mistyped
from .certificates.signing import signing_key_public
from .certificates.verification import Verification, certificate_verify, revocation_reason_display
from .idempotency import IDEMPOTENCY_PARAMETER, idempotent
from .models import Certificate

NOT_FOUND = _("No certificate has this serial number.")
MISTYPED = _(
    "This number has a typo: a character is wrong, missing or extra. "
    "Check it against the certificate."
)


class LiveRateThrottle(ScopedRateThrottle):
    """A per-user (per address when signed out) limit whose rate, under ``rate_scope`` in
    ``DEFAULT_THROTTLE_RATES``, is read at each request, so a test or an operator can change it
    without a restart; a missing rate means no limit."""

    rate_scope = ""

    def __init__(self) -> None:
        self.scope = self.rate_scope

    def allow_request(self, request: Any, view: Any) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.rate_scope)
        self.rate = str(rate) if rate else None
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return super(ScopedRateThrottle, self).allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        user = getattr(request, "user", None)
        ident = user.pk if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    @classmethod
    def page_allowed(cls, request: HttpRequest) -> bool:
        """The same limit for a page as for the API it stands beside (one cache counter)."""
        return cls().allow_request(request, None)


class VerifyThrottle(LiveRateThrottle):
    """Verification by serial, per address (per user when signed in); the public page counts
    with the API."""

    scope_attr = "throttle_scope"
    rate_scope = "certificate_verify"


# --- Serializers --------------------------------------------------------------------------------


class CertificateSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    verify_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()
    credential_url = serializers.SerializerMethodField()
    record_url = serializers.SerializerMethodField()
    claim_code = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "serial",
            "kind",
            "kind_display",
            "period_from",
            "period_to",
            "disclose",
            "state",
            "state_display",
            "requested_at",
            "issued_at",
            "key_id",
            "signature",
            "verify_url",
            "pdf_url",
            "credential_url",
            "record_url",
            "claim_code",
        ]
        read_only_fields = fields

    def get_verify_url(self, certificate: Certificate) -> str:
        return f"/verify/{certificate.serial}/"

    def get_pdf_url(self, certificate: Certificate) -> str | None:
        if not certificate.is_issued:
            return None
        return f"/api/v1/certificates/{certificate.serial}/pdf/"

    def get_credential_url(self, certificate: Certificate) -> str | None:
        if not certificate.is_issued:
            return None
        return f"/api/v1/certificates/{certificate.serial}/credential.json"

    def get_record_url(self, certificate: Certificate) -> str | None:
        """A transfer record's public address, absolute, to give to another bank (ADR 0022);
        None for the other kinds and until issued."""
        if not certificate.is_issued or certificate.kind != Certificate.Kind.TRANSFER_RECORD:
            return None
        return f"{portal_url()}/credentials/records/{certificate.file_token}"

    def get_claim_code(self, certificate: Certificate) -> str | None:
        """A transfer record's claim code, to type beside its address at the other bank
        (shown to its holder only); None for the other kinds and until issued."""
        if not certificate.is_issued or certificate.kind != Certificate.Kind.TRANSFER_RECORD:
            return None
        return certificate.claim_code or None


class CertificateRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Certificate.Kind.choices)
    period_from = serializers.DateField(required=False, allow_null=True, default=None)
    period_to = serializers.DateField(required=False, allow_null=True, default=None)
    disclose = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(DISCLOSABLE)),
        required=False,
        max_length=len(DISCLOSABLE),
    )


class VerificationSerializer(serializers.Serializer):
    serial = serializers.CharField()
    genuine = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["current", "revoked"])
    kind = serializers.CharField()
    kind_display = serializers.CharField()
    issued_on = serializers.CharField()
    period = serializers.DictField(child=serializers.CharField(), allow_null=True)
    totals = serializers.DictField(child=serializers.CharField())
    disclosed = serializers.DictField()
    fingerprint = serializers.CharField()
    key_id = serializers.CharField()
    revoked_on = serializers.CharField(allow_null=True)
    revocation_reason_code = serializers.CharField(allow_null=True)
    revocation_reason = serializers.SerializerMethodField()

    def get_revocation_reason(self, verification: Verification) -> str | None:
        if not verification.revoked:
            return None
        return revocation_reason_display(verification.revocation_reason_code)


class SigningKeySerializer(serializers.Serializer):
    key_id = serializers.CharField()
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the raw 32-byte Ed25519 public key.")
    pem = serializers.CharField()
    pdf_trust_roots_pem = serializers.CharField(
        help_text="PEM of the CA certificate(s) the PAdES signature of certificate PDFs chains "
        "to (for `verify_certificate --pdf-trust-roots`)."
    )


# --- Views --------------------------------------------------------------------------------------


def _own(request: SignedInApiRequest[User], serial: str) -> Certificate:
    certificate = certificate_of_owner(user=request.user, serial=serial)
    if certificate is None:
        raise Http404
    return certificate


# How long a client waits before asking whether a requested certificate is issued (the worker
# makes one in about a second).
RETRY_AFTER_SECONDS = 2


class CertificateListView(APIView):
    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=CertificateSerializer(many=True))
    @replica_reads
    def get(self, request: SignedInApiRequest[User]) -> Response:
        account = learning_account_required(user=request.user)
        return Response(CertificateSerializer(certificates_of(account=account), many=True).data)

    @extend_schema(
        request=CertificateRequestSerializer,
        parameters=[
            IDEMPOTENCY_PARAMETER,
            OpenApiParameter(
                "Location",
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                response=[202],
                description="The certificate's address: GET it until its state is issued.",
            ),
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                location=OpenApiParameter.HEADER,
                response=[202],
                description="Seconds to wait before asking again.",
            ),
        ],
        responses={202: CertificateSerializer},
    )
    @idempotent
    def post(self, request: SignedInApiRequest[User]) -> Response:
        """Request a certificate; it is made by a worker (``state`` is ``requested`` until it is
        ``issued``). While the same kind and period is being made, the same one is returned."""
        serializer = CertificateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        certificate = certificate_request(
            account=learning_account_required(user=request.user),
            actor=request.user,
            kind=data["kind"],
            period_from=data["period_from"],
            period_to=data["period_to"],
            disclose=data.get("disclose"),
        )
        certificate.refresh_from_db()
        return Response(
            CertificateSerializer(certificate).data,
            status=status.HTTP_202_ACCEPTED,
            headers={
                "Location": reverse("api-certificate", kwargs={"serial": certificate.serial}),
                "Retry-After": str(RETRY_AFTER_SECONDS),
            },
        )


class CertificateDetailView(APIView):
    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses=CertificateSerializer)
    def get(self, request: SignedInApiRequest[User], serial: str) -> Response:
        return Response(CertificateSerializer(_own(request, serial)).data)


def pdf_response(certificate: Certificate) -> FileResponse:
    if not certificate.is_issued or not certificate.pdf:
        raise Http404
    return FileResponse(
        default_storage.open(str(certificate.pdf.name), "rb"),
        as_attachment=True,
        filename=f"certificate-{certificate.serial}.pdf",
        content_type="application/pdf",
    )


def credential_response(certificate: Certificate) -> JsonResponse:
    if not certificate.is_issued or not certificate.vc_json:
        raise Http404
    response = JsonResponse(
        certificate.vc_json, json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Content-Disposition"] = (
        f'attachment; filename="certificate-{certificate.serial}.credential.json"'
    )
    return response


class CertificatePdfView(APIView):
    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: SignedInApiRequest[User], serial: str) -> FileResponse:
        return pdf_response(_own(request, serial))


class CertificateCredentialView(APIView):
    permission_classes = [HasRole.of(Role.LEARNER)]

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: SignedInApiRequest[User], serial: str) -> JsonResponse:
        """The certificate as a signed W3C Verifiable Credential / Open Badges 3.0 document."""
        return credential_response(_own(request, serial))


class CertificateVerifyView(APIView):
    """Anyone: whether a certificate is genuine and current, with what its holder disclosed.
    Every serial that names no issued certificate gets the same 404."""

    permission_classes = [AllowAny]
    throttle_classes = [VerifyThrottle]

    @extend_schema(
        responses={
            200: VerificationSerializer,
            400: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
        }
    )
    @replica_reads
    def get(self, request: SignedInApiRequest[User], serial: str) -> Response:
        verification = certificate_verify(serial=serial)
        if verification is None:
            if serial_mistyped(serial):
                # Said from the number alone (its check symbol): nothing about which exist.
                return Response({"serial": [MISTYPED]}, status=status.HTTP_400_BAD_REQUEST)
            return Response({"detail": NOT_FOUND}, status=status.HTTP_404_NOT_FOUND)
        return Response(VerificationSerializer(verification).data)


class SigningKeyView(APIView):
    """Anyone: the public key certificates are signed with, to check them offline."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses=SigningKeySerializer)
    def get(self, request: SignedInApiRequest[User]) -> Response:
        key = signing_key_public()
        published = {
            "key_id": key.key_id,
            "algorithm": key.algorithm,
            "public_key": key.public_key,
            "pem": key.pem,
            "pdf_trust_roots_pem": pdf_trust_roots_pem(),
        }
        return Response(SigningKeySerializer(published).data)
