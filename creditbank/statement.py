"""The learner's ledger statement: every entry oldest first, with running totals per book
(learning hours, credits accumulated in the bank, credits transferred to institutions) and what
caused it, with a link to the accreditation application or the credit transfer.

One query for the page (window functions give the running totals, subqueries the causes), plus a
count for the API's pagination.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views import View
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination

from accounts import services as accounts
from accounts.models import LearningAccount, LedgerEntry, Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from accreditation.services import LEDGER_CAUSE as ACCREDITATION_CAUSE
from accreditation.services import decision_application_ids, recognition_provenance_of
from common.http import SignedInRequest
from transfers.services import LEDGER_CAUSE as TRANSFER_CAUSE
from transfers.services import transfer_item_application_ids


def ledger_statement(*, account: LearningAccount) -> QuerySet[LedgerEntry]:
    """The account's ledger entries oldest first, each with ``running_hours``,
    ``running_credits`` (accumulated book), ``running_transferred`` (transferred book),
    ``application_id`` (the accreditation application behind it) and ``transfer_id`` (the
    credit transfer behind it)."""
    return accounts.ledger_statement(
        account=account,
        causes={
            "application_id": (ACCREDITATION_CAUSE, decision_application_ids),
            "transfer_id": (TRANSFER_CAUSE, transfer_item_application_ids),
        },
    )


def provenance_set(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Give each entry ``recognition``: the decision by recognition behind it (its origin bank,
    origin decision and agreement version), or None (one query for the list)."""
    found = recognition_provenance_of(
        decision_ids=[e.cause_id for e in entries if e.cause_type == ACCREDITATION_CAUSE]
    )
    for entry in entries:
        recognised = None
        if entry.cause_type == ACCREDITATION_CAUSE and entry.cause_id.isdigit():
            recognised = found.get(int(entry.cause_id))
        entry.recognition = recognised  # type: ignore[attr-defined]
    return entries


def cause_link(entry: LedgerEntry) -> str:
    application_id = getattr(entry, "application_id", None)
    transfer_id = getattr(entry, "transfer_id", None)
    if application_id:
        return reverse("application-detail", args=[application_id])
    if transfer_id:
        return reverse("transfer-detail", args=[transfer_id])
    return ""


class StatementPage(RoleRequiredMixin, View):
    """The learner's ledger statement."""

    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        entries = provenance_set(
            list(ledger_statement(account=learning_account_required(user=request.user)))
        )
        for entry in entries:
            entry.link = cause_link(entry)  # type: ignore[attr-defined]
        return render(request, "creditbank/statement.html", {"entries": entries})


class RecognitionProvenanceSerializer(serializers.Serializer):
    origin_bank = serializers.CharField(source="origin_bank.name")
    origin_issuer = serializers.CharField(source="origin_bank.issuer")
    origin_decision = serializers.CharField(source="origin_decision_id")
    origin_entry_code = serializers.CharField()
    origin_entry_version = serializers.CharField()
    origin_centre = serializers.CharField()
    origin_decided_on = serializers.DateField()
    agreement = serializers.CharField(source="agreement_version.agreement.origin_code")
    agreement_version = serializers.IntegerField(source="agreement_version.version")


class StatementEntrySerializer(serializers.ModelSerializer):
    book_display = serializers.CharField(source="get_book_display", read_only=True)
    running_hours = serializers.DecimalField(max_digits=12, decimal_places=1, read_only=True)
    running_credits = serializers.DecimalField(max_digits=12, decimal_places=1, read_only=True)
    running_transferred = serializers.DecimalField(max_digits=12, decimal_places=1, read_only=True)
    application = serializers.IntegerField(source="application_id", read_only=True)
    transfer = serializers.IntegerField(source="transfer_id", read_only=True)
    link = serializers.SerializerMethodField()
    recognition = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "For an accreditation by recognition of another credit bank's decision: where it "
            "comes from (origin bank, origin decision, agreement version); else null."
        )
    )

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "created_at",
            "book",
            "book_display",
            "hours",
            "credits",
            "cause_type",
            "cause_id",
            "application",
            "transfer",
            "link",
            "recognition",
            "running_hours",
            "running_credits",
            "running_transferred",
        ]
        read_only_fields = fields

    def get_link(self, entry: LedgerEntry) -> str:
        return cause_link(entry)

    @extend_schema_field(RecognitionProvenanceSerializer(allow_null=True))
    def get_recognition(self, entry: LedgerEntry) -> dict[str, Any] | None:
        decision = getattr(entry, "recognition", None)
        if decision is None:
            return None
        return dict(RecognitionProvenanceSerializer(decision).data)


class StatementPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class StatementApiView(generics.ListAPIView[LedgerEntry]):
    """The caller's ledger entries, oldest first, each with the running totals up to and
    including it, and the application or transfer that caused it."""

    permission_classes = [HasRole.of(Role.LEARNER)]
    serializer_class = StatementEntrySerializer
    pagination_class = StatementPagination

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        account = learning_account_required(user=self.request.user)  # type: ignore[arg-type]
        return ledger_statement(account=account)

    def paginate_queryset(self, queryset: Any) -> list[LedgerEntry] | None:  # type: ignore[override]
        page = super().paginate_queryset(queryset)
        return provenance_set(page) if page is not None else None

    @extend_schema(operation_id="accounts_me_ledger")
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)
