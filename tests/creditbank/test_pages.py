import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_visitor_sees_what_the_credit_bank_does_and_a_way_to_sign_in(client):
    page = client.get("/").content.decode()

    assert "学习账户" in page
    assert 'href="/login/"' in page


def test_signing_in_by_phone_opens_the_dashboard_with_the_role(client, reviewer):
    response = client.post(
        "/login/", {"username": reviewer.phone, "password": PASSWORD}, follow=True
    )

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
