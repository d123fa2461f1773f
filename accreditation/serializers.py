"""What the catalogue API reads and writes. Serializers only parse and shape: the rules are in
:mod:`accreditation.catalogue`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from outcomes.models import OutcomeKind

from .catalogue import EXPORT_FORMATS, Conversion, version_aliases
from .models import CatalogueEntryVersion


class ConversionSerializer(serializers.Serializer):
    """A course the entry counts for, under the conversion rule in effect."""

    course_code = serializers.CharField()
    course = serializers.CharField(help_text=_("The course's name in the request's language."))
    programme_code = serializers.CharField()
    programme = serializers.CharField(
        help_text=_("The programme's name in the request's language.")
    )
    institution = serializers.CharField()
    credits = serializers.DecimalField(max_digits=4, decimal_places=1)
    rule_version = serializers.IntegerField()


class CatalogueVersionSerializer(serializers.ModelSerializer):
    """A catalogue entry as one flat item: its code and the version shown."""

    code = serializers.CharField(source="entry.code")
    name = serializers.CharField(
        source="display_name",
        help_text=_("In the request's language: the English name when asked for English."),
    )
    name_zh = serializers.CharField(source="name")
    kind_label = serializers.CharField(source="get_kind_display")
    aliases = serializers.SerializerMethodField(help_text=_("Other names of the outcome."))
    conversion_rules = serializers.SerializerMethodField()

    class Meta:
        model = CatalogueEntryVersion
        fields = [
            "code", "version", "name", "name_zh", "name_en", "kind", "kind_label",
            "issuing_body", "level", "hours", "credits", "validity_months", "evidence_required",
            "aliases", "certificate_number_pattern", "effective_from", "effective_to",
            "approving_body", "rationale", "conversion_rules",
        ]  # fmt: skip
        read_only_fields = fields

    def get_aliases(self, obj: CatalogueEntryVersion) -> list[str]:
        return version_aliases(obj)

    @extend_schema_field(ConversionSerializer(many=True))
    def get_conversion_rules(self, obj: CatalogueEntryVersion) -> Any:
        conversions: dict[int, list[Conversion]] = self.context.get("conversions", {})
        return ConversionSerializer(conversions.get(obj.entry_id, []), many=True).data


class CatalogueVersionHistorySerializer(serializers.ModelSerializer):
    aliases = serializers.SerializerMethodField()

    class Meta:
        model = CatalogueEntryVersion
        fields = [
            "version", "name", "name_en", "kind", "issuing_body", "level", "hours", "credits",
            "validity_months", "evidence_required", "aliases", "certificate_number_pattern",
            "effective_from", "effective_to", "approving_body", "rationale", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_aliases(self, obj: CatalogueEntryVersion) -> list[str]:
        return version_aliases(obj)


class CatalogueEntryDetailSerializer(CatalogueVersionSerializer):
    """An entry: the version in effect today (or, for an entry no longer or not yet in
    effect, its latest), and every version."""

    in_effect = serializers.SerializerMethodField(
        help_text=_("Whether the version shown is in effect today.")
    )
    versions = serializers.SerializerMethodField()

    class Meta(CatalogueVersionSerializer.Meta):
        fields = [*CatalogueVersionSerializer.Meta.fields, "in_effect", "versions"]
        read_only_fields = fields

    def get_in_effect(self, obj: CatalogueEntryVersion) -> bool:
        return bool(self.context.get("in_effect"))

    @extend_schema_field(CatalogueVersionHistorySerializer(many=True))
    def get_versions(self, obj: CatalogueEntryVersion) -> Any:
        return CatalogueVersionHistorySerializer(self.context.get("versions", []), many=True).data


class CatalogueQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=_("Words to find in the code, name, other names or issuing body."),
    )
    kind = serializers.ChoiceField(choices=OutcomeKind.choices, required=False, allow_blank=True)
    on = serializers.DateField(
        required=False, help_text=_("The catalogue as in effect on this date; today by default.")
    )


class CataloguePublishSerializer(serializers.Serializer):
    """A version to publish. The entry is created if its code is new; otherwise the version
    takes effect after the current one, which is closed the day before. Publishing what is
    already in effect on that date changes nothing."""

    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=OutcomeKind.choices)
    issuing_body = serializers.CharField(max_length=200)
    level = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    hours = serializers.DecimalField(max_digits=7, decimal_places=1)
    credits = serializers.DecimalField(max_digits=5, decimal_places=1)
    validity_months = serializers.IntegerField(required=False, allow_null=True, default=None)
    evidence_required = serializers.CharField()
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list
    )
    certificate_number_pattern = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("A regular expression the whole certificate number must match."),
    )
    effective_from = serializers.DateField()
    approving_body = serializers.CharField(max_length=200)
    rationale = serializers.CharField()


class SpreadsheetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=_("CSV (UTF-8 or GB18030) or XLSX with a heading row; up to 10 MB."),
    )


class SheetImportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField(help_text=_("New entries (or rules)."))
    revised = serializers.IntegerField(help_text=_("New versions of existing ones."))
    unchanged = serializers.IntegerField(help_text=_("Rows saying what is already in effect."))


class SheetRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("The row number in the spreadsheet."))
    column = serializers.CharField()
    heading = serializers.CharField(help_text=_("The column's heading in the file."))
    message = serializers.CharField()


class SheetImportErrorsSerializer(serializers.Serializer):
    # A file refused as a whole (not a spreadsheet, too large) is answered {"file": [message]}
    # instead of row problems: the schema says either shape may come.
    detail = serializers.CharField(required=False)
    rows = SheetRowErrorSerializer(many=True, required=False)
    file = serializers.ListField(child=serializers.CharField(), required=False)


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(EXPORT_FORMATS), default="csv")
