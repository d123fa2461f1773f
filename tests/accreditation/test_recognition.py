"""Mutual recognition, the accreditation side: the trust list, recognition agreements (versioned,
imported and exported), booking another bank's decisions with their provenance, once per
account, and reversing them when the origin revokes."""

from __future__ import annotations

import dataclasses
import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from accounts.models import LedgerEntry, Notification
from accounts.services import account_totals
from accreditation import services
from accreditation.models import (
    AgreementVersion,
    Application,
    Decision,
    Recognition,
    RecognitionAgreement,
    TrustedBank,
    TrustedBankEvent,
)
from accreditation.recognition.models import origin_version_key
from common.tables import RowsInvalid
from outcomes.models import EvidenceFile, LearningOutcome
from tests.accounts.factories import ManagementCentreFactory
from tests.accreditation.factories import principal_entry_publish
from tests.accreditation.recognition_fixtures import (
    KEY,
    RECORD,
    SHANGHAI,
    STATUS_LIST,
    agreement_publish,
    entry,
    key_document,
    shanghai_trust,
)
from tests.people import RESIDENT, wang_register
from tests.people import learner_register as register

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    """The service's messages are read in the default language (Chinese), whatever language an
    earlier test's request left active in this thread."""
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def bank(management_admin):
    return shanghai_trust(management_admin)


@pytest.fixture
def agreement(management_admin, bank):
    principal_entry_publish(management_admin)
    return agreement_publish(management_admin, bank=bank)


@pytest.fixture
def account(db):
    ManagementCentreFactory()
    return register("邵涛涛", RESIDENT, "13912345678")


def book(account, *entries, name="record.json"):
    return services.recognition_book(
        account=account,
        actor=account.holder,
        entries=list(entries),
        evidence_name=name,
        evidence_bytes=RECORD,
    )


# --- The trust list -------------------------------------------------------------------------


def test_a_bank_is_added_removed_and_added_again_each_change_in_the_history(management_admin, bank):
    assert services.trusted_bank_for_issuer(issuer=SHANGHAI) == bank
    keys = services.trusted_bank_keys(issuer=SHANGHAI)
    assert keys is not None
    assert keys["verificationMethod"][0]["publicKeyMultibase"] == KEY
    services.trusted_bank_remove(bank=bank, reason="协议到期", actor=management_admin)
    assert services.trusted_bank_for_issuer(issuer=SHANGHAI) is None
    assert services.trusted_bank_keys(issuer=SHANGHAI) is None
    shanghai_trust(management_admin)
    history = list(services.trusted_bank_history(bank=bank))
    assert [e.action for e in history] == ["add", "remove", "add"]
    assert [e.reason for e in history] == ["长三角学分互认协议", "协议到期", "长三角学分互认协议"]
    assert {e.actor for e in history} == {management_admin}
    with pytest.raises(ValueError, match="append-only"):
        history[0].delete()


def test_it_refuses_a_bank_twice_and_a_removal_without_reason(management_admin, bank):
    with pytest.raises(ValidationError) as twice:
        shanghai_trust(management_admin)
    assert "issuer" in twice.value.message_dict
    with pytest.raises(ValidationError) as no_reason:
        services.trusted_bank_remove(bank=bank, reason=" ", actor=management_admin)
    assert "reason" in no_reason.value.message_dict
    assert TrustedBankEvent.objects.count() == 1


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        {"id": "did:web:other.example.cn", "verificationMethod": []},
        {**key_document(), "verificationMethod": [{"id": f"{SHANGHAI}#k", "type": "JsonWebKey"}]},
        {**key_document(), "assertionMethod": []},
        key_document(key="z6Mk-short"),
    ],
)
def test_it_refuses_a_key_document_that_is_not_the_banks_multikeys(management_admin, document):
    with pytest.raises(ValidationError) as refused:
        services.trusted_bank_add(
            name="上海", issuer=SHANGHAI, key_document=document, reason="r", actor=management_admin
        )
    assert "key_document" in refused.value.message_dict
    assert not TrustedBank.objects.exists()


@pytest.mark.parametrize(
    "document",
    [
        "[" * 60_000,  # nests past Python's recursion limit: refused, not a 500
        {**key_document(), "padding": "x" * 70_000},  # a parsed object is capped like text
    ],
)
def test_it_refuses_a_deep_or_large_key_document_with_a_field_error(management_admin, document):
    with pytest.raises(ValidationError) as refused:
        services.trusted_bank_add(
            name="上海", issuer=SHANGHAI, key_document=document, reason="r", actor=management_admin
        )
    assert "key_document" in refused.value.message_dict
    assert not TrustedBank.objects.exists()


def test_it_refuses_a_key_document_whose_keys_would_verify_nothing(management_admin):
    """A key controlled by someone else is skipped by the verifier, and a "z6Mk…" string of
    the right length that is not an Ed25519 key cannot be decoded: either way no record of
    the bank could ever verify, so the trust list does not take it."""
    foreign = key_document()
    foreign["verificationMethod"][0]["controller"] = "did:web:attacker.example"
    not_a_key = key_document(key="z6Mk" + "z" * 44)
    for document in (foreign, not_a_key):
        with pytest.raises(ValidationError) as refused:
            services.trusted_bank_add(
                name="上海",
                issuer=SHANGHAI,
                key_document=document,
                reason="r",
                actor=management_admin,
            )
        assert "key_document" in refused.value.message_dict
    assert not TrustedBank.objects.exists()


def test_every_key_document_the_trust_list_takes_gives_the_verifier_a_key(bank):
    from transfers.certificates.linked_data import assertion_keys

    assert assertion_keys(services.trusted_bank_keys(issuer=bank.issuer))


def test_only_the_management_admin_keeps_the_trust_list(reviewer, learner):
    for actor in (reviewer, learner):
        with pytest.raises(ValidationError):
            services.trusted_bank_add(
                name="上海", issuer=SHANGHAI, key_document=key_document(), reason="r", actor=actor
            )
    assert not TrustedBank.objects.exists()


def test_new_keys_replace_the_old_with_a_reason(management_admin, bank):
    other = "z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
    services.trusted_bank_keys_set(
        bank=bank, key_document=key_document(key=other), reason="密钥轮换", actor=management_admin
    )
    keys = services.trusted_bank_keys(issuer=SHANGHAI)
    assert keys is not None
    assert keys["verificationMethod"][0]["publicKeyMultibase"] == other
    assert [e.action for e in services.trusted_bank_history(bank=bank)] == ["keys", "add"]


# --- Agreements -------------------------------------------------------------------------------


def test_versions_compare_as_dotted_numbers():
    assert origin_version_key("2") == origin_version_key("2.0")
    assert origin_version_key("2") < origin_version_key("2.1") < origin_version_key("10")
    with pytest.raises(ValueError, match="v2"):
        origin_version_key("v2")


def test_an_agreement_covers_its_version_range_on_its_days(agreement, bank):
    on = datetime.date(2025, 6, 1)
    found = services.recognition_agreement_for(
        bank=bank, entry_code="SH-JY-01", entry_version="2.0", on=on
    )
    assert found == agreement
    assert (
        services.recognition_agreement_for(
            bank=bank, entry_code="SH-JY-01", entry_version="3", on=on
        )
        is None
    )
    assert (
        services.recognition_agreement_for(
            bank=bank, entry_code="SH-JY-01", entry_version="1", on=datetime.date(2023, 12, 31)
        )
        is None
    )


def test_a_new_version_supersedes_and_the_same_again_changes_nothing(
    management_admin, agreement, bank
):
    newer = agreement_publish(
        management_admin, bank=bank, hours="110", effective_from=datetime.date(2025, 1, 1)
    )
    assert newer.version == 2
    agreement.refresh_from_db()
    assert agreement.effective_to == datetime.date(2024, 12, 31)
    assert agreement.hours == Decimal("100")  # never edited
    again = agreement_publish(
        management_admin, bank=bank, hours="110", effective_from=datetime.date(2025, 1, 1)
    )
    assert again == newer
    assert AgreementVersion.objects.count() == 2
    on = datetime.date(2024, 6, 1)
    assert (
        services.recognition_agreement_for(
            bank=bank, entry_code="SH-JY-01", entry_version="1", on=on
        )
        == agreement
    )


def test_it_refuses_an_agreement_with_an_unknown_entry_or_a_reversed_range(management_admin, bank):
    with pytest.raises(ValidationError) as refused:
        agreement_publish(management_admin, bank=bank, version_from="3", version_to="2.9")
    assert set(refused.value.message_dict) == {"origin_version_to", "entry_code"}
    assert not RecognitionAgreement.objects.exists()


def test_it_refuses_an_identity_number_in_an_agreements_free_text(management_admin, bank):
    principal_entry_publish(management_admin)
    with pytest.raises(ValidationError) as refused:
        services.agreement_publish_from(
            fields={
                "bank": bank,
                "origin_code": "SH-JY-01",
                "origin_version_from": "1",
                "entry_code": "VQ-JY-001",
                "hours": "100",
                "credits": "3",
                "effective_from": datetime.date(2024, 1, 1),
                "approving_body": f"经办人 {RESIDENT}",
                "rationale": f"学习者身份证号\n{RESIDENT}",
            },
            actor=management_admin,
        )
    assert set(refused.value.message_dict) == {"approving_body", "rationale"}
    assert not RecognitionAgreement.objects.exists()


def test_agreements_export_and_import_back_unchanged(management_admin, agreement):
    for fmt in ("csv", "xlsx"):
        data = services.agreements_export(fmt=fmt, on=datetime.date(2025, 1, 1))
        result = services.agreements_import(data=data, filename=f"a.{fmt}", actor=management_admin)
        assert (result.created, result.revised, result.unchanged) == (0, 0, 1)
    assert AgreementVersion.objects.count() == 1


def test_an_import_with_a_bad_row_writes_nothing_and_names_the_row(management_admin, bank):
    principal_entry_publish(management_admin)
    data = (
        "issuer,origin_code,origin_version_from,origin_version_to,entry_code,hours,credits,"
        "effective_from,approving_body,rationale\n"
        f"{SHANGHAI},SH-1,1,2,VQ-JY-001,100,3,2024-01-01,管理中心,互认\n"
        f"{SHANGHAI},SH-2,1,,NO-SUCH,100,3,2024-01-01,管理中心,互认\n"
        f"did:web:nobody.example.cn,SH-3,1,,VQ-JY-001,100,3,2024-01-01,管理中心,互认\n"
    ).encode()
    with pytest.raises(RowsInvalid) as refused:
        services.agreements_import(data=data, filename="a.csv", actor=management_admin)
    assert [(e.row, e.column) for e in refused.value.rows] == [(3, "entry_code"), (4, "issuer")]
    assert not RecognitionAgreement.objects.exists()


# --- Booking ----------------------------------------------------------------------------------


def test_a_covered_entry_is_accredited_with_its_provenance_and_booked_in_the_ledger(
    account, agreement, bank, management_admin
):
    result = book(account, entry())
    [decision] = result.booked
    assert result.saved == []
    decision = Decision.objects.select_related("application__outcome").get(pk=decision.pk)
    assert decision.basis == Decision.Basis.RECOGNITION
    assert decision.agreement_version == agreement
    assert (decision.hours, decision.credits) == (Decimal("100.0"), Decimal("3.0"))
    assert decision.origin_bank == bank
    assert decision.origin_decision_id == "urn:uuid:sh-1"
    assert (decision.origin_entry_code, decision.origin_entry_version) == ("SH-JY-01", "2")
    assert decision.origin_decided_on == datetime.date(2025, 3, 14)
    assert (decision.origin_status_list, decision.origin_status_index) == (STATUS_LIST, 7)
    assert decision.on_time
    assert decision.decided_by == management_admin
    assert decision.catalogue_version is not None
    assert decision.catalogue_version.entry.code == "VQ-JY-001"
    assert decision.application.state == "accredited"
    assert decision.application.outcome.status == LearningOutcome.Status.ACCREDITED
    assert account_totals(account=account) == (Decimal("100.0"), Decimal("3.0"))
    assert Notification.objects.filter(
        recipient=account.holder, kind=Notification.Kind.APPLICATION_ACCREDITED
    ).exists()
    # The record is the outcome's evidence.
    evidence = EvidenceFile.objects.get(outcome=decision.application.outcome)
    assert evidence.file.read() == RECORD


def test_an_uncovered_entry_is_saved_with_the_record_as_evidence(account, agreement):
    result = book(account, entry(), entry("urn:uuid:sh-2", code="SH-OTHER"))
    assert len(result.booked) == 1
    [saved] = result.saved
    assert saved.status == LearningOutcome.Status.SAVED
    assert saved.issuing_body == "上海终身教育学分银行"
    assert EvidenceFile.objects.filter(outcome=saved).count() == 1
    # One stored file for the whole record.
    assert EvidenceFile.objects.values("file").distinct().count() == 1
    assert account_totals(account=account) == (Decimal("100.0"), Decimal("3.0"))


def test_a_record_that_would_exceed_the_storage_quota_is_refused_and_nothing_stored(
    account, agreement, settings
):
    settings.EVIDENCE_QUOTA_BYTES = len(RECORD) - 1
    with pytest.raises(ValidationError) as refused:
        book(account, entry())
    assert "evidence" in refused.value.message_dict
    assert not LearningOutcome.objects.exists()
    assert not EvidenceFile.objects.exists()


def test_a_record_shared_by_its_outcomes_counts_once_against_the_quota(account, agreement):
    from outcomes.storage import storage_used

    book(account, entry("urn:uuid:sh-1"), entry("urn:uuid:sh-2", code="SH-OTHER"))
    assert EvidenceFile.objects.filter(account=account).count() == 2
    assert storage_used(account=account) == len(RECORD)


def test_a_provenance_field_longer_than_its_column_is_refused_not_a_database_error(
    account, agreement
):
    """On PostgreSQL the insert would fail with a DataError (a 500): refused with a reason."""
    for long in (
        entry("9" * 201),
        dataclasses.replace(entry(), entry_version="1" * 31),
        dataclasses.replace(entry(), status_list_credential=STATUS_LIST + "x" * 500),
    ):
        with pytest.raises(ValidationError) as refused:
            book(account, long)
        assert "record" in refused.value.message_dict
    assert not Recognition.objects.exists()
    assert not LearningOutcome.objects.exists()


def test_the_same_origin_decision_is_recognised_once(account, agreement):
    book(account, entry())
    counts = (
        LearningOutcome.objects.count(),
        LedgerEntry.objects.count(),
        Application.objects.count(),
    )
    with pytest.raises(ValidationError) as twice:
        book(account, entry("urn:uuid:sh-9", code="SH-OTHER"), entry())
    assert "已在您的账户中互认过" in twice.value.message_dict["record"][0]
    assert counts == (
        LearningOutcome.objects.count(),
        LedgerEntry.objects.count(),
        Application.objects.count(),
    )
    assert Recognition.objects.count() == 1


def test_the_database_refuses_a_second_claim_of_an_origin_decision(account, agreement):
    [decision] = book(account, entry()).booked
    outcome = decision.application.outcome
    with pytest.raises(IntegrityError), transaction.atomic():
        Recognition.objects.create(
            account=account,
            origin_issuer=SHANGHAI,
            origin_decision_id="urn:uuid:sh-1",
            outcome=outcome,
        )


def test_an_origin_decision_recognised_for_one_account_is_refused_on_another(account, agreement):
    """An origin decision is one person's: someone else bringing her record (a copy of the
    file, its public address) books nothing, whoever's account it lands on."""
    book(account, entry())
    other = wang_register()
    with pytest.raises(ValidationError) as refused:
        book(other, entry("urn:uuid:sh-2"), entry())
    assert "其他学习账户" in refused.value.message_dict["record"][0]
    assert Recognition.objects.count() == 1
    assert not LedgerEntry.objects.filter(account=other).exists()


def test_the_database_refuses_one_origin_decision_on_two_accounts(account, agreement):
    [decision] = book(account, entry()).booked
    other = wang_register()
    with pytest.raises(IntegrityError), transaction.atomic():
        Recognition.objects.create(
            account=other,
            origin_issuer=SHANGHAI,
            origin_decision_id="urn:uuid:sh-1",
            outcome=decision.application.outcome,
        )


def test_a_record_from_a_bank_not_on_the_trust_list_is_refused(
    account, agreement, management_admin
):
    services.trusted_bank_remove(
        bank=agreement.agreement.bank, reason="暂停互认", actor=management_admin
    )
    with pytest.raises(ValidationError) as refused:
        book(account, entry())
    assert SHANGHAI in refused.value.message_dict["record"][0]
    assert not LearningOutcome.objects.exists()
    assert not EvidenceFile.objects.exists()


def test_a_learner_books_only_on_her_own_account(account, agreement, learner):
    with pytest.raises(ValidationError):
        services.recognition_book(
            account=account, actor=learner, entries=[entry()], evidence_name="r.json",
            evidence_bytes=RECORD,
        )  # fmt: skip
    assert not LearningOutcome.objects.exists()


def test_a_recognition_decision_needs_its_agreement_and_provenance(account, agreement):
    [decision] = book(account, entry()).booked
    application = Application.objects.create(
        outcome=decision.application.outcome,
        account=account,
        centre=decision.application.centre,
        kind=decision.application.kind,
        state="accredited",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(
            application=application,
            result="accredited",
            basis="recognition",
            hours=1,
            credits=1,
            decided_by=decision.decided_by,
            on_time=True,
            agreement_version=agreement,
        )


# --- Reversal ---------------------------------------------------------------------------------


def test_a_revocation_at_the_origin_reverses_the_recognition(account, agreement):
    [decision] = book(account, entry()).booked
    assert list(services.recognised_decisions_to_check()) == [decision]
    revocation = services.recognition_reverse(decision=decision, reason="证书已注销")
    assert revocation.reason_code == "certificate_cancelled"
    assert "上海终身教育学分银行" in revocation.reason
    assert account_totals(account=account) == (Decimal("0.0"), Decimal("0.0"))
    outcome = LearningOutcome.objects.get(pk=decision.application.outcome_id)
    assert outcome.status == LearningOutcome.Status.NOT_ACCREDITED
    assert Notification.objects.filter(
        recipient=account.holder, kind=Notification.Kind.ACCREDITATION_REVOKED
    ).exists()
    assert list(services.recognised_decisions_to_check()) == []
    with pytest.raises(ValidationError):
        services.recognition_reverse(decision=decision, reason="again")


def test_an_entry_without_its_status_entry_is_refused_with_the_reason(account, agreement):
    incomplete = dataclasses.replace(entry(), status_list_credential="")
    with pytest.raises(ValidationError) as refused:
        book(account, incomplete)
    assert "状态条目" in refused.value.message_dict["record"][0]
    assert not LearningOutcome.objects.exists()


def test_an_ended_agreement_covers_nothing_after_its_last_day(management_admin, agreement, bank):
    services.agreement_end(
        agreement=agreement.agreement,
        effective_to=datetime.date(2025, 6, 30),
        actor=management_admin,
    )
    found = services.recognition_agreement_for
    assert found(bank=bank, entry_code="SH-JY-01", entry_version="1", on=datetime.date(2025, 6, 30))
    assert (
        found(bank=bank, entry_code="SH-JY-01", entry_version="1", on=datetime.date(2025, 7, 1))
        is None
    )
    with pytest.raises(ValidationError):
        services.agreement_end(
            agreement=agreement.agreement,
            effective_to=datetime.date(2025, 7, 30),
            actor=management_admin,
        )


def test_the_controller_document_a_bank_like_ours_publishes_is_accepted(management_admin):
    """Another portal of this code base publishes its keys as ours does: the trust list takes
    its /.well-known/did.json as it is."""
    from transfers.certificates.linked_data import controller_document

    document = controller_document()
    bank = services.trusted_bank_add(
        name="另一学分银行",
        issuer=document["id"],
        key_document=json.dumps(document),
        reason="互认",
        actor=management_admin,
    )
    assert services.trusted_bank_keys(issuer=bank.issuer) == document
