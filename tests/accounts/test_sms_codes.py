"""The phone number as people's key: registration with the phone proved by an SMS code and
email optional, sign-in by phone, password reset by SMS; codes single-use, short-lived, stored
hashed, a few wrong tries each; throttles per number and address; no account enumeration.
SMS go through the in-memory backend (``sms_outbox``)."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import LearningAccount, SmsCode, User
from accounts.signin import sms
from accounts.signin.checks import sms_backend_check
from accounts.signin.sms import SmsMessage, SmsRejected, SmsTransientError
from accounts.signin.sms_codes import password_reset_by_sms, sms_code_queue, sms_code_send
from accounts.tasks import purge_expired_tokens, send_sms_code
from tests.accounts.sms import codes_sent_to, send_code
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, WANG_RESIDENT

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
NEW_PASSWORD = "Another-long-password-9"


def page_text(page: str, phone: str) -> str:
    """A page without what differs on every response (the CSRF token, the script nonce) and
    with the number asked for replaced."""
    page = re.sub(r'(value|nonce)="[A-Za-z0-9+/=_-]{20,}"', "", page)
    return page.replace(phone, "PHONE").replace(phone[:3] + "****" + phone[-4:], "PHONE")


def form(**overrides: str) -> dict[str, str]:
    return {
        "name": "邵涛涛",
        "id_type": "resident_id",
        "id_number": RESIDENT,
        "phone": PHONE,
        "email": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "action": "register",
        **overrides,
    }


@pytest.fixture
def ask_code(client, django_capture_on_commit_callbacks, sms_outbox):
    def ask(phone: str = PHONE, **overrides: str):
        return send_code(
            client,
            django_capture_on_commit_callbacks,
            "/register/",
            form(phone=phone, action="send_code", **overrides),
        )

    return ask


@pytest.fixture
def ask_reset_code(client, django_capture_on_commit_callbacks, sms_outbox):
    def ask(phone: str = PHONE):
        return send_code(
            client, django_capture_on_commit_callbacks, "/password/reset/sms/", {"phone": phone}
        )

    return ask


def registered(client, ask_code) -> User:
    ask_code()
    response = client.post("/register/", form(code=codes_sent_to(PHONE)[-1]))
    assert response.status_code == 302, response.content.decode()[:3000]
    client.logout()
    return User.objects.get(phone=PHONE)


# --- Registration ---------------------------------------------------------------------------


def test_sending_the_code_keeps_what_was_typed_and_marks_no_other_field(client, ask_code):
    response = ask_code(name="邵涛涛", id_number="")

    page = response.content.decode()
    assert response.status_code == 200
    assert len(codes_sent_to(PHONE)) == 1
    assert 'value="邵涛涛"' in page
    assert "139****5678" in page
    assert 'id="id_id_number_errors"' not in page
    assert 'id="id_code_errors"' not in page
    assert not LearningAccount.objects.exists()


def test_a_malformed_number_is_marked_and_sent_nothing(client, ask_code, sms_outbox):
    response = ask_code(phone="1391234")

    assert 'id="id_phone_errors"' in response.content.decode()
    assert sms_outbox == []
    assert not SmsCode.objects.exists()


def test_a_learner_registers_with_a_phone_only_and_the_phone_is_verified(client, ask_code):
    ask_code()
    (code,) = codes_sent_to(PHONE)
    assert len(code) == 6
    assert code.isdigit()

    response = client.post("/register/", form(code=code), follow=True)

    assert response.redirect_chain[-1][0] == "/file/"
    user = User.objects.get(phone=PHONE)
    assert user.email == ""
    assert user.phone_verified_at is not None
    assert LearningAccount.objects.get().holder == user


def test_the_learner_signs_in_with_the_phone_number(client, ask_code):
    registered(client, ask_code)

    response = client.post("/login/", {"username": "139-1234-5678", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/file/").status_code == 200


def test_registration_without_the_code_opens_nothing(client, ask_code):
    response = client.post("/register/", form(code=""))

    assert 'id="id_code_errors"' in response.content.decode()
    assert not LearningAccount.objects.exists()


def test_a_wrong_code_is_refused_and_the_right_one_still_works(client, ask_code):
    ask_code()
    (code,) = codes_sent_to(PHONE)
    wrong = "000000" if code != "000000" else "111111"

    response = client.post("/register/", form(code=wrong))

    assert 'id="id_code_errors"' in response.content.decode()
    assert not User.objects.filter(phone=PHONE).exists()
    assert client.post("/register/", form(code=code)).status_code == 302


def test_five_wrong_tries_kill_the_code(client, ask_code):
    ask_code()
    (code,) = codes_sent_to(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/register/", form(code=wrong))

    response = client.post("/register/", form(code=code))

    assert 'id="id_code_errors"' in response.content.decode()
    assert not User.objects.filter(phone=PHONE).exists()


def test_an_expired_code_is_refused(client, ask_code):
    ask_code()
    (code,) = codes_sent_to(PHONE)
    SmsCode.objects.update(
        created_at=timezone.now() - timedelta(minutes=6),
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    response = client.post("/register/", form(code=code))

    assert 'id="id_code_errors"' in response.content.decode()
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_code_lives_five_minutes(client, ask_code):
    ask_code()

    sent = SmsCode.objects.get()
    assert (sent.expires_at - sent.created_at).total_seconds() == pytest.approx(300, abs=1)


def test_a_newer_code_replaces_the_older_one(client, ask_code):
    ask_code()
    ask_code()
    first, second = codes_sent_to(PHONE)
    if first == second:
        pytest.skip("the two random codes happened to be equal")

    assert 'id="id_code_errors"' in client.post("/register/", form(code=first)).content.decode()
    assert client.post("/register/", form(code=second)).status_code == 302


def test_a_used_code_does_not_open_a_second_account(client, ask_code):
    registered(client, ask_code)
    code = codes_sent_to(PHONE)[-1]

    response = client.post(
        "/register/", form(code=code, id_number=WANG_RESIDENT, phone=PHONE, name="王")
    )

    assert 'id="id_code_errors"' in response.content.decode()
    assert LearningAccount.objects.count() == 1


def test_a_code_refused_for_another_field_can_be_used_again(client, ask_code):
    ask_code()
    (code,) = codes_sent_to(PHONE)
    User.objects.create_user(username="other", email="taken@example.cn", password="x" * 12)

    response = client.post("/register/", form(code=code, email="taken@example.cn"))

    assert 'id="id_email_errors"' in response.content.decode()
    assert client.post("/register/", form(code=code)).status_code == 302


def test_only_the_holder_of_a_taken_number_learns_that_it_is_taken(client, ask_code):
    registered(client, ask_code)

    ask_code()
    guessed = client.post("/register/", form(code="123456", id_number=WANG_RESIDENT))
    code = codes_sent_to(PHONE)[-1]
    holder = client.post("/register/", form(code=code, id_number=WANG_RESIDENT))

    assert "已被其他账户使用" not in guessed.content.decode()
    assert 'id="id_phone_errors"' in holder.content.decode()
    assert LearningAccount.objects.count() == 1


def test_the_code_is_stored_only_as_a_keyed_hash(client, ask_code):
    ask_code()
    (code,) = codes_sent_to(PHONE)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_smscode")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert code not in row
    assert PHONE not in row


def test_the_api_registers_without_a_code_and_leaves_the_phone_unverified(api_client):
    response = api_client.post(
        "/api/v1/accounts/",
        {
            "name": "邵涛涛",
            "id_type": "resident_id",
            "id_number": RESIDENT,
            "phone": PHONE,
            "email": "shao@example.cn",
            "password": PASSWORD,
        },
        format="json",
    )

    assert response.status_code == 201
    assert User.objects.get(phone=PHONE).phone_verified_at is None


# --- Over the API ---------------------------------------------------------------------------------


def api_code(api_client, capture, phone: str, purpose: str):
    with capture(execute=True):
        return api_client.post(
            "/api/v1/auth/sms-code/", {"phone": phone, "purpose": purpose}, format="json"
        )


def api_registration(**overrides: str) -> dict[str, str]:
    return {
        "name": "邵涛涛",
        "id_type": "resident_id",
        "id_number": RESIDENT,
        "phone": PHONE,
        "email": "shao@example.cn",
        "password": PASSWORD,
        **overrides,
    }


def test_the_api_registers_with_the_sms_code_and_the_phone_is_verified(
    api_client, django_capture_on_commit_callbacks, sms_outbox
):
    sent = api_code(api_client, django_capture_on_commit_callbacks, "139 1234 5678", "register")
    assert sent.status_code == 202
    code = codes_sent_to(PHONE)[-1]

    response = api_client.post(
        "/api/v1/accounts/", api_registration(phone_code=code), format="json"
    )

    assert response.status_code == 201
    assert User.objects.get(phone=PHONE).phone_verified_at is not None


def test_the_api_refuses_a_wrong_sms_code_beside_its_field(
    api_client, django_capture_on_commit_callbacks, sms_outbox
):
    api_code(api_client, django_capture_on_commit_callbacks, PHONE, "register")
    wrong = "000000" if codes_sent_to(PHONE)[-1] != "000000" else "111111"

    response = api_client.post(
        "/api/v1/accounts/", api_registration(phone_code=wrong), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["phone_code"]
    assert not User.objects.filter(phone=PHONE).exists()


def test_the_api_resets_a_password_by_sms(
    api_client, client, ask_code, django_capture_on_commit_callbacks, sms_outbox
):
    registered(client, ask_code)
    known = api_code(api_client, django_capture_on_commit_callbacks, PHONE, "password_reset")
    unknown = api_code(
        api_client, django_capture_on_commit_callbacks, "13700000000", "password_reset"
    )
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert codes_sent_to("13700000000") == []
    body = {"phone": PHONE, "code": codes_sent_to(PHONE)[-1], "new_password": NEW_PASSWORD}

    response = api_client.post("/api/v1/auth/password/sms-reset/", body, format="json")
    again = api_client.post("/api/v1/auth/password/sms-reset/", body, format="json")

    assert response.status_code == 200
    assert again.status_code == 400
    assert list(again.json()) == ["code"]
    token = api_client.post(
        "/api/v1/auth/token/", {"username": PHONE, "password": NEW_PASSWORD}, format="json"
    )
    assert token.status_code == 200


def test_the_api_throttles_codes_per_number(
    api_client, django_capture_on_commit_callbacks, sms_outbox, monkeypatch
):
    rates = {"sms_number": "1/hour", "sms_address": "100/hour"}
    monkeypatch.setattr("rest_framework.settings.api_settings.DEFAULT_THROTTLE_RATES", rates)
    api_code(api_client, django_capture_on_commit_callbacks, PHONE, "register")

    response = api_code(api_client, django_capture_on_commit_callbacks, PHONE, "register")

    assert response.status_code == 429
    assert len(codes_sent_to(PHONE)) == 1


def test_the_api_refuses_a_malformed_number_beside_its_field(api_client, sms_outbox):
    response = api_client.post(
        "/api/v1/auth/sms-code/", {"phone": "12345", "purpose": "register"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["phone"]


# --- Throttles ----------------------------------------------------------------------------------


def test_codes_for_one_number_are_throttled(client, ask_code, monkeypatch):
    rates = {"sms_number": "2/hour", "sms_address": "100/hour"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr("rest_framework.settings.api_settings.DEFAULT_THROTTLE_RATES", rates)
    ask_code()
    ask_code()

    response = ask_code()

    assert 'id="id_phone_errors"' in response.content.decode()
    assert len(codes_sent_to(PHONE)) == 2
    ask_code(phone="13912340000")
    assert len(codes_sent_to("13912340000")) == 1


def test_codes_from_one_address_are_throttled(client, ask_code, ask_reset_code, monkeypatch):
    rates = {"sms_number": "100/hour", "sms_address": "3/hour"}
    monkeypatch.setattr("rest_framework.settings.api_settings.DEFAULT_THROTTLE_RATES", rates)
    ask_code(phone="13900000001")
    ask_code(phone="13900000002")
    ask_reset_code(phone="13900000003")

    response = ask_code(phone="13900000004")

    assert 'id="id_phone_errors"' in response.content.decode()
    assert codes_sent_to("13900000004") == []


# --- Password reset by SMS ------------------------------------------------------------------


def test_a_learner_resets_the_password_by_sms_and_signs_in_with_it(
    client, ask_code, ask_reset_code
):
    registered(client, ask_code)

    response = ask_reset_code()
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/sms/code/"
    code = codes_sent_to(PHONE)[-1]
    response = client.post(
        "/password/reset/sms/code/",
        {
            "phone": PHONE,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/password/reset/done/"
    assert User.objects.get(phone=PHONE).phone_verified_at is not None
    assert client.post("/login/", {"username": PHONE, "password": PASSWORD}).status_code == 200
    assert client.post("/login/", {"username": PHONE, "password": NEW_PASSWORD}).status_code == 302


def test_a_reset_code_works_once(client, ask_code, ask_reset_code):
    registered(client, ask_code)
    ask_reset_code()
    code = codes_sent_to(PHONE)[-1]
    data = {"phone": PHONE, "code": code, "new_password1": NEW_PASSWORD}
    client.post("/password/reset/sms/code/", {**data, "new_password2": NEW_PASSWORD})

    again = "Yet-another-password-77"
    response = client.post(
        "/password/reset/sms/code/",
        {**data, "new_password1": again, "new_password2": again},
    )

    assert 'id="id_code_errors"' in response.content.decode()
    assert User.objects.get(phone=PHONE).check_password(NEW_PASSWORD)


def test_a_registration_code_does_not_reset_a_password(client, ask_code):
    registered(client, ask_code)
    ask_code()
    code = codes_sent_to(PHONE)[-1]

    response = client.post(
        "/password/reset/sms/code/",
        {
            "phone": PHONE,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert 'id="id_code_errors"' in response.content.decode()
    assert User.objects.get(phone=PHONE).check_password(PASSWORD)


def test_the_reset_answers_the_same_for_a_number_without_an_account(
    client, ask_code, ask_reset_code
):
    registered(client, ask_code)
    sent_before = len(sms.outbox)

    known = ask_reset_code(PHONE)
    known_page = client.get("/password/reset/sms/code/").content.decode()
    unknown = ask_reset_code("13700000000")
    unknown_page = client.get("/password/reset/sms/code/").content.decode()

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert page_text(known_page, PHONE) == page_text(unknown_page, "13700000000")
    assert len(sms.outbox) == sent_before + 1
    assert codes_sent_to("13700000000") == []


def test_a_guessed_code_for_an_unknown_number_gets_the_wrong_code_answer(client, ask_code):
    registered(client, ask_code)
    data = {"code": "123456", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    known = client.post("/password/reset/sms/code/", {**data, "phone": PHONE})
    unknown = client.post("/password/reset/sms/code/", {**data, "phone": "13700000000"})

    assert 'id="id_code_errors"' in known.content.decode()
    assert page_text(known.content.decode(), PHONE) == page_text(
        unknown.content.decode(), "13700000000"
    )


def test_a_closed_or_inactive_account_gets_no_reset_code(client, ask_code, ask_reset_code):
    user = registered(client, ask_code)
    User.objects.filter(pk=user.pk).update(is_active=False)
    sent_before = len(sms.outbox)

    ask_reset_code()

    assert len(sms.outbox) == sent_before


def test_changing_the_phone_makes_it_unverified_again(client, ask_code):
    user = registered(client, ask_code)
    client.force_login(user)

    client.post(
        "/account/details/",
        {"email": "shao@example.cn", "phone": "13811112222", "password": PASSWORD},
    )

    user.refresh_from_db()
    assert user.phone == "13811112222"
    assert user.phone_verified_at is None


# --- The backends and the worker -----------------------------------------------------------------


def test_the_console_backend_masks_the_number_and_shows_the_code_only_in_debug(settings, caplog):
    settings.SMS_BACKEND = "accounts.signin.sms.ConsoleBackend"
    message = SmsMessage.verification(phone=PHONE, code="424242", minutes=5)

    settings.DEBUG = True
    with caplog.at_level(logging.WARNING, logger="accounts.signin.sms"):
        sms.sms_send(message)
    settings.DEBUG = False
    with caplog.at_level(logging.WARNING, logger="accounts.signin.sms"):
        sms.sms_send(message)

    development, production = (record.getMessage() for record in caplog.records)
    assert "139****5678" in development
    assert PHONE not in development + production
    assert "424242" in development
    assert "424242" not in production


def test_the_deployment_check_warns_of_sms_that_reach_no_phone(settings):
    settings.DEBUG = False
    settings.SMS_BACKEND = "accounts.signin.sms.ConsoleBackend"
    assert [m.id for m in sms_backend_check()] == ["accounts.W001"]

    settings.SMS_BACKEND = "accounts.signin.sms.AliyunBackend"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "LTAI-test"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "secret"
    settings.SMS_ALIYUN_SIGN_NAME = "学分银行"
    settings.SMS_ALIYUN_TEMPLATE_CODE = ""
    (warning,) = sms_backend_check()
    assert warning.id == "accounts.W002"
    assert "SMS_ALIYUN_TEMPLATE_CODE" in warning.msg

    settings.SMS_ALIYUN_TEMPLATE_CODE = "SMS_1"
    assert sms_backend_check() == []


def test_codes_expired_for_a_day_are_purged_by_the_periodic_task(settings, sms_outbox):
    sms_code_send(phone=PHONE, purpose="register")
    sms_code_send(phone="13700000000", purpose="register")
    old = SmsCode.objects.order_by("pk")[0]
    SmsCode.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=2),
        expires_at=timezone.now() - timedelta(days=2) + timedelta(minutes=5),
    )

    purge_expired_tokens.apply()

    assert list(SmsCode.objects.exclude(pk=old.pk)) == list(SmsCode.objects.all())
    assert SmsCode.objects.count() == 1


def test_the_queued_task_shows_the_number_masked_in_logs(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[dict] = []
    monkeypatch.setattr(send_sms_code, "apply_async", lambda **options: sent.append(options))

    with django_capture_on_commit_callbacks(execute=True):
        sms_code_queue(phone="139-1234-5678", purpose="register", language="zh-hans")
        assert sent == []  # not before the commit

    (options,) = sent
    assert options["kwargs"]["phone"] == PHONE
    assert "139****5678" in options["kwargsrepr"]
    assert PHONE not in options["kwargsrepr"]


class FlakyBackend(sms.BaseSmsBackend):
    failures = 0

    def send(self, message: SmsMessage) -> str:
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise SmsTransientError("provider down")
        sms.outbox.append(message)
        return "ok"


def test_the_worker_retries_while_the_provider_is_down(settings, sms_outbox):
    settings.SMS_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.failures = 1
    kwargs = {"phone": PHONE, "purpose": "register", "language": "en"}

    # In eager mode Celery raises Retry where a worker would schedule the next try.
    with pytest.raises(Retry):
        send_sms_code.apply(kwargs=kwargs)
    assert send_sms_code.apply(kwargs=kwargs).get() is True

    assert len(sms_outbox) == 1
    # Each try made a new code; only the one delivered works.
    assert SmsCode.objects.filter(used_at__isnull=True).count() == 1


def test_a_refused_message_is_not_retried(settings, sms_outbox):
    settings.SMS_BACKEND = "accounts.signin.sms.AliyunBackend"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = ""

    with pytest.raises(SmsRejected):
        send_sms_code.apply(kwargs={"phone": PHONE, "purpose": "register", "language": "en"})


def test_the_sms_speaks_the_language_of_the_page(
    client, django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/", form(action="send_code"))
    client.cookies["django_language"] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/", form(action="send_code"))

    chinese, english = (message.text for message in sms_outbox)
    assert "验证码" in chinese
    assert "verification code" in english


# --- Races (PostgreSQL) -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_code_used_twice_at_the_same_moment_resets_once(postgres, settings, sms_outbox):
    settings.SMS_BACKEND = "accounts.signin.sms.LocmemBackend"
    User.objects.create_user(
        username="XF0000000001", phone=PHONE, password=PASSWORD, phone_verified_at=timezone.now()
    )
    sms_code_send(phone=PHONE, purpose="password_reset")
    code = codes_sent_to(PHONE)[-1]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(password: str) -> None:
        barrier.wait()
        try:
            password_reset_by_sms(phone=PHONE, code=code, password=password)
            outcomes.append(password)
        except ValidationError as exc:
            outcomes.append(f"refused: {next(iter(exc.message_dict))}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=("First-new-password-1",)),
        threading.Thread(target=attempt, args=("Second-new-password-2",)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes)[-1] == "refused: code"
    (winner,) = [outcome for outcome in outcomes if not outcome.startswith("refused")]
    assert User.objects.get(phone=PHONE).check_password(winner)


def test_a_client_cannot_escape_the_address_throttle_by_naming_another_address(
    api_client, django_capture_on_commit_callbacks, sms_outbox, monkeypatch
):
    # With no trusted proxy (TRUSTED_PROXY_COUNT unset), X-Forwarded-For is the client's own
    # words: the throttle counts the connection's address, whatever the header says.
    rates = {"sms_number": "100/hour", "sms_address": "3/hour"}
    monkeypatch.setattr("rest_framework.settings.api_settings.DEFAULT_THROTTLE_RATES", rates)
    answers = []
    for n in range(4):
        api_client.credentials(HTTP_X_FORWARDED_FOR=f"198.51.100.{n + 1}")
        answers.append(
            api_code(
                api_client, django_capture_on_commit_callbacks, f"1390000001{n}", "register"
            ).status_code
        )

    assert answers == [202, 202, 202, 429]
    assert codes_sent_to("13900000013") == []


def test_a_phone_number_only_typed_in_gets_no_reset_code(client, ask_code, ask_reset_code):
    # The number was never proved (registered over the API without a code, typed by centre
    # staff, imported, or changed since): whoever holds it must not take the account by SMS.
    user = registered(client, ask_code)
    User.objects.filter(pk=user.pk).update(phone_verified_at=None)
    before = len(codes_sent_to(PHONE))

    response = ask_reset_code()

    assert response.status_code == 302  # the same answer as for any number
    assert len(codes_sent_to(PHONE)) == before
