import pytest

from accounts.models import LearningAccount
from tests.accounts.sms import codes_sent_to, send_code
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, login_verified

pytestmark = pytest.mark.django_db


def form(**overrides: str) -> dict[str, str]:
    return {
        "name": "邵涛涛",
        "id_type": "resident_id",
        "id_number": RESIDENT,
        "phone": "13912345678",
        "email": "shao@example.cn",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


def with_code(client, capture, **overrides: str) -> dict[str, str]:
    """The form after "send the code", with the code the SMS brought."""
    data = form(**overrides)
    send_code(client, capture, "/register/", {**data, "action": "send_code"})
    return {**data, "code": codes_sent_to(data["phone"])[-1]}


@pytest.fixture
def capture(django_capture_on_commit_callbacks, sms_outbox):
    return django_capture_on_commit_callbacks


def test_registering_on_the_page_signs_in_and_opens_the_lifelong_learning_file(client, capture):
    response = client.post("/register/", with_code(client, capture), follow=True)

    page = response.content.decode()
    account = LearningAccount.objects.get()
    assert response.redirect_chain[-1][0] == "/file/"
    assert account.number in page
    assert account.id_number_masked in page
    assert RESIDENT not in page
    assert "1985-04-12" in page
    assert "账户开设" in page
    # The learner is already signed in: "next time", not "please sign in".
    assert f"您的学习账户{account.number}已开设，您已登录。下次可使用该账号或手机号登录。" in page
    assert "请使用该账号或手机号登录" not in page


def test_each_bad_field_is_marked_beside_it_and_nothing_is_written(client):
    response = client.post(
        "/register/",
        form(id_number=RESIDENT[:17] + "0", phone="123", password2="something-else"),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_id_number_errors"' in page
    assert 'id="id_phone_errors"' in page
    assert 'id="id_password2_errors"' in page
    assert not LearningAccount.objects.exists()


def test_a_duplicate_identity_is_explained_on_the_form(client, capture):
    client.post("/register/", with_code(client, capture))
    client.logout()

    response = client.post(
        "/register/", with_code(client, capture, phone="13900000000", email="x@example.cn")
    )

    assert "该身份证件已开设学习账户" in response.content.decode()
    assert LearningAccount.objects.count() == 1


def test_the_file_page_is_for_learners(client, reviewer):
    assert client.get("/file/").status_code == 302
    login_verified(client, reviewer)
    assert client.get("/file/").status_code == 403
