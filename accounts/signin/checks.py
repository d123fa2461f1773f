"""Deployment checks of SMS (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning

LOCAL_BACKENDS = ("accounts.signin.sms.ConsoleBackend", "accounts.signin.sms.LocmemBackend")
ALIYUN_SETTINGS = (
    "SMS_ALIYUN_ACCESS_KEY_ID",
    "SMS_ALIYUN_ACCESS_KEY_SECRET",
    "SMS_ALIYUN_SIGN_NAME",
    "SMS_ALIYUN_TEMPLATE_CODE",
)


def sms_backend_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """accounts.W001: a production whose SMS go nowhere: registration and the reset by SMS
    would wait for codes that never come. accounts.W002: Aliyun without its keys."""
    if settings.DEBUG:
        return []
    backend = settings.SMS_BACKEND
    if backend in LOCAL_BACKENDS:
        return [
            Warning(
                f"SMS_BACKEND is {backend}: SMS codes never reach a phone.",
                hint="Set SMS_BACKEND=accounts.signin.sms.AliyunBackend and the SMS_ALIYUN_* "
                "variables (docs/configuration.md).",
                id="accounts.W001",
            )
        ]
    if backend == "accounts.signin.sms.AliyunBackend":
        missing = [name for name in ALIYUN_SETTINGS if not getattr(settings, name, "")]
        if missing:
            return [
                Warning(
                    "Aliyun SMS lacks " + ", ".join(missing) + ": no SMS code can be sent.",
                    hint="docs/configuration.md lists the SMS variables.",
                    id="accounts.W002",
                )
            ]
    return []
