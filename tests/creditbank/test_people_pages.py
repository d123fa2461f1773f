"""Issue 21: the places where people got stuck or misled, page by page (the browser tests at
390 and 1280 px are in tests/browser/test_people_pages.py)."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
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


# --- Role home pages ---------------------------------------------------------------------------


def tile(page: str, key: str) -> str:
    """The figure of one tile of the home page."""
    part = page.split(f'data-testid="tile-{key}"', 1)[1]
    return part.split('class="tile__figure">', 1)[1].split("<", 1)[0]


def tile_link(page: str, key: str) -> str:
    head = page.split(f'data-testid="tile-{key}"', 1)[0]
    return head.rsplit('href="', 1)[1].split('"', 1)[0]


def late(centre, **kwargs):
    import datetime

    from django.utils import timezone

    from tests.accreditation.factories import ApplicationFactory

    return ApplicationFactory(
        centre=centre,
        clock_started_on=timezone.localdate() - datetime.timedelta(days=60),
        **kwargs,
    )


def test_a_reviewer_lands_on_their_queue_by_due_date_with_the_overdue_counted(
    client, centre, other_centre, reviewer, django_assert_max_num_queries
):
    from tests.accreditation.factories import ApplicationFactory

    overdue = late(centre, assigned_to=reviewer)
    soon = ApplicationFactory(centre=centre, assigned_to=reviewer)
    ApplicationFactory(centre=centre)  # not assigned
    ApplicationFactory(centre=other_centre)  # another centre's business
    login_verified(client, reviewer)

    with django_assert_max_num_queries(12):
        page = client.get("/").content.decode()

    assert tile(page, "mine") == "2"
    assert tile(page, "mine-overdue") == "1"
    assert tile(page, "unassigned") == "1"
    assert tile_link(page, "mine") == "/centre/queue/?reviewer=me"
    listed = page.split('data-testid="next-due"', 1)[1]
    assert listed.index(f"#{overdue.pk} ") < listed.index(f"#{soon.pk} ")


def test_a_centre_admin_sees_unassigned_overdue_and_the_on_time_rate(
    client, centre, other_centre, centre_admin, reviewer
):
    from tests.accreditation.factories import ApplicationFactory, RejectionFactory

    late(centre)
    late(centre, assigned_to=reviewer)
    late(other_centre)
    decided = ApplicationFactory(centre=centre, state="rejected")
    RejectionFactory(application=decided, decided_by=reviewer, on_time=True)
    decided_late = ApplicationFactory(centre=centre, state="rejected")
    RejectionFactory(application=decided_late, decided_by=reviewer, on_time=False)
    login_verified(client, centre_admin)

    page = client.get("/").content.decode()

    assert tile(page, "unassigned") == "1"
    assert tile(page, "overdue") == "2"
    assert tile(page, "on-time") == "50%"
    assert tile_link(page, "overdue") == "/centre/deadlines/"


def test_an_officer_sees_the_courses_waiting_for_their_institution(
    client, transfer_world, institution_officer
):
    from transfers.services import transfer_apply

    transfer_apply(
        account=transfer_world["account"],
        programme=transfer_world["programme"],
        items=[(transfer_world["courses"][0], transfer_world["outcome"])],
        actor=transfer_world["account"].holder,
    )
    login_verified(client, institution_officer)

    page = client.get("/").content.decode()

    assert tile(page, "transfer-items") == "1"
    assert tile_link(page, "transfer-items") == "/institution/transfers/"


def test_an_institution_admin_sees_members_invitations_and_batches(
    client, institution_admin, collective
):
    login_verified(client, institution_admin)

    page = client.get("/").content.decode()

    pk = institution_admin.institution_id
    assert tile(page, "members") == "0"
    assert tile(page, "invitations") == "0"
    assert tile(page, "batches") == "0"
    # Counts under a heading that is not "待办事项"; importing and webhooks are links apart.
    assert "待办事项" not in page
    assert "本机构" in page
    assert 'data-testid="tile-import"' not in page
    assert f'href="/institutions/{pk}/members/import/" data-testid="action-import"' in page
    assert f'href="/institutions/{pk}/webhooks/" data-testid="action-webhooks"' in page


def test_the_management_admin_sees_catalogue_calendar_and_centres(client, centre, management_admin):
    login_verified(client, management_admin)

    page = client.get("/").content.decode()

    assert tile(page, "catalogue") == "0"
    from accounts.models import Centre

    at_work = Centre.objects.filter(is_active=True).count()
    assert at_work >= 1
    assert tile(page, "centres") == str(at_work)
    assert tile_link(page, "calendar") == "/calendar/manage/"
    assert tile_link(page, "centres") == "/admin/accounts/centre/"


def test_a_learner_gets_no_staff_tiles(client, shao):
    client.force_login(shao.holder)

    assert 'data-testid="role-home"' not in client.get("/").content.decode()


# --- The staff-access list ---------------------------------------------------------------------


@pytest.fixture
def reviewed(client, centre, reviewer, shao):
    """邵涛涛's certificate under review at the reviewer's centre, opened by the reviewer four
    times (the page, reloads)."""
    from tests.accreditation.factories import ApplicationFactory

    outcome = certificate_save(shao)
    application = ApplicationFactory(outcome=outcome, centre=centre, assigned_to=reviewer)
    login_verified(client, reviewer)
    for _n in range(4):
        assert client.get(f"/centre/applications/{application.pk}/").status_code == 200
    return application


def accesses_table(client, account) -> str:
    client.force_login(account.holder)
    page = client.get("/file/").content.decode()
    return page.split('data-testid="staff-accesses"', 1)[1].split("</table>", 1)[0]


def test_one_review_visit_is_one_row_worded_as_a_review(client, reviewed, shao):
    table = accesses_table(client, shao)

    assert table.count("<tr>") == 1 + 1  # the heading and one visit
    assert "审核认证申请" in table
    assert f"#{reviewed.pk}" in table
    assert "查阅终身学习档案" not in table


def test_a_review_on_another_day_is_another_row(client, reviewed, reviewer, shao):
    import datetime

    from accounts.models import StaffAccess

    StaffAccess.objects.filter(staff=reviewer).update(
        occurred_at=datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
    )
    login_verified(client, reviewer)
    client.get(f"/centre/applications/{reviewed.pk}/")

    assert StaffAccess.objects.filter(staff=reviewer, account=shao).count() == 2


def test_the_reason_of_a_review_is_in_english_on_english_pages(client, reviewed, shao):
    client.cookies["django_language"] = "en"

    table = accesses_table(client, shao)

    assert f"Review of accreditation application #{reviewed.pk}" in table
    assert "审核认证申请" not in table


def test_a_reveal_reason_recorded_in_chinese_reads_in_english(english):
    from django.utils import translation

    from accounts.models import RevealReason, StaffAccess

    with translation.override("zh-hans"):
        chinese = str(RevealReason.CENTRE_VISIT.label)
    access = StaffAccess(kind=StaffAccess.Kind.REVEALED_IDENTITY, reason=chinese, reference="V-1")

    assert access.reason_shown == "The learner's visit to the centre"


# --- The yearly chart --------------------------------------------------------------------------


def test_one_accredited_certificate_is_in_one_year_and_credits_have_their_own_chart(
    client, transfer_world, learner
):
    import datetime

    outcome = transfer_world["outcome"]
    outcome.achieved_on = datetime.date(2018, 6, 30)
    outcome.hours = 120
    outcome.save()
    client.force_login(learner)

    page = client.get("/file/").content.decode()

    chart = page.split('data-testid="totals-chart"', 2)[2]
    hours = chart.split('data-testid="hours-chart"', 1)[1].split("</svg>", 1)[0]
    credits = chart.split('data-testid="credits-chart"', 1)[1].split("</svg>", 1)[0]
    assert 'data-year="2018"' not in chart  # not split across the year achieved
    assert 'data-series="accredited_hours"' in hours
    assert 'data-series="accredited_credits"' not in hours
    assert 'data-series="accredited_credits"' in credits
    assert 'data-series="accredited_hours"' not in credits


def test_the_yearly_charts_are_titled_in_chinese(client, transfer_world, learner):
    client.force_login(learner)

    for path in ("/file/", "/file/inquiry/"):
        page = client.get(path).content.decode()

        assert 'aria-label="各年度学时"' in page, path
        assert 'aria-label="各年度学分"' in page, path
        assert "per year" not in page, path


# --- Add results -------------------------------------------------------------------------------


def training(**overrides):
    return {
        "kind": "training",
        "title": "学前教育安全培训",
        "achieved_on": "2025-06-30",
        "provider": "重庆市幼教培训中心",
        "hours": "24",
        "started_on": "2025-06-01",
        **overrides,
    }


def test_add_results_first_asks_for_the_kind(client, shao):
    client.force_login(shao.holder)

    page = client.get("/outcomes/add/").content.decode()

    assert 'data-testid="kind-step"' in page
    assert 'value="training"' in page
    assert 'name="title"' not in page


def test_a_training_shows_its_fields_marked_required_before_submission(client, shao):
    client.force_login(shao.holder)

    page = client.get("/outcomes/add/?kind=training").content.decode()

    for name in ("provider", "hours", "started_on"):
        label = page.split(f'for="id_{name}"', 1)[1].split("</label>", 1)[0]
        assert 'class="required"' in label, name
        assert f'name="{name}" ' in page or f'name="{name}"' in page
    assert 'name="certificate_number"' not in page  # not a certificate's field
    assert "证明材料上注明的学时。" in page
    assert "（如有）" not in page.split('id="id_hours_helptext"', 1)[1].split("</p>", 1)[0]
    assert "---------" not in page
    assert "请选择" in page  # the learning mode's prompt


def test_a_certificate_shows_the_certificate_number_and_no_hours(client, shao):
    client.force_login(shao.holder)

    page = client.get("/outcomes/add/?kind=vocational_qualification").content.decode()

    label = page.split('for="id_certificate_number"', 1)[1].split("</label>", 1)[0]
    assert 'class="required"' in label
    assert 'name="hours"' not in page


def test_a_refused_submission_sums_up_its_errors_and_keeps_the_evidence(client, shao):
    from outcomes.models import LearningOutcome
    from tests.outcomes.helpers import pending_files, stored_files
    from tests.outcomes.samples import pdf_bytes

    client.force_login(shao.holder)
    evidence = SimpleUploadedFile("培训证明.pdf", pdf_bytes(), content_type="application/pdf")

    refused = client.post("/outcomes/add/", {**training(provider=""), "evidence": [evidence]})

    page = refused.content.decode()
    summary = page.split('data-testid="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'href="#id_provider"' in summary
    kept = page.split('data-testid="pending-evidence"', 1)[1].split("</fieldset>", 1)[0]
    assert "培训证明.pdf" in kept
    assert not LearningOutcome.objects.exists()
    assert len(pending_files()) == 1
    token = kept.split('name="keep_evidence" value="', 1)[1].split('"', 1)[0]

    saved = client.post("/outcomes/add/", {**training(), "keep_evidence": [token]}, follow=True)

    outcome = LearningOutcome.objects.get()
    assert saved.redirect_chain[-1][0] == f"/outcomes/{outcome.pk}/"
    assert list(outcome.evidence.values_list("original_name", flat=True)) == ["培训证明.pdf"]
    assert pending_files() == []
    assert len(stored_files()) == 1


def test_a_corrupt_file_is_named_in_the_refusal_when_other_fields_are_wrong_too(client, shao):
    from outcomes.models import LearningOutcome
    from tests.outcomes.helpers import pending_files

    client.force_login(shao.holder)
    corrupt = SimpleUploadedFile("坏的.pdf", b"%PDF-1.4 not really", content_type="application/pdf")

    refused = client.post("/outcomes/add/", {**training(provider=""), "evidence": [corrupt]})

    page = refused.content.decode()
    summary = page.split('data-testid="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'href="#id_provider"' in summary
    assert 'href="#id_evidence"' in summary
    assert "坏的.pdf" in summary
    assert "提供机构：" in summary  # a full-width colon in Chinese
    assert "提供机构:" not in summary
    assert "类型：培训经历" in page
    beside = page.split('id="id_evidence_errors"', 1)[1].split("</ul>", 1)[0]
    assert "坏的.pdf" in beside
    assert 'data-testid="pending-evidence"' not in page  # not kept
    assert pending_files() == []
    assert not LearningOutcome.objects.exists()


def test_an_untucked_kept_file_is_left_out_and_deleted(client, shao):
    from outcomes.models import LearningOutcome
    from tests.outcomes.helpers import pending_files
    from tests.outcomes.samples import pdf_bytes

    client.force_login(shao.holder)
    first = SimpleUploadedFile("旧的.pdf", pdf_bytes("old"), content_type="application/pdf")
    client.post("/outcomes/add/", {**training(hours=""), "evidence": [first]})
    second = SimpleUploadedFile("新的.pdf", pdf_bytes("new"), content_type="application/pdf")

    client.post("/outcomes/add/", {**training(), "evidence": [second]})

    outcome = LearningOutcome.objects.get()
    assert list(outcome.evidence.values_list("original_name", flat=True)) == ["新的.pdf"]
    assert pending_files() == []


def test_abandoned_pending_files_are_swept_after_a_day(shao):
    import datetime
    from pathlib import Path

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from outcomes.pending import pending_keep, pending_sweep
    from outcomes.storage import Upload
    from tests.outcomes.helpers import pending_files
    from tests.outcomes.samples import pdf_bytes

    session: dict = {}
    pending_keep(session, account_id=shao.pk, uploads=[Upload("a.pdf", pdf_bytes())])
    path = Path(default_storage.path(session["outcomes_pending_evidence"][0]["path"]))

    assert pending_sweep() == 0
    assert pending_sweep(now=timezone.now() + datetime.timedelta(hours=25)) == 1
    assert not path.exists()
    assert pending_files() == []


# --- Phone first -------------------------------------------------------------------------------


def test_the_menu_folds_into_details_and_closing_the_account_is_apart(client, shao):
    client.force_login(shao.holder)

    page = client.get("/file/").content.decode()

    menu = page.split('data-testid="menu"', 1)[1].split("</details>", 1)[0]
    assert "<summary>菜单</summary>" in menu
    assert 'href="/outcomes/add/"' in menu
    rights = page.split('data-testid="file-rights"', 1)[1].split("</nav>", 1)[0]
    assert "/closure/" not in rights
    danger = page.split('data-testid="danger-zone"', 1)[1].split("</section>", 1)[0]
    assert "注销我的账户" in danger


def test_every_table_cell_of_the_queue_names_its_column(client, centre, reviewer):
    from tests.accreditation.factories import ApplicationFactory

    ApplicationFactory(centre=centre)
    login_verified(client, reviewer)

    page = client.get("/centre/queue/").content.decode()

    row = page.split('data-testid="queue-row"', 1)[1].split("</tr>", 1)[0]
    assert row.count("<td") == row.count("data-label=") == 5
