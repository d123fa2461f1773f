"""The Aliyun SMS adapter against a local HTTP stub of dysmsapi (a real server on 127.0.0.1).

The stub checks each request's signature by Aliyun's documented algorithm (RPC signature
1.0, written again here, not imported), and answers as Aliyun does, errors included. The
signature function is also checked against the two worked examples of Aliyun's
documentation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

from accounts.signin.sms import (
    AliyunBackend,
    SmsMessage,
    SmsRejected,
    SmsTransientError,
    aliyun_signature,
)
from tests.accounts.sms import codes_sent_to, send_code
from tests.people import RESIDENT

pytestmark = pytest.mark.django_db

SECRET = "stub-secret"
PHONE = "13912345678"


# --- Aliyun's worked examples ----------------------------------------------------------------


def test_the_signature_matches_the_describe_regions_example_of_the_documentation():
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }

    assert aliyun_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_the_signature_matches_the_send_sms_example_of_the_documentation():
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }

    assert aliyun_signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


# --- The stub ---------------------------------------------------------------------------------


def documented_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Aliyun's RPC signature 1.0 as its documentation states it, independently of the code
    under test: sort, RFC 3986-encode names and values, join, encode again, HMAC-SHA1."""

    def encode(text: str) -> str:
        return quote(text, safe="~").replace("+", "%20").replace("*", "%2A")

    query = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))
    to_sign = method + "&" + encode("/") + "&" + encode(query)
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Stub:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        # What to answer next: (HTTP status, body as a dict or raw text, seconds to wait).
        self.replies: list[tuple[int, Any, float]] = []
        self.url = ""


@pytest.fixture
def stub(settings) -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            state.requests.append(form)
            signature = form.pop("Signature", "")
            if signature != documented_signature("POST", form, SECRET):
                status, body, delay = (
                    400,
                    {
                        "Code": "SignatureDoesNotMatch",
                        "Message": "Specified signature is not matched with our calculation.",
                        "RequestId": "stub-signature",
                    },
                    0.0,
                )
            elif state.replies:
                status, body, delay = state.replies.pop(0)
            else:
                status, body, delay = (
                    200,
                    {
                        "Code": "OK",
                        "Message": "OK",
                        "BizId": "900619746936498440^0",
                        "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
                    },
                    0.0,
                )
            time.sleep(delay)
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    settings.SMS_BACKEND = "accounts.signin.sms.AliyunBackend"
    settings.SMS_ALIYUN_ENDPOINT = state.url
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "stub-id"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = SECRET
    settings.SMS_ALIYUN_SIGN_NAME = "学分银行"
    settings.SMS_ALIYUN_TEMPLATE_CODE = "SMS_100200300"
    settings.SMS_TIMEOUT_SECONDS = 2
    yield state
    server.shutdown()
    server.server_close()


def message(phone: str = PHONE) -> SmsMessage:
    return SmsMessage.verification(phone=phone, code="042917", minutes=5)


# --- Sending ----------------------------------------------------------------------------------


def test_a_code_is_sent_as_a_signed_send_sms_request(stub):
    biz_id = AliyunBackend().send(message())

    assert biz_id == "900619746936498440^0"
    (request,) = stub.requests
    assert request["Action"] == "SendSms"
    assert request["Version"] == "2017-05-25"
    assert request["PhoneNumbers"] == PHONE
    assert request["SignName"] == "学分银行"
    assert request["TemplateCode"] == "SMS_100200300"
    assert json.loads(request["TemplateParam"]) == {"code": "042917"}
    assert request["AccessKeyId"] == "stub-id"
    assert request["SignatureMethod"] == "HMAC-SHA1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", request["Timestamp"])


def test_every_request_has_a_nonce_of_its_own(stub):
    AliyunBackend().send(message())
    AliyunBackend().send(message())

    first, second = (request["SignatureNonce"] for request in stub.requests)
    assert first != second


def test_an_international_number_is_sent_with_00_and_its_country_code(stub):
    AliyunBackend().send(message("+85291234567"))

    assert stub.requests[0]["PhoneNumbers"] == "0085291234567"


def test_a_wrong_secret_is_refused_by_the_provider_and_not_retried(stub, settings):
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"

    with pytest.raises(SmsRejected, match="SignatureDoesNotMatch"):
        AliyunBackend().send(message())


def test_an_illegal_number_is_refused_for_good_and_logged_masked(stub):
    stub.replies.append(
        (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r1"}, 0)
    )

    with pytest.raises(SmsRejected) as refused:
        AliyunBackend().send(message())

    assert "isv.MOBILE_NUMBER_ILLEGAL" in str(refused.value)
    assert "139****5678" in str(refused.value)
    assert PHONE not in str(refused.value)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            200,
            {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控", "RequestId": "r"},
        ),
        (200, {"Code": "isp.SYSTEM_ERROR", "Message": "system error", "RequestId": "r"}),
        (503, "<html>Service Unavailable</html>"),
        (400, {"Code": "Throttling.User", "Message": "Request was denied", "RequestId": "r"}),
    ],
)
def test_throttles_and_outages_of_the_provider_are_transient(stub, status, body):
    stub.replies.append((status, body, 0))

    with pytest.raises(SmsTransientError):
        AliyunBackend().send(message())


def test_a_provider_that_does_not_answer_in_time_is_transient(stub, settings):
    settings.SMS_TIMEOUT_SECONDS = 0.2
    stub.replies.append((200, {"Code": "OK", "BizId": "late"}, 1.0))

    with pytest.raises(SmsTransientError):
        AliyunBackend().send(message())


def test_a_provider_that_cannot_be_reached_is_transient(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.SMS_ALIYUN_ENDPOINT = f"http://127.0.0.1:{closed_port}/"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "id"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = SECRET
    settings.SMS_ALIYUN_TEMPLATE_CODE = "SMS_1"

    with pytest.raises(SmsTransientError):
        AliyunBackend().send(message())


def test_a_learner_registers_with_the_code_that_went_through_the_provider(
    stub, client, django_capture_on_commit_callbacks
):
    data = {
        "name": "邵涛涛",
        "id_type": "resident_id",
        "id_number": RESIDENT,
        "phone": PHONE,
        "email": "",
        "password1": "Lifelong-learning-2026",
        "password2": "Lifelong-learning-2026",
    }
    send_code(
        client, django_capture_on_commit_callbacks, "/register/", data | {"action": "send_code"}
    )
    (request,) = stub.requests
    code = json.loads(request["TemplateParam"])["code"]

    response = client.post("/register/", data | {"action": "register", "code": code})

    assert response.status_code == 302
    assert codes_sent_to(PHONE) == []  # nothing went to the in-memory outbox
