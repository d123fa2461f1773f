"""Sending SMS through a backend chosen by ``SMS_BACKEND``, as Django sends email through
EMAIL_BACKEND: the console in development, an in-memory outbox in tests, Aliyun SMS in
production (docs/decisions/0016-sms-codes-through-aliyun.md).

A backend sends one verification code to one number. Chinese providers send only texts from
templates approved in advance, so the portal hands the provider a template and its parameter
(the code), never free text; the console and the outbox render the same sentence locally.

Errors come in two kinds: :class:`SmsTransientError` (the provider or the network is down, a
rate limit of the provider: the worker tries again later) and :class:`SmsRejected` (a wrong
number, a wrong key or template: trying again cannot help).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """A message that was not sent."""


class SmsTransientError(SmsError):
    """Not sent this time; the same message may go through later."""


class SmsRejected(SmsError):
    """Refused for good: a wrong number, key, signature name or template."""


@dataclass(frozen=True)
class SmsMessage:
    """A verification code for a number, and the sentence the provider's approved template
    makes of it, in the language it was asked for in (the console and the outbox show it)."""

    phone: str
    code: str
    minutes: int
    text: str = ""

    @classmethod
    def verification(cls, *, phone: str, code: str, minutes: int) -> SmsMessage:
        text = _(
            "Your credit bank verification code is %(code)s, valid for %(minutes)d minutes. "
            "Do not tell it to anyone."
        ) % {"code": code, "minutes": minutes}
        return cls(phone=phone, code=code, minutes=minutes, text=text)


def mask_phone(phone: str) -> str:
    """A number fit for a log line or a page: 139****5678 (the first three and the last four
    digits, as Chinese services show one)."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> str:
        """Send ``message``; returns the provider's id of it (empty when it has none)."""
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    """Development: the message goes to the log. The code is shown only with DEBUG on, so that
    a production misconfigured with this backend does not write codes into its logs."""

    def send(self, message: SmsMessage) -> str:
        text = message.text
        if not settings.DEBUG:
            text = text.replace(message.code, "******")
        logger.warning("SMS to %s: %s", mask_phone(message.phone), text)
        return ""


# The messages the in-memory backend "sent", like django.core.mail.outbox; tests read it.
outbox: list[SmsMessage] = []


class LocmemBackend(BaseSmsBackend):
    """Tests: the message is kept in :data:`outbox`."""

    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return f"locmem-{len(outbox)}"


def sms_send(message: SmsMessage) -> str:
    """Send ``message`` through the configured backend."""
    backend: BaseSmsBackend = import_string(settings.SMS_BACKEND)()
    return backend.send(message)


# --- Aliyun SMS (dysmsapi SendSms, RPC signature version 1.0) --------------------------------


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's signature wants it: only A-Z a-z 0-9 - _ . ~ stay
    as they are; a space is %20, never +."""
    return quote(text, safe="-_.~")


def aliyun_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params)
    )
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def aliyun_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Base64 of HMAC-SHA1, keyed by the AccessKey secret and "&", over the string to sign
    (Aliyun's "RPC signature", SignatureVersion 1.0)."""
    digest = hmac.new(
        (secret + "&").encode(), aliyun_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


# Error codes of SendSms that may pass if tried again later: the provider's own throttles and
# its internal errors. Everything else (a bad number, key, signature name, template, an account
# out of money) needs a person, not a retry.
ALIYUN_TRANSIENT_CODES = frozenset(
    {
        "isp.SYSTEM_ERROR",
        "isp.RAM_PERMISSION_DENY",
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "Throttling",
        "Throttling.User",
        "ServiceUnavailable",
        "InternalError",
        "SignatureNonceUsed",
    }
)


class AliyunBackend(BaseSmsBackend):
    """Aliyun SMS: a signed POST of SendSms to dysmsapi, no SDK (the request is a form with a
    signature over its sorted parameters). Configured by the SMS_ALIYUN_* settings."""

    method = "POST"

    def __init__(self) -> None:
        self.endpoint: str = settings.SMS_ALIYUN_ENDPOINT
        self.access_key_id: str = settings.SMS_ALIYUN_ACCESS_KEY_ID
        self.access_key_secret: str = settings.SMS_ALIYUN_ACCESS_KEY_SECRET
        self.sign_name: str = settings.SMS_ALIYUN_SIGN_NAME
        self.template_code: str = settings.SMS_ALIYUN_TEMPLATE_CODE
        self.region: str = settings.SMS_ALIYUN_REGION
        self.timeout: float = settings.SMS_TIMEOUT_SECONDS

    def params(self, message: SmsMessage, *, nonce: str, timestamp: str) -> dict[str, str]:
        # Aliyun takes mainland numbers without +86 and international ones as 00 + country code.
        phone = "00" + message.phone[1:] if message.phone.startswith("+") else message.phone
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"code": message.code}, separators=(",", ":")),
            "Timestamp": timestamp,
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(self.method, params, self.access_key_secret)
        return params

    def send(self, message: SmsMessage) -> str:
        if not (self.access_key_id and self.access_key_secret and self.template_code):
            raise SmsRejected("SMS_ALIYUN_ACCESS_KEY_ID, _SECRET and _TEMPLATE_CODE must be set")
        params = self.params(
            message,
            nonce=str(uuid.uuid4()),
            timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        try:
            response = requests.post(self.endpoint, data=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SmsTransientError(f"Aliyun SMS unreachable: {type(exc).__name__}") from exc
        body: dict[str, Any]
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = str(body.get("Code", ""))
        if response.status_code == 200 and code == "OK":
            return str(body.get("BizId", ""))
        # The provider's answer names the number only by its BizId; log the masked number.
        description = (
            f"Aliyun SMS to {mask_phone(message.phone)}: HTTP {response.status_code} "
            f"{code or '-'} {body.get('Message', '')} (request {body.get('RequestId', '-')})"
        )
        if response.status_code >= 500 or response.status_code == 429:
            raise SmsTransientError(description)
        if code in ALIYUN_TRANSIENT_CODES:
            raise SmsTransientError(description)
        raise SmsRejected(description)
