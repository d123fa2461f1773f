"""The dashboard's "would earn" of saved outcomes is cached per account (accreditation.catalogue.
matching: catalogue_matches_of_account). A catalogue change or a change of the learner's own
outcomes shows on the next request, and one learner's cached matches never reach another."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction

from accreditation.catalogue import (
    beijing_today,
    catalogue_entry_publish,
    catalogue_entry_retire,
    catalogue_revision,
)
from accreditation.models import CatalogueEntryVersion
from outcomes.services import outcome_update
from tests.accreditation.factories import principal_entry_publish
from tests.outcomes.factories import certificate_save

pytestmark = pytest.mark.django_db

TEA = "茶艺师培训结业证书"
NOT_IN_CATALOGUE = "not in the catalogue: individual accreditation"


def dashboard(client, account) -> str:
    client.force_login(account.holder)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/").content.decode()
    return page.split('data-testid="saved-outcomes"', 1)[1].split("</ul>", 1)[0]


def principal_revise(*, hours: str, credits: str, effective_from: datetime.date) -> None:
    catalogue_entry_publish(
        code="VQ-JY-001",
        name="幼儿园园长任职资格证书",
        name_en="Kindergarten principal qualification certificate",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        hours=Decimal(hours),
        credits=Decimal(credits),
        evidence_required="证书原件扫描件",
        effective_from=effective_from,
        approving_body="重庆学分银行管理中心",
        rationale="学时调整",
        actor=None,
    )


def test_a_new_version_of_the_entry_shows_on_the_next_request(client, shao):
    principal_entry_publish()
    certificate_save(shao)
    assert "would earn 120.0 hours and 4.0 credits" in dashboard(client, shao)

    principal_revise(hours="150", credits="5", effective_from=beijing_today())

    saved = dashboard(client, shao)
    assert "would earn 150.0 hours and 5.0 credits" in saved
    assert "120.0 hours" not in saved


def test_a_retired_entry_stops_showing_on_the_next_request(client, shao):
    entry = principal_entry_publish()
    certificate_save(shao)
    assert "would earn 120.0 hours and 4.0 credits" in dashboard(client, shao)

    catalogue_entry_retire(
        entry=entry,
        effective_to=beijing_today() - datetime.timedelta(days=1),
        actor=None,
        rationale="停止认证",
    )

    saved = dashboard(client, shao)
    assert NOT_IN_CATALOGUE in saved
    assert "would earn" not in saved


def test_a_version_changed_in_place_shows_on_the_next_request(client, shao):
    # The admin site saves a version row directly, without the publishing service.
    principal_entry_publish()
    certificate_save(shao)
    assert "would earn 120.0 hours and 4.0 credits" in dashboard(client, shao)

    version = CatalogueEntryVersion.objects.get(entry__code="VQ-JY-001")
    version.credits = Decimal("4.5")
    version.save()

    assert "would earn 120.0 hours and 4.5 credits" in dashboard(client, shao)


def test_an_outcome_the_learner_renames_is_matched_again_on_the_next_request(client, shao):
    principal_entry_publish()
    outcome = certificate_save(shao, title=TEA)
    assert NOT_IN_CATALOGUE in dashboard(client, shao)

    outcome_update(outcome=outcome, actor=shao.holder, data={"title": "幼儿园园长任职资格证书"})

    saved = dashboard(client, shao)
    assert "would earn 120.0 hours and 4.0 credits" in saved
    assert NOT_IN_CATALOGUE not in saved


def test_each_learner_sees_only_their_own_outcomes_and_matches(client, shao, wang):
    principal_entry_publish()
    certificate_save(shao)
    certificate_save(wang, title=TEA)

    for _ in range(2):  # the second round reads what the first one cached
        shao_saved = dashboard(client, shao)
        wang_saved = dashboard(client, wang)
        assert "幼儿园园长任职资格证书" in shao_saved
        assert "would earn 120.0 hours and 4.0 credits" in shao_saved
        assert TEA not in shao_saved
        assert TEA in wang_saved
        assert NOT_IN_CATALOGUE in wang_saved
        assert "幼儿园园长任职资格证书" not in wang_saved
        assert "would earn" not in wang_saved


def test_the_catalogue_revision_rises_inside_the_writing_transaction_and_rolls_back_with_it():
    principal_entry_publish()
    before = catalogue_revision()

    seen_inside = []

    def publish_then_fail() -> None:
        with transaction.atomic():
            principal_revise(hours="150", credits="5", effective_from=beijing_today())
            seen_inside.append(catalogue_revision())  # same transaction, before any commit
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        publish_then_fail()

    assert seen_inside[0] > before

    assert catalogue_revision() == before
    principal_revise(hours="150", credits="5", effective_from=beijing_today())
    assert catalogue_revision() > before
