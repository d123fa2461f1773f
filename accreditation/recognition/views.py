"""The management admin's pages and API of mutual recognition: the trust list (add with a key
document pasted or uploaded, remove with a reason, the history) and the recognition agreements
(in effect, add a version, import and export). Views parse, call one service, shape the answer;
the rules are in :mod:`accreditation.recognition`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from common.forms import DateInput, form_errors_apply
from common.idempotency import idempotent
from common.table_pages import ImportPublishPage, export_download

from ..catalogue import CREATED, beijing_today
from ..catalogue.api_base import SheetExportApi, SheetImportApi, publish_status
from ..models import AgreementVersion, TrustedBank, TrustedBankEvent
from .agreements import (
    AGREEMENT_COLUMNS,
    agreement_fields_check,
    agreement_publish_from,
    agreements_current,
    agreements_export,
    agreements_import,
)
from .trust import (
    MAX_KEY_DOCUMENT_BYTES,
    trusted_bank_add,
    trusted_bank_history,
    trusted_bank_keys_set,
    trusted_bank_remove,
    trusted_banks_list,
)

HISTORY_SHOWN = 50


def bank_or_404(pk: int) -> TrustedBank:
    bank = TrustedBank.objects.filter(pk=pk).first()
    if bank is None:
        raise Http404
    return bank


# --- Pages ------------------------------------------------------------------------------------


class TrustedBankAddForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the credit bank"), max_length=200)
    issuer = forms.CharField(
        label=gettext_lazy("Issuer id"),
        max_length=300,
        help_text=gettext_lazy(
            "What its credentials name as their issuer: did:web:… or an https address."
        ),
    )
    key_document = forms.CharField(
        label=gettext_lazy("Verification key document (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "The bank's controller document (its did.json), with its Multikey keys. Paste it "
            "here or upload the file below."
        ),
    )
    key_file = forms.FileField(
        label=gettext_lazy("Or upload the key document"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        uploaded = cleaned.get("key_file")
        if uploaded is not None:
            data = uploaded.read(MAX_KEY_DOCUMENT_BYTES + 1)
            try:
                cleaned["key_document"] = data.decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("key_file", _("The key document is not JSON."))
        elif not cleaned.get("key_document"):
            self.add_error("key_document", _("Paste the key document or upload it."))
        return cleaned


class TrustedBankRemoveForm(forms.Form):
    bank = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Reason for removing"),
        max_length=2000,
        error_messages={"required": gettext_lazy("Fill in the reason for removing.")},
    )
    # A removal acts at once on every record the bank signed: a second, deliberate tick
    # (works without script), not a single click.
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand: transfer records signed by this bank are refused from now on."
        ),
        error_messages={"required": gettext_lazy("Tick this box to confirm the removal.")},
    )


class TrustListPage(RoleRequiredMixin, View):
    """The trust list: the banks trusted and removed, add one, remove one, the history."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, TrustedBankAddForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.POST.get("action") == "remove":
            return self.remove(request)
        form = TrustedBankAddForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                bank = trusted_bank_add(
                    name=form.cleaned_data["name"],
                    issuer=form.cleaned_data["issuer"],
                    key_document=form.cleaned_data["key_document"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("%(name)s is on the trust list.") % {"name": bank})
                return redirect("recognition-banks")
        return self.render(request, form, status=400)

    def remove(self, request: HttpRequest) -> HttpResponse:
        form = TrustedBankRemoveForm(request.POST)
        if form.is_valid():
            bank = bank_or_404(form.cleaned_data["bank"])
            try:
                trusted_bank_remove(
                    bank=bank,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request, _("%(name)s is no longer on the trust list.") % {"name": bank}
                )
                return redirect("recognition-banks")
        return self.render(request, TrustedBankAddForm(), remove_form=form, status=400)

    @staticmethod
    def _remove_for(remove_form: forms.Form | None) -> int | None:
        """The bank whose row the refused removal came from (its errors are shown there)."""
        raw = remove_form.data.get("bank", "") if remove_form is not None else ""
        return int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else None

    def render(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        remove_form: forms.Form | None = None,
        status: int = 200,
    ) -> HttpResponse:
        context = {
            "form": form,
            "remove_form": remove_form,
            "remove_for": self._remove_for(remove_form),
            "banks": trusted_banks_list(),
            "history": trusted_bank_history()[:HISTORY_SHOWN],
        }
        return render(request, "accreditation/recognition_banks.html", context, status=status)


class AgreementPublishForm(forms.Form):
    bank = forms.ModelChoiceField(
        label=gettext_lazy("Credit bank"), queryset=TrustedBank.objects.filter(is_active=True)
    )
    origin_code = forms.CharField(label=gettext_lazy("Their catalogue entry code"), max_length=60)
    origin_version_from = forms.CharField(
        label=gettext_lazy("From their version"),
        max_length=30,
        help_text=gettext_lazy("Whole numbers with dots, such as 2 or 2.1."),
    )
    origin_version_to = forms.CharField(
        label=gettext_lazy("To their version"),
        max_length=30,
        required=False,
        help_text=gettext_lazy("Empty: this version and every later one."),
    )
    entry_code = forms.CharField(label=gettext_lazy("Our catalogue entry code"), max_length=30)
    hours = forms.DecimalField(
        label=gettext_lazy("Learning hours"), max_digits=7, decimal_places=1, min_value=0
    )
    credits = forms.DecimalField(
        label=gettext_lazy("Credits"), max_digits=5, decimal_places=1, min_value=0
    )
    effective_from = forms.DateField(label=gettext_lazy("Effective from"), widget=DateInput())
    approving_body = forms.CharField(label=gettext_lazy("Approved by"), max_length=200)
    rationale = forms.CharField(
        label=gettext_lazy("Rationale"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self) -> dict[str, Any]:
        """When a field is refused already, the service's checks (the versions, our entry
        code) run here too, so that one submission names every problem at once."""
        cleaned = super().clean() or {}
        if self.errors:
            _clean, problems = agreement_fields_check(
                {**{k: v for k, v in self.data.items() if k not in cleaned}, **cleaned}
            )
            for name, found in problems.items():
                field = "bank" if name == "issuer" else name
                if field in self.fields and field not in self.errors:
                    for message in found:
                        self.add_error(field, message)
        return cleaned


def agreements_with_versions() -> list[dict[str, Any]]:
    """Every agreement with its whole history (newest version first), each version marked in
    effect, coming or ended today; an agreement whose bank left the trust list is marked."""
    today = beijing_today()
    rows: dict[int, dict[str, Any]] = {}
    versions = AgreementVersion.objects.select_related("agreement__bank", "entry").order_by(
        "agreement__bank__name", "agreement__origin_code", "-version"
    )
    for version in versions:
        row = rows.setdefault(
            version.agreement_id, {"agreement": version.agreement, "versions": []}
        )
        if version.effective_from > today:
            version.state = "coming"  # type: ignore[attr-defined]
        elif version.effective_to is not None and version.effective_to < today:
            version.state = "ended"  # type: ignore[attr-defined]
        else:
            version.state = "current"  # type: ignore[attr-defined]
        row["versions"].append(version)
    return list(rows.values())


class AgreementsManagePage(RoleRequiredMixin, ImportPublishPage):
    """The agreements in effect, their import and export, and a form that adds a version."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)
    template_name = "accreditation/recognition_agreements.html"
    url_name = "recognition-agreements"
    importer = staticmethod(agreements_import)
    publisher = staticmethod(agreement_publish_from)
    publish_form_class = AgreementPublishForm

    def page_context(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "agreements": agreements_with_versions(),
            "columns": ", ".join(AGREEMENT_COLUMNS),
        }

    def publish_run(self, request: HttpRequest, cleaned: dict[str, Any]) -> Any:
        # Both: a first version is "created", not "updated".
        return agreement_publish_from(fields=cleaned, actor=request.user)  # type: ignore[arg-type]

    def published(self, request: HttpRequest, published: Any) -> HttpResponse:
        version: AgreementVersion = published[0]
        said = {
            "code": version.agreement.origin_code,
            "version": version.version,
            "date": version.effective_from.isoformat(),
        }
        if published[1] == CREATED:
            message = _(
                "A new agreement for %(code)s is created at version %(version)d, in effect "
                "from %(date)s."
            )
        else:
            message = _(
                "The agreement for %(code)s is at version %(version)d, in effect from %(date)s."
            )
        messages.success(request, message % said)
        return redirect("recognition-agreements")


class AgreementsExportPage(RoleRequiredMixin, View):
    allowed_roles = (Role.MANAGEMENT_ADMIN,)

    def get(self, request: HttpRequest, fmt: str) -> HttpResponse:
        return export_download(agreements_export, fmt=fmt, stem="recognition-agreements")


# --- API ------------------------------------------------------------------------------------


class TrustedBankSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrustedBank
        fields = ["id", "name", "issuer", "is_active", "created_at", "key_document"]
        read_only_fields = fields


class TrustedBankEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)
    action_display = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = TrustedBankEvent
        fields = ["id", "action", "action_display", "reason", "actor", "occurred_at"]
        read_only_fields = fields


class TrustedBankDetailSerializer(TrustedBankSerializer):
    history = serializers.SerializerMethodField()

    class Meta(TrustedBankSerializer.Meta):
        fields = [*TrustedBankSerializer.Meta.fields, "history"]
        read_only_fields = fields

    @extend_schema(responses=TrustedBankEventSerializer(many=True))
    def get_history(self, bank: TrustedBank) -> list[dict[str, Any]]:
        events = trusted_bank_history(bank=bank)
        return TrustedBankEventSerializer(events, many=True).data  # type: ignore[return-value]


class TrustedBankAddSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    issuer = serializers.CharField(max_length=300)
    key_document = serializers.JSONField(
        help_text=gettext_lazy("The bank's controller document, with its Multikey keys.")
    )
    reason = serializers.CharField(max_length=2000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class KeysSerializer(ReasonSerializer):
    key_document = serializers.JSONField()


class AgreementVersionSerializer(serializers.ModelSerializer):
    issuer = serializers.CharField(source="agreement.bank.issuer")
    bank = serializers.CharField(source="agreement.bank.name")
    origin_code = serializers.CharField(source="agreement.origin_code")
    entry_code = serializers.CharField(source="entry.code")

    class Meta:
        model = AgreementVersion
        fields = [
            "id", "issuer", "bank", "origin_code", "version", "origin_version_from",
            "origin_version_to", "entry_code", "hours", "credits", "effective_from",
            "effective_to", "approving_body", "rationale",
        ]  # fmt: skip
        read_only_fields = fields


class AgreementQuerySerializer(serializers.Serializer):
    on = serializers.DateField(
        required=False, help_text=gettext_lazy("The day to read the agreements on (today).")
    )


class AgreementPublishSerializer(serializers.Serializer):
    issuer = serializers.CharField(max_length=300)
    origin_code = serializers.CharField(max_length=60)
    origin_version_from = serializers.CharField(max_length=30)
    origin_version_to = serializers.CharField(max_length=30, required=False, allow_blank=True)
    entry_code = serializers.CharField(max_length=30)
    hours = serializers.DecimalField(max_digits=7, decimal_places=1)
    credits = serializers.DecimalField(max_digits=5, decimal_places=1)
    effective_from = serializers.DateField()
    approving_body = serializers.CharField(max_length=200)
    rationale = serializers.CharField()


class ManagementApi(APIView):
    permission_classes = [HasRole.of(Role.MANAGEMENT_ADMIN)]


class TrustedBankListApi(ManagementApi):
    """``GET``: the trust list, banks still trusted first. ``POST``: add a bank with its key
    document and the reason (201)."""

    @extend_schema(responses=TrustedBankSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(TrustedBankSerializer(trusted_banks_list(), many=True).data)

    @extend_schema(request=TrustedBankAddSerializer, responses={201: TrustedBankSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        body = TrustedBankAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bank = trusted_bank_add(actor=request.user, **body.validated_data)  # type: ignore[arg-type]
        return Response(TrustedBankSerializer(bank).data, status=status.HTTP_201_CREATED)


class TrustedBankApi(ManagementApi):
    """One bank of the trust list, with every change of it (who, when, why)."""

    @extend_schema(responses=TrustedBankDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(TrustedBankDetailSerializer(bank_or_404(pk)).data)


class TrustedBankRemoveApi(ManagementApi):
    """Take the bank off the trust list, with the reason: its records are refused from now on."""

    @extend_schema(request=ReasonSerializer, responses=TrustedBankSerializer)
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        bank = bank_or_404(pk)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bank = trusted_bank_remove(
            bank=bank,
            reason=body.validated_data["reason"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(TrustedBankSerializer(bank).data)


class TrustedBankKeysApi(ManagementApi):
    """Replace the bank's key document (it rotated its keys), with the reason."""

    @extend_schema(request=KeysSerializer, responses=TrustedBankSerializer)
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        bank = bank_or_404(pk)
        body = KeysSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bank = trusted_bank_keys_set(
            bank=bank,
            key_document=body.validated_data["key_document"],
            reason=body.validated_data["reason"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(TrustedBankSerializer(bank).data)


class AgreementListApi(ManagementApi):
    """``GET``: the recognition agreements in effect today (or ``on``). ``POST``: add a version
    (201 when a version was added, 200 when it was already in effect)."""

    @extend_schema(
        parameters=[AgreementQuerySerializer], responses=AgreementVersionSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        query = AgreementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        versions = agreements_current(on=query.validated_data.get("on"))
        return Response(AgreementVersionSerializer(versions, many=True).data)

    @extend_schema(
        request=AgreementPublishSerializer,
        responses={201: AgreementVersionSerializer, 200: AgreementVersionSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = AgreementPublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version, what = agreement_publish_from(fields=body.validated_data, actor=request.user)  # type: ignore[arg-type]
        return Response(AgreementVersionSerializer(version).data, status=publish_status(what))


class AgreementImportApi(SheetImportApi):
    """Import recognition agreements from a CSV or XLSX file (multipart field ``file``): every
    row is published, or nothing is and the answer lists every problem by row and column."""

    importer = staticmethod(agreements_import)


class AgreementExportApi(SheetExportApi):
    """The recognition agreements in effect today as a file the import takes back unchanged."""

    exporter = staticmethod(agreements_export)
    stem = "recognition-agreements"
