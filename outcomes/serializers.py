from rest_framework import serializers

from .models import EvidenceFile, LearningOutcome


class EvidenceSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceFile
        fields = ["id", "original_name", "content_type", "size", "uploaded_at", "download"]
        read_only_fields = fields

    def get_download(self, obj: EvidenceFile) -> str:
        return f"/api/v1/evidence/{obj.pk}/download/"


class OutcomeSerializer(serializers.ModelSerializer):
    """An outcome; on create, ``evidence`` carries one or more files (multipart)."""

    evidence = EvidenceSerializer(many=True, read_only=True)
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
            "result", "status", "version", "created_at", "evidence", "files",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "version", "created_at", "evidence"]
