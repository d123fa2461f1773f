"""Two requests at once with the same upload token, or two uploads at once near the cap
(POST /api/v1/evidence/uploads/, docs/decisions/0014): exactly one wins. The first pauses inside
its transaction until the second waits on a lock (or has finished), so the two overlap for
certain. PostgreSQL only: SQLite's writers take turns for the whole database."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection

from outcomes import pending, services
from outcomes.models import EvidenceFile, LearningOutcome
from outcomes.pending import MAX_STAGED, evidence_stage
from outcomes.storage import Upload
from tests.locks import until_another_waits_on_a_lock
from tests.outcomes.helpers import pending_files
from tests.outcomes.samples import pdf_bytes, png_bytes
from tests.people import shao_register

pytestmark = pytest.mark.django_db(transaction=True)

CERTIFICATE = {
    "kind": "vocational_qualification",
    "title": "幼儿园园长资格证书",
    "issuing_body": "重庆市教育委员会",
    "certificate_number": "YZ-2018-0042",
    "achieved_on": datetime.date(2018, 6, 30),
    "result": "合格",
}


def _pausing_first(original: Callable[..., Any], done: threading.Event) -> Callable[..., Any]:
    """``original``, except that its first call waits for the other thread to wait on a lock."""
    first = threading.Lock()

    def pausing(*args: Any, **kwargs: Any) -> Any:
        if first.acquire(blocking=False):
            until_another_waits_on_a_lock(done)
        return original(*args, **kwargs)

    return pausing


def _race(work: Callable[[int], Any], done: threading.Event) -> list[Any]:
    results: list[Any] = []

    def one(n: int) -> None:
        try:
            results.append(work(n))
        except ValidationError as exc:
            results.append(exc)
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("second", ["POST", "PATCH"])
def test_two_requests_sent_at_once_with_one_upload_token_store_its_file_once(
    postgres, monkeypatch, second
):
    account = shao_register()
    earlier = services.outcome_save(
        account=account,
        actor=account.holder,
        data={**CERTIFICATE, "certificate_number": "YZ-2018-0001"},
        uploads=[Upload("earlier.png", png_bytes())],
    )
    (staged,) = evidence_stage(account_id=account.pk, uploads=[Upload("a.pdf", pdf_bytes())])
    done = threading.Event()
    # The first pauses once it has locked the account, about to store the evidence.
    monkeypatch.setattr(services, "evidence_store", _pausing_first(services.evidence_store, done))

    def send(n: int) -> Any:
        if n == 1 and second == "PATCH":
            return services.outcome_update_staged(
                outcome=earlier, actor=account.holder, data={}, upload_tokens=[staged["token"]]
            )
        return services.outcome_save_staged(
            account=account,
            actor=account.holder,
            data={**CERTIFICATE, "certificate_number": f"YZ-2018-004{n}"},
            upload_tokens=[staged["token"]],
        )

    results = _race(send, done)

    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(results) == 2
    assert len(refused) == 1
    # Told that the upload is spent, not that the file is already someone's evidence.
    assert list(refused[0].message_dict) == ["uploads"]
    # The earlier outcome and the first request's (it took the lock first); the file once.
    assert LearningOutcome.objects.filter(account=account).count() == 2
    assert EvidenceFile.objects.filter(account=account).count() == 2
    assert pending_files() == []


def test_two_uploads_at_once_never_exceed_the_cap(postgres, monkeypatch):
    account = shao_register()
    evidence_stage(
        account_id=account.pk,
        uploads=[Upload(f"{i}.png", png_bytes(size=16 + i)) for i in range(MAX_STAGED - 10)],
    )
    done = threading.Event()
    # The first pauses once it has counted the waiting uploads, about to store its own.
    monkeypatch.setattr(pending, "ContentFile", _pausing_first(ContentFile, done))

    results = _race(
        lambda n: evidence_stage(
            account_id=account.pk,
            uploads=[Upload(f"{n}-{i}.png", png_bytes(size=64 + 10 * n + i)) for i in range(10)],
        ),
        done,
    )

    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(results) == 2
    assert len(refused) == 1
    assert list(refused[0].message_dict) == ["files"]
    assert len(pending_files()) == MAX_STAGED
