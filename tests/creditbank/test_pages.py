from urllib.parse import urlsplit

import pytest
from django.core import mail
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.factories import UserFactory
from tests.people import PASSWORD, otp_code

pytestmark = pytest.mark.django_db


def test_a_visitor_sees_what_the_credit_bank_does_and_a_way_to_sign_in(client):
    page = client.get("/").content.decode()

    assert "学习账户" in page
    assert 'href="/login/"' in page


def test_a_learner_signs_in_by_phone_without_a_second_factor(client, learner):
    response = client.post(
        "/login/", {"username": learner.phone, "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/"
    assert "李爱丽" in response.content.decode()


def test_staff_give_a_code_after_the_password_and_then_see_their_dashboard(client, reviewer):
    response = client.post("/login/", {"username": reviewer.phone, "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/mfa/verify/?next=%2F"

    wrong = client.post("/mfa/verify/", {"code": "000000", "next": "/"})
    assert "验证码无效" in wrong.content.decode()

    response = client.post("/mfa/verify/", {"code": otp_code(reviewer), "next": "/"}, follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/"
    assert "王审核" in page
    assert "认证分中心审核员" in page
    assert reviewer.centre.name in page


def test_a_wrong_password_shows_a_clear_message_on_the_form(client, reviewer):
    response = client.post("/login/", {"username": "rita", "password": "wrong"})

    assert response.status_code == 200
    assert "密码不匹配" in response.content.decode()


def test_an_empty_form_marks_each_required_field(client, db):
    response = client.post("/login/", {})

    page = response.content.decode()
    assert page.count('class="field field--invalid"') == 2
    assert "该字段是必填项。" in page


def test_signing_out_ends_the_session(client, reviewer):
    client.force_login(reviewer)

    client.post("/logout/")

    assert "王审核" not in client.get("/").content.decode()


def test_pages_use_local_assets_only(client, learner):
    client.force_login(learner)
    page = client.get("/").content.decode()

    assert "/static/css/portal.css" in page
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page


def test_an_unknown_page_gets_the_portal_404(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404


def test_new_staff_set_up_an_authenticator_before_anything_else(client, centre):
    from accounts.models import Role

    newbie = UserFactory(username="newbie", role=Role.CENTRE_REVIEWER, centre=centre)
    client.post("/login/", {"username": "newbie", "password": PASSWORD})

    setup = client.get("/", follow=True)
    assert setup.redirect_chain[-1][0].startswith("/mfa/setup/")
    assert "<svg" in setup.content.decode()
    device = TOTPDevice.objects.get(user=newbie, confirmed=False)

    response = client.post("/mfa/setup/", {"code": totp(device.bin_key), "next": "/"}, follow=True)

    device.refresh_from_db()
    assert device.confirmed
    assert response.redirect_chain[-1][0] == "/"
    assert client.get("/").status_code == 200


def test_the_admin_site_signs_in_through_the_portal(client, db):
    response = client.get("/admin/login/?next=/admin/")

    assert response["Location"] == "/login/?next=/admin/"


def test_a_learner_resets_a_forgotten_password_by_email(
    client, learner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset/", {"email": "ALICE@example.cn"})

    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password/reset/" in line)
    form_page = client.get(urlsplit(link.strip()).path, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "A-new-password-2026", "new_password2": "A-new-password-2026"},
    )

    signed_in = client.post("/login/", {"username": "alice", "password": "A-new-password-2026"})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/"


def test_a_reset_for_an_unknown_email_says_the_same_and_sends_nothing(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password/reset/", {"email": "nobody@example.cn"}, follow=True)

    assert response.redirect_chain[-1][0] == "/password/reset/sent/"
    assert mail.outbox == []


def test_the_reset_link_is_on_the_portal_s_address_whatever_host_the_request_named(
    client, learner, settings, django_capture_on_commit_callbacks
):
    # The Host header is the requester's to choose (any allowed name, or a proxy that passes it
    # on): a reset link built from it could send the learner's token to someone else's server.
    settings.PORTAL_URL = "https://xuefen.example.cn"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "mirror.example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/password/reset/", {"email": "alice@example.cn"}, HTTP_HOST="mirror.example.com"
        )

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "https://xuefen.example.cn/password/reset/" in body
    assert "mirror.example.com" not in body


def test_known_and_unknown_addresses_get_the_same_answer_and_the_email_goes_later(
    client, learner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        known = client.post("/password/reset/", {"email": "alice@example.cn"})
        unknown = client.post("/password/reset/", {"email": "nobody@example.cn"})

    # Nothing is sent while the visitor waits: each answer queued one task, and the worker
    # looks the address up.
    assert mail.outbox == []
    assert len(queued) == 2
    for send in queued:
        send()

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known.content == unknown.content
    assert [message.to for message in mail.outbox] == [["alice@example.cn"]]


def test_a_password_alone_cannot_enrol_a_new_authenticator_for_staff(client, reviewer):
    client.post("/login/", {"username": "rita", "password": PASSWORD})

    response = client.get("/mfa/setup/")
    attempt = client.post("/mfa/setup/", {"code": "123456"})

    assert response["Location"].startswith("/mfa/verify/")
    assert attempt["Location"].startswith("/mfa/verify/")
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=False).exists()


def test_a_verified_staff_member_replaces_the_authenticator_and_old_tokens_stop(
    client, api_client, reviewer
):
    from knox.models import AuthToken

    from tests.people import login_verified, token_for

    token_for(api_client, "rita")
    login_verified(client, reviewer)
    client.get("/mfa/setup/")
    new_device = TOTPDevice.objects.get(user=reviewer, confirmed=False)

    client.post("/mfa/setup/", {"code": totp(new_device.bin_key), "next": "/"})

    assert list(TOTPDevice.objects.filter(user=reviewer).values_list("pk", flat=True)) == [
        new_device.pk
    ]
    assert not AuthToken.objects.filter(user=reviewer).exists()


def test_an_admin_site_user_needs_a_second_factor_whatever_the_role(client, db):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)

    client.post("/login/", {"username": "root", "password": PASSWORD})

    assert client.get("/admin/")["Location"].startswith("/mfa/setup/")
    assert superuser.role == "learner"


def test_the_learning_file_pdf_prints_an_outcome_title_holding_the_page_count_alias_as_written(
    client, learner, certificate_world
):
    import io
    import re

    from pypdf import PdfReader

    outcome = certificate_world["outcome"]
    outcome.__class__.objects.filter(pk=outcome.pk).update(title="茶艺{nb}师")
    client.force_login(learner)

    response = client.get("/file/pdf/")

    pages = PdfReader(io.BytesIO(response.content)).pages
    text = re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in pages))
    assert "茶艺{nb}师" in text
    assert f"1/{len(pages)}" in text
