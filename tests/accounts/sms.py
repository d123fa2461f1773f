"""SMS in tests: the in-memory outbox (like ``mail.outbox``) and the steps of the pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.signin import sms


@pytest.fixture
def sms_outbox(settings) -> Iterator[list[sms.SmsMessage]]:
    settings.SMS_BACKEND = "accounts.signin.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def codes_sent_to(phone: str) -> list[str]:
    return [message.code for message in sms.outbox if message.phone == phone]


def only_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def send_code(client: Any, capture: Any, path: str, data: dict[str, str]) -> Any:
    """Press a page's "send the code" (the worker's task runs when the request commits)."""
    with capture(execute=True):
        return client.post(path, data)
