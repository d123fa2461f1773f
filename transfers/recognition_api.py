"""``POST /api/v1/recognitions/``: the learner brings a transfer record from another credit
bank, as a file (multipart, field ``file``) or by its address (``url``); the answer says what
was recognised, what was saved to submit and what the origin has revoked."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import HasRole
from accreditation.models import Decision
from common.http import SignedInApiRequest
from common.parsers import DepthLimitedJSONParser
from outcomes.storage import upload_of

from .certificate_api import LiveRateThrottle
from .certificates.transfer_records import MAX_BYTES
from .idempotency import IDEMPOTENCY_PARAMETER, idempotent
from .recognitions import recognition_import


class RecognitionThrottle(LiveRateThrottle):
    """Records brought for recognition, per learner (``THROTTLE_RECOGNITION_RATE``): each costs
    signature checks and fetches from another bank; the page counts with the API."""

    rate_scope = "recognition"


class RecognitionRequestSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False, help_text=_("The transfer record's JSON credential (multipart).")
    )
    url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=_("Or its public address (https; read once, size- and time-limited)."),
    )
    claim_code = serializers.CharField(
        max_length=40,
        help_text=_(
            "The record's claim code, which its issuing bank shows only to its holder "
            "(16 characters; hyphens and spaces are ignored)."
        ),
    )


class RecognisedSerializer(serializers.Serializer):
    decision = serializers.IntegerField(source="pk")
    application = serializers.IntegerField(source="application_id")
    outcome = serializers.IntegerField(source="application.outcome_id")
    title = serializers.CharField(source="application.outcome.title")
    hours = serializers.DecimalField(max_digits=7, decimal_places=1)
    credits = serializers.DecimalField(max_digits=5, decimal_places=1)
    origin_bank = serializers.CharField(source="origin_bank.name")
    origin_issuer = serializers.CharField(source="origin_bank.issuer")
    origin_decision_id = serializers.CharField()
    origin_entry_code = serializers.CharField()
    origin_entry_version = serializers.CharField()
    origin_centre = serializers.CharField()
    origin_decided_on = serializers.DateField()
    agreement_code = serializers.CharField(source="agreement_version.agreement.origin_code")
    agreement_version = serializers.IntegerField(source="agreement_version.version")


class SavedSerializer(serializers.Serializer):
    outcome = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, outcome: Any) -> str:
        return reverse("api-outcome", kwargs={"pk": outcome.pk})


class RevokedSerializer(serializers.Serializer):
    title = serializers.CharField()
    entry_code = serializers.CharField()
    origin_decision_id = serializers.CharField()


class RecognitionResultSerializer(serializers.Serializer):
    issuer_name = serializers.CharField()
    recognised = RecognisedSerializer(many=True, source="booked")
    saved = SavedSerializer(many=True, help_text=_("Outcomes no agreement covers: submit them."))
    revoked = RevokedSerializer(many=True, help_text=_("Revoked by the origin: not recognised."))


class RecognitionImportView(APIView):
    permission_classes = [HasRole.of(Role.LEARNER)]
    parser_classes = [MultiPartParser, FormParser, DepthLimitedJSONParser]
    throttle_classes = [RecognitionThrottle]

    @extend_schema(
        # One media type per operation (the API contract): multipart, since a file may go
        # up; a JSON body with ``url`` alone is read as well.
        request={"multipart/form-data": RecognitionRequestSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: RecognitionResultSerializer},
    )
    @idempotent
    def post(self, request: SignedInApiRequest[User]) -> Response:
        """Recognise a transfer record from another credit bank on the trust list: verified
        (signature, issuer, each outcome's status) and booked in one go; covered outcomes are
        accredited by recognition with their provenance, the others saved to submit. A
        forged, tampered, untrusted, revoked, malformed or already imported record is refused
        with 400 under ``file`` or ``url``; a missing or wrong claim code (or a record of
        another person) under ``claim_code``; and nothing is written."""
        body = RecognitionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        uploaded = body.validated_data.get("file")
        upload = upload_of(uploaded, limit=MAX_BYTES) if uploaded else None
        result = recognition_import(
            account=learning_account_required(user=request.user),
            actor=request.user,
            upload=upload,
            url=body.validated_data.get("url", ""),
            claim_code=body.validated_data["claim_code"],
        )
        booked = list(
            Decision.objects.filter(pk__in=[d.pk for d in result.booked])
            .select_related("application__outcome", "origin_bank", "agreement_version__agreement")
            .order_by("pk")
        )
        data = RecognitionResultSerializer(
            {
                "issuer_name": result.issuer_name,
                "booked": booked,
                "saved": result.saved,
                "revoked": result.revoked,
            }
        ).data
        return Response(data, status=status.HTTP_201_CREATED)
