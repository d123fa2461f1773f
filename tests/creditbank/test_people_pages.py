"""Issue 21: the places where people got stuck or misled, page by page (the browser tests at
390 and 1280 px are in tests/browser/test_people_pages.py)."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import LearningAccount, User
from tests.outcomes.factories import certificate_save
from tests.people import login_verified

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=StringIO())


# --- The demo institution admin ----------------------------------------------------------------


def test_the_demo_institution_admin_finds_the_members_of_an_open_collective_account(client):
    seed()
    admin = User.objects.get(username="inst.admin")
    login_verified(client, admin)

    response = client.get("/institution/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/institutions/{admin.institution_id}/members/"
    account = LearningAccount.objects.get(institution=admin.institution)
    assert account.status == LearningAccount.Status.ACTIVE
    assert account.kind == LearningAccount.Kind.COLLECTIVE


def test_seeding_again_keeps_the_demo_sessions_signed_in(client):
    seed()
    learner = User.objects.get(phone="13800000001")
    client.force_login(learner)
    password = learner.password

    seed()

    learner.refresh_from_db()
    assert learner.password == password
    assert client.get("/").context["user"].is_authenticated
    assert LearningAccount.objects.filter(kind=LearningAccount.Kind.COLLECTIVE).count() == 1


def test_seeding_sets_a_changed_demo_password_back(client):
    seed()
    learner = User.objects.get(phone="13800000001")
    learner.set_password("Something-else-2026")
    learner.save()

    seed()

    learner.refresh_from_db()
    assert learner.check_password("CreditBank-Demo-2026")


def test_the_application_page_sends_a_signed_in_institution_admin_to_their_members(
    client, institution_admin, collective
):
    login_verified(client, institution_admin)

    response = client.get("/institutions/apply/", follow=True)

    assert response.redirect_chain[-1][0] == (
        f"/institutions/{institution_admin.institution_id}/members/"
    )
    assert "已申请集体账户" in response.content.decode()


def test_the_application_page_tells_a_signed_in_learner_why_it_is_not_shown(client, learner):
    client.force_login(learner)

    response = client.get("/institutions/apply/", follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert "请先退出登录" in response.content.decode()


# --- Saved result -> apply ---------------------------------------------------------------------


def test_a_saved_result_offers_to_apply_for_its_accreditation(client, shao):
    outcome = certificate_save(shao)
    client.force_login(shao.holder)

    page = client.get(f"/outcomes/{outcome.pk}/").content.decode()

    assert f'href="/applications/new/{outcome.pk}/"' in page
    assert "申请认证" in page


def test_a_submitted_result_offers_no_second_application(client, shao):
    outcome = certificate_save(shao)
    outcome.status = outcome.Status.SUBMITTED
    outcome.save()
    client.force_login(shao.holder)

    page = client.get(f"/outcomes/{outcome.pk}/").content.decode()

    assert f"/applications/new/{outcome.pk}/" not in page


def test_with_no_application_the_page_lists_the_saved_results_to_apply_for(client, shao):
    outcome = certificate_save(shao)
    client.force_login(shao.holder)

    page = client.get("/applications/").content.decode()

    assert f'href="/applications/new/{outcome.pk}/"' in page


def test_with_nothing_saved_the_applications_page_sends_the_learner_to_add_results(client, shao):
    client.force_login(shao.holder)

    page = client.get("/applications/").content.decode()

    assert 'href="/outcomes/add/"' in page


# --- The learning path -------------------------------------------------------------------------


def test_the_learning_path_says_maybe_where_a_catalogue_entry_would_cover_the_course(
    client, transfer_world, learner
):
    from tests.accreditation.factories import catalogue_version
    from tests.transfers.factories import programme_with_courses, rule

    programme, courses = programme_with_courses(transfer_world["programme"].institution, "PRE-B", 3)
    rule(catalogue_version("CQ-ZG-002", "幼儿园教师资格证书"), courses[1])
    client.force_login(learner)

    page = client.get(f"/file/goals/{programme.pk}/").content.decode()

    second = page.split(f'data-testid="course-{courses[1].code}"', 1)[1].split("</tr>", 1)[0]
    third = page.split(f'data-testid="course-{courses[2].code}"', 1)[1].split("</tr>", 1)[0]
    assert "可能可抵免" in second
    assert "幼儿园教师资格证书" in second
    assert "可能可抵免" not in third
    assert "badge--rejected" not in page
    assert "抵免依据" in page
    assert "办理人" not in page
