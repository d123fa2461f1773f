import pytest

pytestmark = pytest.mark.django_db


def test_pages_are_in_simplified_chinese_by_default_even_for_an_english_browser(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in response.content.decode()
    assert "登录" in response.content.decode()


def test_the_language_switcher_turns_the_portal_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)

    assert response["Content-Language"] == "en"
    assert "Sign in" in response.content.decode()
    assert "登录" not in response.content.decode()


def test_the_api_honours_accept_language(client):
    chinese = client.post("/api/v1/auth/token/", {}, HTTP_ACCEPT_LANGUAGE="zh-Hans")
    english = client.post("/api/v1/auth/token/", {}, HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.json()["username"] == ["该字段是必填项。"]
    assert english.json()["username"] == ["This field is required."]


def test_the_login_form_labels_are_translated(client):
    page = client.get("/login/").content.decode()

    assert "账户号码、电子邮箱或手机号" in page


def test_the_time_zone_is_beijing_time(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
