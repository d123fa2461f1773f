"""Every file of the bad-file corpus, uploaded through the API as evidence: a clear 400 on the
evidence field, never a 500, and nothing written or stored."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from outcomes.models import EvidenceFile, LearningOutcome
from tests.outcomes.helpers import certificate, stored_files
from tests.people import learner_register as learner_account

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())

pytestmark = pytest.mark.django_db


def test_the_corpus_has_at_least_fifty_bad_files():
    assert len(EXPECTED) >= 50


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_is_refused_over_the_api_with_nothing_stored(api_client, name):
    account = learner_account("邵涛涛", "500103198504121236", "13912345678")
    api_client.force_authenticate(account.holder)
    data = (CORPUS / name).read_bytes()

    response = api_client.post(
        "/api/v1/outcomes/",
        {**certificate(), "files": [SimpleUploadedFile(name, data)]},
        format="multipart",
    )

    assert response.status_code == 400, name
    assert response.json()["evidence"], name
    assert not LearningOutcome.objects.exists()
    assert not EvidenceFile.objects.exists()
    assert stored_files() == []
