"""Two imports of the same transfer record at once (two tabs, a double click, the API and the
page): the origin decision is recognised once. PostgreSQL only: SQLite's writers take turns for
the whole database, so nothing would race."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import LedgerEntry
from accreditation import services
from accreditation.models import Decision, Recognition
from accreditation.recognition import booking
from outcomes.models import EvidenceFile, LearningOutcome
from tests.accounts.factories import ManagementCentreFactory
from tests.accreditation.factories import principal_entry_publish
from tests.accreditation.recognition_fixtures import (
    RECORD,
    agreement_publish,
    entry,
    shanghai_trust,
)
from tests.locks import until_another_waits_on_a_lock
from tests.people import RESIDENT, wang_register
from tests.people import learner_register as register


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_record_at_once_recognise_it_once(
    postgres, management_admin, monkeypatch
):
    ManagementCentreFactory()
    principal_entry_publish(management_admin)
    bank = shanghai_trust(management_admin)
    agreement_publish(management_admin, bank=bank)
    account = register("邵涛涛", RESIDENT, "13912345678")

    # The first import pauses inside its transaction, after its claims were checked, until the
    # second waits on a lock: the two overlap for certain.
    save = booking.outcomes_save_from_record
    first = threading.Lock()
    other_done = threading.Event()

    def pausing_save(**kwargs: Any) -> Any:
        if first.acquire(blocking=False):
            until_another_waits_on_a_lock(other_done)
        return save(**kwargs)

    monkeypatch.setattr(booking, "outcomes_save_from_record", pausing_save)
    results: list[Any] = []

    def one_import() -> None:
        try:
            results.append(
                services.recognition_book(
                    account=account,
                    actor=account.holder,
                    entries=[entry()],
                    evidence_name="record.json",
                    evidence_bytes=RECORD,
                )
            )
        except ValidationError as exc:
            results.append(exc)
        finally:
            other_done.set()
            connection.close()

    threads = [threading.Thread(target=one_import) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()

    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(results) == 2
    assert len(refused) == 1
    assert "已在您的账户中互认过" in refused[0].message_dict["record"][0]
    assert Recognition.objects.count() == 1
    assert Decision.objects.filter(basis="recognition").count() == 1
    assert LedgerEntry.objects.filter(account=account).count() == 1
    assert LearningOutcome.objects.filter(account=account).count() == 1
    assert EvidenceFile.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_origin_decision_brought_to_two_accounts_at_once_is_recognised_once(
    postgres, management_admin, monkeypatch
):
    """Two accounts do not wait on each other's lock: the unique claim across accounts decides,
    and the one that loses is refused with a reason and writes nothing."""
    ManagementCentreFactory()
    principal_entry_publish(management_admin)
    bank = shanghai_trust(management_admin)
    agreement_publish(management_admin, bank=bank)
    accounts = [register("邵涛涛", RESIDENT, "13912345678"), wang_register()]

    # The first pauses after checking the claims, until the other has booked and committed.
    save = booking.outcomes_save_from_record
    first = threading.Lock()
    other_done = threading.Event()

    def pausing_save(**kwargs: Any) -> Any:
        if first.acquire(blocking=False):
            until_another_waits_on_a_lock(other_done)
        return save(**kwargs)

    monkeypatch.setattr(booking, "outcomes_save_from_record", pausing_save)
    results: list[Any] = []

    def one_import(account: Any) -> None:
        try:
            results.append(
                services.recognition_book(
                    account=account,
                    actor=account.holder,
                    entries=[entry()],
                    evidence_name="record.json",
                    evidence_bytes=RECORD,
                )
            )
        except ValidationError as exc:
            results.append(exc)
        finally:
            other_done.set()
            connection.close()

    threads = [threading.Thread(target=one_import, args=(account,)) for account in accounts]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()

    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(results) == 2
    assert len(refused) == 1
    assert "其他学习账户" in refused[0].message_dict["record"][0]
    assert Recognition.objects.count() == 1
    assert Decision.objects.filter(basis="recognition").count() == 1
    assert LedgerEntry.objects.count() == 1
    assert LearningOutcome.objects.count() == 1
    assert EvidenceFile.objects.count() == 1
