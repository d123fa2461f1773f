"""The pages of accreditation applications: the learner's, the centre's queue and the
reviewer's page of one application, through the browser's client."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import LedgerEntry, Role, StaffAccess
from accreditation import services
from accreditation.catalogue import catalogue_entry_publish
from accreditation.models import Application, ApplicationState, CatalogueEntry, Decision
from outcomes.models import LearningOutcome
from tests.accounts.factories import ManagementCentreFactory, UserFactory
from tests.accreditation.factories import ApplicationFactory, principal_entry_publish
from tests.outcomes.factories import certificate_save
from tests.outcomes.samples import pdf_bytes
from tests.people import login_verified, with_totp

pytestmark = pytest.mark.django_db


def in_english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def errors_of(page: str, field_id: str) -> str:
    """The error list rendered beside one field (empty when there is none)."""
    found = re.search(rf'<ul class="field__errors" id="{field_id}_errors">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


@pytest.fixture
def principal(db) -> CatalogueEntry:
    return principal_entry_publish()


@pytest.fixture
def teacher(db) -> CatalogueEntry:
    return catalogue_entry_publish(
        code="VQ-JY-002",
        name="幼儿园教师资格证书",
        name_en="Preschool teacher qualification certificate",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        hours=Decimal("60"),
        credits=Decimal("2"),
        evidence_required="证书原件扫描件",
        effective_from=datetime.date(2024, 1, 1),
        approving_body="重庆学分银行管理中心",
        rationale="教师资格",
        actor=None,
    ).entry


@pytest.fixture
def submitted(shao, centre, principal) -> Application:
    return services.application_submit(
        outcome=certificate_save(shao), centre=centre, actor=shao.holder, claimed_entry=principal
    )


@pytest.fixture
def in_review(submitted, reviewer) -> Application:
    return services.review_start(application=submitted, actor=reviewer)


@pytest.fixture
def second_reviewer(centre):
    return with_totp(
        UserFactory(username="rob", name="赵复核", role=Role.CENTRE_REVIEWER, centre=centre)
    )


def state_of(application: Application) -> str:
    return Application.objects.get(pk=application.pk).state


# --- Who may open what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/applications/", "/centre/queue/", "/applications/new/1/", "/centre/applications/1/"],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_staff_and_institutions_cannot_use_the_learners_pages(client, submitted, reviewer):
    login_verified(client, reviewer)

    assert client.get("/applications/").status_code == 403
    assert client.get(f"/applications/{submitted.pk}/").status_code == 403
    assert client.get(f"/applications/new/{submitted.outcome_id}/").status_code == 403


@pytest.mark.parametrize("who", ["shao", "institution_admin", "institution_officer"])
def test_learners_and_institutions_cannot_open_the_centres_pages(client, submitted, who, request):
    user = request.getfixturevalue(who)
    if who == "shao":
        client.force_login(user.holder)
    else:
        login_verified(client, user)

    assert client.get("/centre/queue/").status_code == 403
    assert client.get(f"/centre/applications/{submitted.pk}/").status_code == 403
    assert client.post(f"/centre/applications/{submitted.pk}/start-review/").status_code == 403
    assert state_of(submitted) == ApplicationState.SUBMITTED


def test_a_learner_cannot_open_another_learners_application(client, submitted, wang):
    client.force_login(wang.holder)

    assert client.get(f"/applications/{submitted.pk}/").status_code == 404
    assert client.get(f"/applications/{submitted.pk}/withdraw/").status_code == 404
    assert client.post(f"/applications/{submitted.pk}/withdraw/").status_code == 404
    assert client.get(f"/applications/new/{submitted.outcome_id}/").status_code == 404
    assert state_of(submitted) == ApplicationState.SUBMITTED


def test_a_reviewer_of_another_centre_gets_not_found(client, submitted, other_centre):
    stranger = with_totp(
        UserFactory(username="sam", role=Role.CENTRE_REVIEWER, centre=other_centre)
    )
    login_verified(client, stranger)

    assert client.get(f"/centre/applications/{submitted.pk}/").status_code == 404
    assert client.post(f"/centre/applications/{submitted.pk}/start-review/").status_code == 404
    assert not StaffAccess.objects.filter(staff=stranger).exists()
    assert f"#{submitted.pk} " not in client.get("/centre/queue/").content.decode()


# --- The learner's pages ------------------------------------------------------------------------


def test_the_file_page_offers_to_apply_and_says_what_a_saved_outcome_would_earn(
    client, shao, principal
):
    matching = certificate_save(shao)
    other = certificate_save(shao, title="茶艺师培训结业证书")
    client.force_login(shao.holder)
    in_english(client)

    page = client.get("/file/").content.decode()

    assert page.count('data-testid="would-earn"') == 1
    assert "would earn 120.0 hours and 4.0 credits" in page
    assert f'href="/applications/new/{matching.pk}/"' in page
    assert f'href="/applications/new/{other.pk}/"' in page


def test_the_file_page_reads_the_estimates_and_applications_in_a_few_queries(
    client, shao, principal, centre, django_assert_max_num_queries
):
    client.force_login(shao.holder)
    first = certificate_save(shao)
    services.application_submit(outcome=first, centre=centre, actor=shao.holder)
    certificate_save(shao, title="幼儿园园长任职资格证书 复训")
    with CaptureQueriesContext(connection) as few:
        client.get("/file/")
    for n in range(8):
        outcome = certificate_save(shao, title=f"幼儿园园长任职资格证书 第{n}期")
        if n % 2:
            services.application_submit(outcome=outcome, centre=centre, actor=shao.holder)

    with django_assert_max_num_queries(len(few)):
        page = client.get("/file/").content.decode()

    assert page.count('data-testid="apply"') == 5


def test_a_learner_applies_with_the_matching_entry_chosen_for_them(
    client, shao, centre, principal, teacher
):
    outcome = certificate_save(shao)
    client.force_login(shao.holder)
    in_english(client)

    form = client.get(f"/applications/new/{outcome.pk}/").content.decode()
    assert "it earns 120.0 learning hours and 4.0 credits" in form
    assert re.search(rf'<option value="{principal.pk}" selected>VQ-JY-001 ', form)
    assert f'<option value="{teacher.pk}">VQ-JY-002 ' in form

    response = client.post(
        f"/applications/new/{outcome.pk}/",
        {"centre": centre.pk, "claimed_entry": principal.pk, "statement": "请审核"},
        follow=True,
    )

    application = Application.objects.get(outcome=outcome)
    assert response.redirect_chain[-1][0] == f"/applications/{application.pk}/"
    assert application.claimed_entry == principal
    assert application.statement == "请审核"
    page = response.content.decode()
    assert f"is submitted to {centre.name} for accreditation" in page
    assert f"{application.due_on:%Y-%m-%d}" in page
    assert "15 working days left" in page


def test_submitting_without_a_centre_shows_the_error_beside_the_field(client, shao, centre):
    outcome = certificate_save(shao)
    client.force_login(shao.holder)
    in_english(client)

    response = client.post(f"/applications/new/{outcome.pk}/", {"centre": "", "statement": "x"})

    assert response.status_code == 200
    assert "This field is required." in errors_of(response.content.decode(), "id_centre")
    assert not Application.objects.exists()
    assert LearningOutcome.objects.get(pk=outcome.pk).status == LearningOutcome.Status.SAVED


def test_a_centre_that_takes_no_applications_is_refused_beside_the_field(client, shao):
    management_centre = ManagementCentreFactory.create()
    outcome = certificate_save(shao)
    client.force_login(shao.holder)

    response = client.post(f"/applications/new/{outcome.pk}/", {"centre": management_centre.pk})

    assert response.status_code == 200
    assert errors_of(response.content.decode(), "id_centre")
    assert not Application.objects.exists()


def test_an_outcome_already_submitted_leads_to_its_application(client, submitted, shao):
    client.force_login(shao.holder)

    response = client.get(f"/applications/new/{submitted.outcome_id}/")

    assert response["Location"] == f"/applications/{submitted.pk}/"


def test_a_learner_sees_their_applications_in_chinese(client, submitted, shao):
    client.force_login(shao.holder)

    page = client.get("/applications/").content.decode()

    assert '<html lang="zh-hans">' in page
    assert "幼儿园园长任职资格证书" in page
    assert submitted.centre.name in page
    assert "认证中心" in page  # the "Centre" column
    assert f"{submitted.due_on:%Y-%m-%d}" in page


def test_a_learner_sees_their_applications_in_english_with_days_left_and_decisions(
    client, shao, centre, principal, reviewer
):
    waiting = services.application_submit(
        outcome=certificate_save(shao), centre=centre, actor=shao.holder
    )
    decided = services.application_submit(
        outcome=certificate_save(shao, title="幼儿园园长任职资格证书（第二期）"),
        centre=centre,
        actor=shao.holder,
    )
    services.review_start(application=decided, actor=reviewer)
    services.accredit_against_catalogue(application=decided, actor=reviewer, entry=principal)
    client.force_login(shao.holder)
    in_english(client)

    page = client.get("/applications/").content.decode()

    assert "Time left for the decision" in page
    assert f"{waiting.due_on:%Y-%m-%d}" in page
    assert "15 working days left" in page
    assert "120.0 learning hours and 4.0 credits" in page
    assert page.count('data-testid="decision"') == 1


def test_the_application_page_shows_the_clock_the_timeline_and_the_decision(
    client, in_review, principal, reviewer, shao
):
    services.accredit_against_catalogue(
        application=in_review, actor=reviewer, entry=principal, reason="证书真实有效"
    )
    client.force_login(shao.holder)
    in_english(client)

    page = client.get(f"/applications/{in_review.pk}/").content.decode()

    assert 'data-testid="state">Accredited<' in page
    basis = "Against the catalogue: VQ-JY-001 Kindergarten principal qualification certificate"
    assert f"{basis}, version 1" in page
    assert "120.0 learning hours and 4.0 credits" in page
    timeline = page.split('data-testid="timeline"', 1)[1]
    assert "Submitted" in timeline
    assert "Review started" in timeline
    assert "王审核" in timeline
    assert "证书真实有效" in timeline
    assert 'data-testid="withdraw"' not in page


def test_a_provisional_due_date_is_marked_as_such(client, submitted, shao):
    Application.objects.filter(pk=submitted.pk).update(due_is_provisional=True)
    client.force_login(shao.holder)
    in_english(client)

    page = client.get(f"/applications/{submitted.pk}/").content.decode()

    assert 'data-testid="provisional"' in page
    assert "computed from the statutory holidays" in page


def test_a_learner_withdraws_after_confirming(client, submitted, shao):
    client.force_login(shao.holder)
    in_english(client)

    confirm = client.get(f"/applications/{submitted.pk}/withdraw/")
    assert "Yes, withdraw it" in confirm.content.decode()
    assert state_of(submitted) == ApplicationState.SUBMITTED

    response = client.post(
        f"/applications/{submitted.pk}/withdraw/", {"reason": "材料有误"}, follow=True
    )

    assert state_of(submitted) == ApplicationState.WITHDRAWN
    assert LearningOutcome.objects.get(pk=submitted.outcome_id).status == "saved"
    assert "The application is withdrawn." in response.content.decode()


def test_a_decided_application_cannot_be_withdrawn(client, in_review, reviewer, shao):
    services.application_reject(application=in_review, actor=reviewer, reason="证书无法核验")
    client.force_login(shao.holder)
    in_english(client)

    response = client.post(f"/applications/{in_review.pk}/withdraw/", {"reason": ""})

    assert response.status_code == 200
    assert "can no longer be withdrawn" in response.content.decode()
    assert state_of(in_review) == ApplicationState.REJECTED


def test_a_learner_asked_for_material_sees_why_and_sends_it(client, in_review, reviewer, shao):
    services.supplement_request(
        application=in_review, actor=reviewer, reason="请补充证书背面扫描件"
    )
    client.force_login(shao.holder)
    in_english(client)

    page = client.get(f"/applications/{in_review.pk}/").content.decode()
    assert "请补充证书背面扫描件" in page.split('data-testid="supplement-reason"', 1)[1]
    assert re.search(r"Clock stopped, \d+ working days? left when you resubmit", page)

    upload = SimpleUploadedFile("背面.pdf", pdf_bytes("证书背面"), "application/pdf")
    response = client.post(
        f"/applications/{in_review.pk}/resubmit/",
        {"evidence": [upload], "note": "已补充"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"/applications/{in_review.pk}/"
    application = Application.objects.get(pk=in_review.pk)
    assert application.state == ApplicationState.IN_REVIEW
    assert application.due_on is not None
    assert application.outcome.evidence.count() == 2


def test_sending_no_material_shows_the_error_beside_the_upload(client, in_review, reviewer, shao):
    services.supplement_request(application=in_review, actor=reviewer, reason="请补充")
    client.force_login(shao.holder)

    response = client.post(f"/applications/{in_review.pk}/resubmit/", {"note": "x"})

    assert response.status_code == 200
    assert errors_of(response.content.decode(), "id_evidence")
    assert state_of(in_review) == ApplicationState.SUPPLEMENT_REQUESTED


def test_the_dashboard_shows_totals_waiting_applications_and_what_to_apply_for(
    client, submitted, shao, principal
):
    saved = certificate_save(shao, title="幼儿园园长任职资格证书 复训")
    client.force_login(shao.holder)
    in_english(client)

    page = client.get("/").content.decode()

    assert re.search(r'data-testid="hours">0(\.0)?<', page)
    assert re.search(r'data-testid="credits">0(\.0)?<', page)
    pending = page.split('data-testid="pending-applications"', 1)[1].split("</ul>", 1)[0]
    assert f"due by {submitted.due_on:%Y-%m-%d}" in pending
    assert "15 working days left" in pending
    assert f'href="/applications/new/{saved.pk}/"' in page
    assert "would earn 120.0 hours and 4.0 credits" in page


# --- The centre's queue -------------------------------------------------------------------------


def test_the_queue_lists_the_centres_applications_in_chinese(client, submitted, reviewer):
    login_verified(client, reviewer)

    page = client.get("/centre/queue/").content.decode()

    assert '<html lang="zh-hans">' in page
    assert f'href="/centre/applications/{submitted.pk}/"' in page
    assert submitted.account.number in page
    assert "类型" in page  # the "Kind" column


def test_the_queue_in_english_sorts_by_due_date_and_shows_overdue_in_red(client, centre, reviewer):
    late = ApplicationFactory(
        centre=centre, clock_started_on=timezone.localdate() - datetime.timedelta(days=60)
    )
    soon = ApplicationFactory(
        centre=centre, clock_started_on=timezone.localdate() - datetime.timedelta(days=7)
    )
    fresh = ApplicationFactory(centre=centre)
    elsewhere = ApplicationFactory()
    login_verified(client, reviewer)
    in_english(client)

    page = client.get("/centre/queue/").content.decode()

    rows = re.findall(r'href="/centre/applications/(\d+)/">#', page)
    assert rows == [str(late.pk), str(soon.pk), str(fresh.pk)]
    assert str(elsewhere.pk) not in rows
    assert "Due on" in page
    late_row = page.split(f"#{late.pk} ", 1)[1].split("</tr>", 1)[0]
    assert 'class="overdue"' in late_row
    assert "working days overdue" in late_row
    assert 'class="overdue"' not in page.split(f"#{soon.pk} ", 1)[1].split("</tr>", 1)[0]

    newest_first = client.get("/centre/queue/?ordering=-submitted_at").content.decode()
    assert re.findall(r'href="/centre/applications/(\d+)/">#', newest_first)[0] == str(fresh.pk)


def test_the_queue_filters_by_reviewer_state_and_kind(client, centre, reviewer, centre_admin):
    mine = ApplicationFactory(centre=centre, assigned_to=reviewer)
    admins = ApplicationFactory(centre=centre, assigned_to=centre_admin)
    nobodys = ApplicationFactory(centre=centre, outcome__kind="training")
    rejected = ApplicationFactory(centre=centre, state=ApplicationState.REJECTED)
    login_verified(client, reviewer)

    def listed(query: str) -> set[int]:
        page = client.get(f"/centre/queue/?{query}").content.decode()
        return {int(pk) for pk in re.findall(r'href="/centre/applications/(\d+)/">#', page)}

    assert listed("") == {mine.pk, admins.pk, nobodys.pk}
    assert listed("reviewer=me") == {mine.pk}
    assert listed("reviewer=none") == {nobodys.pk}
    assert listed(f"reviewer={centre_admin.pk}") == {admins.pk}
    assert listed("kind=training") == {nobodys.pk}
    assert listed("state=rejected") == {rejected.pk}
    # Nonsense in the query string is ignored, never a 500.
    assert listed("state=nonsense&reviewer=x&ordering=;drop&page=abc") == listed("")


def test_the_queue_pages_by_fifty(client, centre, reviewer):
    ApplicationFactory.create_batch(51, centre=centre)
    login_verified(client, reviewer)

    first = client.get("/centre/queue/?reviewer=none").content.decode()
    second = client.get("/centre/queue/?reviewer=none&page=2").content.decode()

    assert first.count('data-testid="queue-row"') == 50
    assert second.count('data-testid="queue-row"') == 1
    assert "reviewer=none&amp;page=2" in first


def test_the_queue_reads_the_same_number_of_queries_for_one_row_or_two_hundred(
    client, centre, reviewer, django_assert_num_queries
):
    today = timezone.localdate()
    ApplicationFactory(centre=centre, assigned_to=reviewer)
    login_verified(client, reviewer)
    client.get("/centre/queue/")  # the session settles
    with CaptureQueriesContext(connection) as one_row:
        client.get("/centre/queue/")
    for n in range(199):
        # Each with its own due date: days left must not cost a query per date.
        ApplicationFactory(
            centre=centre,
            assigned_to=reviewer if n % 2 else None,
            clock_started_on=today - datetime.timedelta(days=n * 3),
        )

    with django_assert_num_queries(len(one_row)):
        page = client.get("/centre/queue/").content.decode()

    assert page.count('data-testid="queue-row"') == 50  # the first page of 200


def test_the_management_admin_sees_every_centre_and_can_pick_one(
    client, centre, other_centre, management_admin
):
    here = ApplicationFactory(centre=centre)
    there = ApplicationFactory(centre=other_centre)
    login_verified(client, management_admin)

    everything = client.get("/centre/queue/").content.decode()
    one = client.get(f"/centre/queue/?centre={other_centre.code}").content.decode()

    assert f"#{here.pk} " in everything
    assert f"#{there.pk} " in everything
    assert f"#{here.pk} " not in one
    assert f"#{there.pk} " in one


# --- The reviewer's page of one application -----------------------------------------------------


def test_opening_an_application_is_recorded_in_the_learners_file(client, submitted, reviewer):
    login_verified(client, reviewer)
    in_english(client)

    page = client.get(f"/centre/applications/{submitted.pk}/").content.decode()

    access = StaffAccess.objects.get(staff=reviewer, account=submitted.account)
    assert f"#{submitted.pk}" in access.reason_shown
    assert "幼儿园园长任职资格证书" in page
    assert "VQ-JY-001" in page
    assert "120.0 learning hours and 4.0 credits" in page
    # Having opened the application, the reviewer may open its evidence.
    evidence = submitted.outcome.evidence.get()
    assert f'href="/evidence/{evidence.pk}/"' in page
    assert client.get(f"/evidence/{evidence.pk}/").status_code == 200


def test_the_reviewers_page_is_in_chinese_by_default(client, submitted, reviewer):
    login_verified(client, reviewer)

    page = client.get(f"/centre/applications/{submitted.pk}/").content.decode()

    assert '<html lang="zh-hans">' in page
    assert "类型" in page
    assert submitted.account.number in page


def test_a_reviewer_starts_the_review_and_accredits_against_the_catalogue(
    client, submitted, reviewer, principal, teacher, shao
):
    login_verified(client, reviewer)
    in_english(client)
    page = client.get(f"/centre/applications/{submitted.pk}/").content.decode()
    assert 'data-testid="move-start-review"' in page
    assert 'data-testid="move-accredit"' not in page

    started = client.post(f"/centre/applications/{submitted.pk}/start-review/", follow=True)

    page = started.content.decode()
    assert "You are reviewing this application." in page
    accredit = page.split('data-testid="move-accredit"', 1)[1].split("</form>", 1)[0]
    assert re.search(rf'<option value="{principal.pk}" selected>', accredit)  # the claimed one
    assert 'data-testid="move-reject"' in page
    assert 'data-testid="move-request-supplement"' in page
    assert 'data-testid="move-approve"' not in page

    client.post(
        f"/centre/applications/{submitted.pk}/accredit/",
        {"accredit-entry": principal.pk, "accredit-reason": ""},
    )

    decision = Decision.objects.get(application=submitted)
    assert (decision.hours, decision.credits) == (Decimal("120.0"), Decimal("4.0"))
    assert decision.catalogue_version is not None
    assert decision.catalogue_version.entry == principal
    assert LedgerEntry.objects.get(account=shao).credits == Decimal("4.0")
    assert (
        'data-testid="no-moves"'
        in client.get(f"/centre/applications/{submitted.pk}/").content.decode()
    )


def test_rejecting_without_a_reason_shows_the_error_beside_the_reason(client, in_review, reviewer):
    login_verified(client, reviewer)
    in_english(client)

    response = client.post(f"/centre/applications/{in_review.pk}/reject/", {"reject-reason": " "})

    assert response.status_code == 200
    page = response.content.decode()
    assert "This field is required." in errors_of(page, "id_reject-reason")
    assert not errors_of(page, "id_request-supplement-reason")
    assert state_of(in_review) == ApplicationState.IN_REVIEW
    assert not Decision.objects.exists()


def test_an_entry_of_another_kind_is_refused_beside_the_entry_field(
    client, in_review, reviewer, teacher
):
    Application.objects.filter(pk=in_review.pk).update(kind="training")
    login_verified(client, reviewer)
    in_english(client)

    # The teacher entry is of another kind than the application now: not even on offer.
    response = client.post(
        f"/centre/applications/{in_review.pk}/accredit/", {"accredit-entry": teacher.pk}
    )

    assert response.status_code == 200
    assert errors_of(response.content.decode(), "id_accredit-entry")
    assert state_of(in_review) == ApplicationState.IN_REVIEW


def test_a_move_someone_else_made_first_is_explained_not_a_500(
    client, submitted, reviewer, second_reviewer
):
    services.review_start(application=submitted, actor=second_reviewer)
    login_verified(client, reviewer)
    in_english(client)

    response = client.post(f"/centre/applications/{submitted.pk}/start-review/")

    assert response.status_code == 200
    assert (
        "assigned to another reviewer"
        in response.content.decode().split('data-testid="page-errors"', 1)[1]
    )
    assert Application.objects.get(pk=submitted.pk).assigned_to == second_reviewer


def test_an_unknown_move_is_not_found(client, submitted, reviewer):
    login_verified(client, reviewer)

    assert client.post(f"/centre/applications/{submitted.pk}/delete/").status_code == 404
    assert client.get(f"/centre/applications/{submitted.pk}/start-review/").status_code == 405


def test_only_the_centre_admin_assigns(client, submitted, reviewer, centre_admin):
    login_verified(client, reviewer)
    page = client.get(f"/centre/applications/{submitted.pk}/").content.decode()
    assert 'data-testid="move-assign"' not in page
    client.post(f"/centre/applications/{submitted.pk}/assign/", {"assign-reviewer": reviewer.pk})
    assert Application.objects.get(pk=submitted.pk).assigned_to is None

    login_verified(client, centre_admin)
    page = client.get(f"/centre/applications/{submitted.pk}/").content.decode()
    assert 'data-testid="move-assign"' in page
    client.post(f"/centre/applications/{submitted.pk}/assign/", {"assign-reviewer": reviewer.pk})

    assert Application.objects.get(pk=submitted.pk).assigned_to == reviewer


def test_an_individual_accreditation_needs_a_second_reviewer(
    client, in_review, reviewer, second_reviewer, shao
):
    login_verified(client, reviewer)
    in_english(client)
    client.post(
        f"/centre/applications/{in_review.pk}/propose/",
        {"propose-hours": "30", "propose-credits": "1.5", "propose-reason": "课程内容相当"},
    )
    page = client.get(f"/centre/applications/{in_review.pk}/").content.decode()
    assert 'data-testid="move-approve"' not in page  # not for the proposer
    assert 'data-testid="move-propose"' not in page  # one proposal at a time
    assert "30.0 learning hours and 1.5 credits, proposed by 王审核" in page

    login_verified(client, second_reviewer)
    page = client.get(f"/centre/applications/{in_review.pk}/").content.decode()
    assert 'data-testid="move-approve"' in page
    assert 'data-testid="move-return-proposal"' in page
    client.post(f"/centre/applications/{in_review.pk}/approve/")

    decision = Decision.objects.get(application=in_review)
    assert decision.basis == "individual"
    assert decision.approved_by == second_reviewer
    assert LedgerEntry.objects.get(account=shao).hours == Decimal("30.0")


def test_a_proposal_with_bad_amounts_is_refused_beside_the_fields(client, in_review, reviewer):
    login_verified(client, reviewer)

    response = client.post(
        f"/centre/applications/{in_review.pk}/propose/",
        {"propose-hours": "0", "propose-credits": "abc", "propose-reason": "x"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert errors_of(page, "id_propose-hours")
    assert errors_of(page, "id_propose-credits")
    assert not Application.objects.get(pk=in_review.pk).has_proposal


def test_asking_for_material_stops_the_clock_on_the_reviewers_page(client, in_review, reviewer):
    login_verified(client, reviewer)
    in_english(client)

    response = client.post(
        f"/centre/applications/{in_review.pk}/request-supplement/",
        {"request-supplement-reason": "请补充证书背面"},
        follow=True,
    )

    assert state_of(in_review) == ApplicationState.SUPPLEMENT_REQUESTED
    assert re.search(
        r"Clock stopped, \d+ working days? left when the learner resubmits",
        response.content.decode(),
    )


def test_the_management_admin_reads_an_application_but_makes_no_move(
    client, submitted, management_admin
):
    login_verified(client, management_admin)

    page = client.get(f"/centre/applications/{submitted.pk}/").content.decode()
    client.post(f"/centre/applications/{submitted.pk}/start-review/")

    assert 'data-testid="no-moves"' in page
    assert StaffAccess.objects.filter(staff=management_admin).exists()
    assert state_of(submitted) == ApplicationState.SUBMITTED


def test_learners_find_their_applications_and_staff_the_queue_in_the_navigation(
    client, shao, reviewer, institution_admin
):
    client.force_login(shao.holder)
    assert 'href="/applications/"' in client.get("/").content.decode()

    login_verified(client, reviewer)
    page = client.get("/").content.decode()
    assert 'href="/centre/queue/"' in page
    assert 'href="/applications/"' not in page

    login_verified(client, institution_admin)
    assert 'href="/centre/queue/"' not in client.get("/").content.decode()


def test_the_page_shown_after_a_move_is_not_recorded_as_another_look(client, submitted, reviewer):
    login_verified(client, reviewer)
    client.get(f"/centre/applications/{submitted.pk}/")

    client.post(f"/centre/applications/{submitted.pk}/start-review/", follow=True)
    assert StaffAccess.objects.filter(staff=reviewer).count() == 1

    # Opening it again the same day is the same visit (issue 21: one row per visit); another
    # day's look is a new row (tests/creditbank/test_people_pages.py).
    client.get(f"/centre/applications/{submitted.pk}/")
    assert StaffAccess.objects.filter(staff=reviewer).count() == 1


# --- Choosing the centre ------------------------------------------------------------------------


def centre_options(page: str) -> str:
    return page.split('name="centre"', 1)[1].split("</select>", 1)[0]


def test_a_first_application_asks_for_a_centre_with_a_real_prompt(client, shao, centre):
    outcome = certificate_save(shao)
    client.force_login(shao.holder)

    options = centre_options(client.get(f"/applications/new/{outcome.pk}/").content.decode())

    assert '<option value="" selected>请选择认证分中心…</option>' in options
    assert "---------" not in options


def test_the_next_application_starts_at_the_learners_usual_centre(
    client, shao, centre, other_centre
):
    first = certificate_save(shao)
    services.application_submit(outcome=first, centre=other_centre, actor=shao.holder)
    second = certificate_save(shao, title="茶艺师培训结业证书")
    client.force_login(shao.holder)

    options = centre_options(client.get(f"/applications/new/{second.pk}/").content.decode())

    assert f'<option value="{other_centre.pk}" selected>' in options
    assert f'<option value="{centre.pk}">' in options


def test_a_refused_application_sums_up_its_errors_at_the_top(client, shao, centre):
    outcome = certificate_save(shao)
    client.force_login(shao.holder)

    page = client.post(f"/applications/new/{outcome.pk}/", {"centre": ""}).content.decode()

    summary = page.split('data-testid="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'href="#id_centre"' in summary
    assert not Application.objects.exists()


def test_the_time_left_is_labelled_without_repeating_its_value(client, shao, centre):
    application = services.application_submit(
        outcome=certificate_save(shao), centre=centre, actor=shao.holder
    )
    client.force_login(shao.holder)

    for path in ("/applications/", f"/applications/{application.pk}/"):
        page = client.get(path).content.decode()

        assert "办结时限" in page, path
        assert "剩余15个工作日" in page, path
        assert "剩余工作日" not in page, path  # the label said what the value says
