from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.services import validate_no_identity_number

from .models import EvidenceFile, InstitutionBatch, LearningOutcome, OutcomeKind
from .services import FREE_TEXT_FIELDS, REQUIRED_BY_KIND


class FreeTextChecked(serializers.ModelSerializer):
    """The fields a person writes in their own words refuse an identity number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in FREE_TEXT_FIELDS:
            field = self.fields.get(name)
            if field is not None and not field.read_only:
                field.validators = [*field.validators, validate_no_identity_number]


class EvidenceSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceFile
        fields = ["id", "original_name", "content_type", "size", "uploaded_at", "download"]
        read_only_fields = fields

    def get_download(self, obj: EvidenceFile) -> str:
        return f"/api/v1/evidence/{obj.pk}/download/"


class OutcomeSerializer(FreeTextChecked):
    """An outcome; on create, ``evidence`` carries one or more files (multipart)."""

    evidence = EvidenceSerializer(many=True, read_only=True)
    reported_by = serializers.SerializerMethodField(
        help_text="The institution that reported the outcome for the learner, if any."
    )
    files = serializers.ListField(
        child=serializers.FileField(max_length=200, allow_empty_file=True),
        write_only=True,
        required=False,
        help_text="Evidence files (PDF, JPEG, PNG): repeat the 'files' part for each.",
    )

    class Meta:
        model = LearningOutcome
        fields = [
            "id", "kind", "title", "issuing_body", "certificate_number", "achieved_on",
            "content", "mode", "place", "provider", "started_on", "ended_on", "hours",
            "result", "status", "version", "created_at", "evidence", "reported_by", "files",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "version", "created_at", "evidence"]

    def get_reported_by(self, obj: LearningOutcome) -> str | None:
        if obj.batch is None or obj.batch.collective.institution is None:
            return None
        return obj.batch.collective.institution.name


@extend_schema_field(
    {
        "type": "string",
        "enum": list(OutcomeKind.values),
        "description": "The kind of outcome, as for a learner's outcome.",
    }
)
class BatchKindField(serializers.ChoiceField):
    """The outcome kind, described inline in the schema: the same choice set under the same
    field name in a second component would otherwise collide with the other ``kind`` enums."""


class BatchUploadSerializer(FreeTextChecked):
    """The programme's description, the member list (``file``) and the shared evidence
    (``evidence``, repeated)."""

    kind = BatchKindField(choices=OutcomeKind.choices)
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=(
            "CSV (UTF-8 or GB18030) or XLSX; heading row with account_number (or id_type and "
            "id_number), name, result, certificate_number (optional), achieved_on."
        ),
    )
    evidence = serializers.ListField(
        child=serializers.FileField(max_length=200, allow_empty_file=True),
        help_text="Evidence files (PDF, JPEG, PNG) shared by all rows: repeat the part.",
    )

    class Meta:
        model = LearningOutcome
        fields = [
            "kind", "title", "issuing_body", "content", "mode", "place", "provider",
            "started_on", "ended_on", "hours", "file", "evidence",
        ]  # fmt: skip


class BatchSerializer(serializers.ModelSerializer):
    confirmed = serializers.IntegerField(read_only=True)
    declined = serializers.IntegerField(read_only=True)
    pending = serializers.IntegerField(read_only=True)

    class Meta:
        model = InstitutionBatch
        fields = [
            "id", "title", "filename", "rows", "evidence_files", "created_at", "confirmed",
            "declined", "pending",
        ]  # fmt: skip
        read_only_fields = fields


class BatchRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row number in the spreadsheet.")
    column = serializers.CharField(
        help_text="account_number, name, id_type, id_number, result, certificate_number or "
        "achieved_on."
    )
    heading = serializers.CharField(help_text="The column's heading in the file.")
    message = serializers.CharField()


class BatchErrorsSerializer(serializers.Serializer):
    # A file refused as a whole (not a spreadsheet, too large) is answered {"file": [message]}
    # instead of row problems: the schema says either shape may come.
    detail = serializers.CharField(required=False)
    rows = BatchRowErrorSerializer(many=True, required=False)
    file = serializers.ListField(child=serializers.CharField(), required=False)


class StatusQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LearningOutcome.Status.choices, required=False)


class EvidenceUploadFilesSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(max_length=200, allow_empty_file=True),
        help_text="Evidence files (PDF, JPEG, PNG): repeat the 'files' part for each.",
    )


class EvidenceUploadSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text=(
            "Names this upload in `uploads` of POST /api/v1/outcomes/; secret, valid for "
            "one outcome until `expires_at`."
        )
    )
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class OutcomeCreateSerializer(FreeTextChecked):
    """An outcome created as JSON, its evidence uploaded beforehand; one subclass per kind
    (:data:`OUTCOME_CREATE_BY_KIND`) states the fields that kind needs."""

    uploads = serializers.ListField(
        child=serializers.CharField(max_length=500),
        min_length=1,
        max_length=10,
        help_text="The `token` of each evidence file from POST /api/v1/evidence/uploads/.",
    )

    class Meta:
        model = LearningOutcome
        fields = [
            "kind", "title", "issuing_body", "certificate_number", "achieved_on", "content",
            "mode", "place", "provider", "started_on", "ended_on", "hours", "result", "uploads",
        ]  # fmt: skip
        extra_kwargs = {"kind": {"required": True}, "achieved_on": {"required": True}}


class OutcomeChangeSerializer(FreeTextChecked):
    """A change to a saved outcome, as JSON: the fields to change, and evidence to add."""

    uploads = serializers.ListField(
        child=serializers.CharField(max_length=500),
        max_length=10,
        required=False,
        help_text="The `token` of each evidence file to add, from POST /api/v1/evidence/uploads/.",
    )

    class Meta:
        model = LearningOutcome
        fields = OutcomeCreateSerializer.Meta.fields


def _outcome_create_for(
    kind: str, label: Any, required: tuple[str, ...]
) -> type[serializers.Serializer[Any]]:
    # The kind as a one-value enum written inline: a generator then tells the kinds apart by
    # the discriminator, and no component is shared (or renamed) between them.
    name = "".join(part.title() for part in kind.split("_")) + "OutcomeCreate"
    kind_field = extend_schema_field({"type": "string", "enum": [kind]})(
        type(name + "KindField", (serializers.ChoiceField,), {"__module__": __name__})
    )
    extra: dict[str, dict[str, bool]] = {
        field: {"required": True, "allow_null": False} for field in required
    }
    for field in required:
        if field not in ("hours", "started_on"):
            extra[field]["allow_blank"] = False
    meta = type(
        "Meta",
        (OutcomeCreateSerializer.Meta,),
        {"extra_kwargs": {**OutcomeCreateSerializer.Meta.extra_kwargs, **extra}},
    )
    return type(
        name,
        (OutcomeCreateSerializer,),
        {
            "__module__": __name__,
            "__doc__": f"A new outcome of the kind `{kind}`, with the fields that kind needs.",
            "kind": kind_field(choices=[(kind, label)]),
            "Meta": meta,
        },
    )


OUTCOME_CREATE_BY_KIND: dict[str, type[serializers.Serializer[Any]]] = {
    kind: _outcome_create_for(kind, label, REQUIRED_BY_KIND.get(kind, ()))
    for kind, label in OutcomeKind.choices
}
