import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import BusinessTransaction, LearningAccount, StaffAccess
from accounts.rights.services import visit_book
from tests.accreditation.factories import ApplicationFactory
from tests.outcomes.factories import certificate_save
from tests.people import RESIDENT, login_verified, with_check

pytestmark = pytest.mark.django_db


COUNTER_FORM = {
    "name": "周到访",
    "id_type": "resident_id",
    "id_number": with_check("50010619700101123"),
    "phone": "13811112222",
    "email": "visitor@example.cn",
    "document_note": "居民身份证原件，有效期至2031-05-01",
}


def test_a_reviewer_opens_an_account_for_a_person_at_the_centre(client, reviewer):
    login_verified(client, reviewer)

    response = client.post("/centre/accounts/new/", COUNTER_FORM, follow=True)

    account = LearningAccount.objects.get(holder__name="周到访")
    assert account.identity_check == "in_person_at_centre"
    assert account.opened_at_centre == reviewer.centre
    assert account.opened_by == reviewer
    assert account.document_note == COUNTER_FORM["document_note"]
    assert account.holder is not None
    assert not account.holder.has_usable_password()
    assert account.transactions.get().actor == reviewer
    assert response.redirect_chain[-1][0] == f"/centre/learners/{account.number}/"


def test_the_person_opened_at_the_centre_chooses_a_password_from_the_email(
    client, reviewer, settings, django_capture_on_commit_callbacks
):
    # The link is on the portal's own address, whatever host the counter's request named.
    settings.PORTAL_URL = "https://xuefen.example.cn"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "mirror.example.com"]
    login_verified(client, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/centre/accounts/new/", COUNTER_FORM, HTTP_HOST="mirror.example.com")
    client.logout()

    assert mail.outbox[0].to == ["visitor@example.cn"]
    body = str(mail.outbox[0].body)
    assert "mirror.example.com" not in body
    link = re.search(r"https://xuefen\.example\.cn(/password/reset/\S+)", body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Counter-chosen-2026", "new_password2": "Counter-chosen-2026"},
    )

    signed_in = client.post(
        "/login/", {"username": "13811112222", "password": "Counter-chosen-2026"}
    )
    assert signed_in["Location"] == "/"


def test_the_counter_api_opens_an_account_and_refuses_learners(api_client, reviewer, learner):
    api_client.force_authenticate(learner)
    assert api_client.post("/api/v1/centre/accounts/", COUNTER_FORM).status_code == 403

    api_client.force_authenticate(reviewer)
    response = api_client.post("/api/v1/centre/accounts/", COUNTER_FORM, format="json")

    assert response.status_code == 201
    assert response.json()["identity_check"] == "in_person_at_centre"
    assert COUNTER_FORM["id_number"] not in response.content.decode()


def test_staff_find_a_learner_by_number_or_by_document_and_see_only_the_masked_number(
    client, reviewer, shao
):
    login_verified(client, reviewer)

    by_number = client.post("/centre/learners/", {"account_number": shao.number.lower()})
    by_document = client.post(
        "/centre/learners/", {"id_type": "resident_id", "id_number": RESIDENT}
    )

    for response in (by_number, by_document):
        page = response.content.decode()
        assert shao.number in page
        assert shao.id_number_masked in page
        assert RESIDENT not in page
    assert not StaffAccess.objects.exists()


def test_opening_a_file_needs_a_reason_which_is_recorded_and_shown_to_the_learner(
    client, reviewer, shao
):
    login_verified(client, reviewer)

    asked = client.get(f"/centre/learners/{shao.number}/").content.decode()
    refused = client.post(f"/centre/learners/{shao.number}/", {"reason": "  "})
    opened = client.post(
        f"/centre/learners/{shao.number}/", {"reason": "审核认证申请 2026-0012"}
    ).content.decode()

    assert "账户开设" not in asked  # the file itself is not shown before a reason
    assert 'id="id_reason_errors"' in refused.content.decode()
    assert "账户开设" in opened
    access = StaffAccess.objects.get()
    assert (access.staff, access.kind, access.reason) == (
        reviewer,
        "viewed_file",
        "审核认证申请 2026-0012",
    )
    client.force_login(shao.holder)
    learner_page = client.get("/file/").content.decode()
    assert "审核认证申请 2026-0012" in learner_page
    assert "王审核" in learner_page


def test_revealing_the_identity_number_is_recorded_with_its_reason(client, reviewer, shao):
    application = ApplicationFactory(outcome=certificate_save(shao), centre=reviewer.centre)
    login_verified(client, reviewer)

    page = client.post(
        f"/centre/learners/{shao.number}/reveal/",
        {"reason": "application_review", "reference": str(application.pk)},
    ).content.decode()

    assert RESIDENT in page
    assert StaffAccess.objects.get().kind == "revealed_identity"


def test_the_reveal_api_answers_the_number_and_the_learner_sees_the_record(
    api_client, reviewer, shao
):
    visit = visit_book(
        user=shao.holder,
        centre_id=reviewer.centre_id,
        visit_on=timezone.localdate() + datetime.timedelta(days=1),
        purpose="review",
    )
    api_client.force_authenticate(reviewer)
    without_reason = api_client.post(f"/api/v1/accounts/{shao.number}/identity-reveals/", {})
    revealed = api_client.post(
        f"/api/v1/accounts/{shao.number}/identity-reveals/",
        {"reason": "centre_visit", "reference": str(visit.pk)},
    )
    api_client.force_authenticate(shao.holder)
    accesses = api_client.get("/api/v1/accounts/me/staff-accesses/").json()["results"]

    assert without_reason.status_code == 400
    assert {"reason", "reference"} <= set(without_reason.json())
    assert revealed.json()["id_number"] == RESIDENT
    assert [(a["staff"], a["kind"], a["reason"]) for a in accesses] == [
        ("王审核", "revealed_identity", "学习者到本中心现场办理")
    ]
    assert accesses[0]["reference"].startswith(f"{visit.visit_on} 的到访预约 #{visit.pk}")


def test_the_lookup_api_answers_masked(api_client, reviewer, shao):
    api_client.force_authenticate(reviewer)

    found = api_client.post(
        "/api/v1/accounts/lookup/", {"id_type": "resident_id", "id_number": RESIDENT}
    )
    missing = api_client.post("/api/v1/accounts/lookup/", {"account_number": "XF0000000000"})

    assert found.json()["account_number"] == shao.number
    assert RESIDENT not in found.content.decode()
    assert missing.status_code == 404


@pytest.mark.parametrize("who", ["learner", "institution_admin", "institution_officer"])
def test_people_outside_the_centres_cannot_open_a_learners_file(client, shao, who, request):
    user = request.getfixturevalue(who)
    if who == "learner":
        client.force_login(user)
    else:
        login_verified(client, user)

    assert client.get("/centre/learners/").status_code == 403
    assert client.post(f"/centre/learners/{shao.number}/", {"reason": "x"}).status_code == 403
    assert (
        client.post(f"/centre/learners/{shao.number}/reveal/", {"reason": "x"}).status_code == 403
    )
    assert not StaffAccess.objects.exists()


def test_the_learner_downloads_the_file_as_a_pdf_in_chinese(client, shao, tmp_path):
    client.force_login(shao.holder)

    response = client.get("/file/pdf/")

    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    path = tmp_path / "file.pdf"
    path.write_bytes(response.content)
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    # pypdf reads fpdf2's two-byte glyph codes with NULs between characters.
    text = re.sub(r"[\s\x00]+", "", text)
    assert "终身学习档案" in text
    assert "邵涛涛" in text
    assert shao.number in text
    assert shao.id_number_masked in text
    assert RESIDENT not in text
    assert shao.transactions.filter(kind=BusinessTransaction.Kind.FILE_DOWNLOADED).count() == 1


def test_a_mail_server_that_is_down_neither_fails_the_counter_nor_loses_the_email(
    client, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    from accounts import tasks

    sent: list[dict] = []
    monkeypatch.setattr(tasks.send_password_setup_email, "delay", lambda **kw: sent.append(kw))
    login_verified(client, reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/centre/accounts/new/", COUNTER_FORM)

    account = LearningAccount.objects.get(holder__name="周到访")
    assert response.status_code == 302
    assert sent == [{"user_id": account.holder_id}]


def test_a_broker_that_is_down_does_not_fail_the_counter_after_the_account_is_opened(
    client, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from accounts import tasks

    def broker_down(**kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_password_setup_email, "delay", broker_down)
    login_verified(client, reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/centre/accounts/new/", COUNTER_FORM)

    # The account is open: the counter is told so, not asked to try again.
    assert response.status_code == 302
    assert LearningAccount.objects.filter(holder__name="周到访").count() == 1
