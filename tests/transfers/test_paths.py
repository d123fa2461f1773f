"""The learning path to a goal programme: course by course match, maybe or miss, with the credits
still needed, the same on the page and over the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accreditation.catalogue import catalogue_current
from outcomes.models import LearningOutcome
from tests.accounts.factories import CentreFactory, PersonalAccountFactory, UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.outcomes.factories import LearningOutcomeFactory
from tests.transfers.factories import programme_with_courses, rule
from transfers.models import Programme
from transfers.paths import MATCH, MAYBE, MISS, learning_path
from transfers.services import transfer_apply, transfer_item_decide

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def by_code(path):
    return {line.course.code: line for line in path.courses}


def test_the_accredited_kindergarten_principal_certificate_covers_the_seed_course(demo, api_client):
    from accounts.models import LearningAccount

    shao = LearningAccount.objects.get(holder__name="邵涛涛")
    principal = catalogue_current().get(entry__code="CQ-ZG-001")
    teacher = catalogue_current().get(entry__code="CQ-ZG-002")
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    accredited = accredited_outcome(shao, principal, decider)
    LearningOutcomeFactory(
        account=shao,
        kind=teacher.kind,
        title=teacher.name,
        issuing_body=teacher.issuing_body,
        certificate_number="",
        status=LearningOutcome.Status.SAVED,
    )
    preschool = Programme.objects.get(code="PRE-ZK")

    found = by_code(learning_path(account=shao, programme=preschool))
    api_client.force_authenticate(shao.holder)
    answer = api_client.get(f"/api/v1/transfers/paths/{preschool.pk}/").json()

    assert found["PRE101"].status == MATCH
    assert found["PRE101"].outcome == accredited
    assert found["PRE101"].course.name_en == "Teaching and research work management"
    assert found["PRE102"].status == MAYBE
    assert found["PRE104"].status == MISS
    courses = {c["course_code"]: c for c in answer["courses"]}
    assert courses["PRE101"]["status"] == "match"
    assert courses["PRE101"]["outcome"] == accredited.pk
    assert courses["PRE102"]["status"] == "maybe"
    # PRE106 is not covered, but the catalogue names what would cover it.
    assert courses["PRE106"]["status"] == "miss"
    assert courses["PRE106"]["covered_by"]
    assert Decimal(answer["credits_required"]) == Decimal("76")
    assert Decimal(answer["credits_covered"]) == Decimal("3")
    assert Decimal(answer["credits_still_needed"]) == Decimal("73")


def test_the_page_shows_the_path_in_chinese_and_english(demo, client):
    from accounts.models import LearningAccount

    shao = LearningAccount.objects.get(holder__name="邵涛涛")
    accredited_outcome(
        shao,
        catalogue_current().get(entry__code="CQ-ZG-001"),
        UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory()),
    )
    preschool = Programme.objects.get(code="PRE-ZK")
    client.force_login(shao.holder)

    chinese = client.get(f"/file/goals/{preschool.pk}/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(f"/file/goals/{preschool.pk}/").content.decode()

    assert "幼儿园教研工作管理" in chinese
    assert 'data-testid="course-PRE101" data-status="match"' in chinese
    assert "Teaching and research work management" in english
    assert "Apply for transfer" in english


def test_the_apply_column_shows_only_when_a_course_can_be_applied_for(demo, client):
    from accounts.models import LearningAccount

    shao = LearningAccount.objects.get(holder__name="邵涛涛")
    preschool = Programme.objects.get(code="PRE-ZK")
    client.force_login(shao.holder)

    nothing = client.get(f"/file/goals/{preschool.pk}/").content.decode()

    assert "申请转换" not in nothing  # no column empty on every row
    assert 'name="course"' not in nothing

    accredited_outcome(
        shao,
        catalogue_current().get(entry__code="CQ-ZG-001"),
        UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory()),
    )

    some = client.get(f"/file/goals/{preschool.pk}/").content.decode()

    assert '<th scope="col">申请转换</th>' in some
    row = some.split('data-testid="course-PRE101"', 1)[1].split("</tr>", 1)[0]
    assert 'name="course"' in row
    other = some.split('data-testid="course-PRE104"', 1)[1].split("</tr>", 1)[0]
    assert 'data-label="申请转换">—</td>' in other


def test_a_transferred_course_shows_as_exempted_and_counts_once(learner, institution_officer):
    account = PersonalAccountFactory(holder=learner)
    version = catalogue_version()
    programme, courses = programme_with_courses(institution_officer.institution)
    rule(version, courses[0])
    rule(version, courses[1], credits="2")
    outcome = accredited_outcome(
        account, version, UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    )

    before = learning_path(account=account, programme=programme)
    application = transfer_apply(
        account=account, programme=programme, items=[(courses[0], outcome)], actor=learner
    )
    transfer_item_decide(item=application.items.get(), actor=institution_officer, decision="accept")
    after = by_code(learning_path(account=account, programme=programme))

    # One outcome, one course of the programme: the better rule is offered, not both.
    assert [line.status for line in before.courses] == [MATCH, MISS]
    assert before.credits_covered == Decimal("3")
    assert after[courses[0].code].transferred
    assert not after[courses[0].code].can_apply
    assert after[courses[1].code].status == MISS


def test_the_path_takes_the_same_number_of_queries_however_many_courses(
    learner, institution_officer
):
    account = PersonalAccountFactory(holder=learner)
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    small, small_courses = programme_with_courses(institution_officer.institution, "S", n=2)
    large, large_courses = programme_with_courses(institution_officer.institution, "L", n=12)
    for i, course in enumerate(small_courses + large_courses):
        version = catalogue_version(code=f"Q{i}", name=f"证书{i}")
        rule(version, course)
        if i % 2:
            accredited_outcome(account, version, decider)
        else:
            LearningOutcomeFactory(
                account=account,
                kind=version.kind,
                title=version.name,
                status=LearningOutcome.Status.SAVED,
            )

    with CaptureQueriesContext(connection) as few:
        learning_path(account=account, programme=small)
    with CaptureQueriesContext(connection) as many:
        path = learning_path(account=account, programme=large)

    assert len(many) == len(few)
    assert {line.status for line in path.courses} == {MATCH, MAYBE}
