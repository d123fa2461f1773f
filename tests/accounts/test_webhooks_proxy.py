"""Webhooks through an outbound proxy (WEBHOOK_PROXY_URL, docs/decisions/0018): a real HTTP
proxy (pproxy from PyPI, in its own process) between the worker and a real receiver. The
tunnel is asked for the address the SSRF check passed, never for the name."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.models import WebhookDelivery, WebhookEventType
from accounts.services import webhook_event_record
from accounts.webhooks.services import webhook_deliver, webhook_subscription_create
from creditbank.settings import proxy_url_problem
from tests.accounts.webhook_receiver import Received, Receiver
from tests.processes import free_port

pytestmark = pytest.mark.django_db

PPROXY = Path(sys.executable).with_name("pproxy")


class Proxy:
    def __init__(self, log: Path, auth: str = "") -> None:
        self.port = free_port()
        self.log = log
        listen = f"http://127.0.0.1:{self.port}" + (f"#{auth}" if auth else "")
        self.process = subprocess.Popen(
            [str(PPROXY), "-l", listen, "-v"],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        for _ in range(100):
            if "Serving on" in log.read_text():
                return
            time.sleep(0.05)
        raise AssertionError(log.read_text())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def proxy(tmp_path) -> Iterator[Proxy]:
    running = Proxy(tmp_path / "proxy.log")
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(Received(secret=""))
    yield server
    server.stop()


def recorded(admin, url: str | None, receiver: Receiver) -> WebhookDelivery:
    """A message to ``admin``'s institution, subscribed at ``url`` first unless None."""
    if url is not None:
        _subscription, receiver.received.secret = webhook_subscription_create(
            institution=admin.institution,
            actor=admin,
            url=url,
            event_types=[WebhookEventType.TRANSFER_APPLIED],
        )
    [delivery] = webhook_event_record(
        institution_id=admin.institution_id,
        event_type=WebhookEventType.TRANSFER_APPLIED,
        data={"transfer": 7},
    )
    return delivery


def tunnels(log: Path) -> list[str]:
    """The destinations the proxy connected to, as its log names them."""
    time.sleep(0.2)  # the proxy writes its line as the tunnel opens
    return [
        line.split("-> ", 1)[1].split()[0] for line in log.read_text().splitlines() if "-> " in line
    ]


def test_a_delivery_goes_through_the_proxy_to_the_checked_address(
    settings, institution_admin, receiver, proxy
):
    settings.WEBHOOK_PROXY_URL = f"http://127.0.0.1:{proxy.port}"
    delivery = recorded(institution_admin, f"http://localhost:{receiver.port}/hooks", receiver)

    assert webhook_deliver(message_id=delivery.message_id) == "delivered"

    assert receiver.received.refused == []
    assert delivery.message_id in receiver.received.messages
    # The receiver still sees the name it was given; the proxy only ever saw the address.
    assert receiver.received.posts[0]["host"] == f"localhost:{receiver.port}"
    opened = tunnels(proxy.log)
    assert f"127.0.0.1:{receiver.port}" in opened
    assert not any("localhost" in t for t in opened)


def test_with_a_proxy_set_nothing_goes_out_directly(settings, institution_admin, receiver):
    settings.WEBHOOK_PROXY_URL = f"http://127.0.0.1:{free_port()}"  # nobody listening
    delivery = recorded(institution_admin, receiver.url, receiver)

    assert webhook_deliver(message_id=delivery.message_id) == "pending"

    delivery.refresh_from_db()
    assert delivery.last_error
    assert receiver.received.posts == []


def test_the_proxys_credentials_are_sent_and_a_refusal_is_an_error(
    settings, institution_admin, receiver, tmp_path
):
    guarded = Proxy(tmp_path / "guarded.log", auth="hooks:s3cret")
    try:
        settings.WEBHOOK_PROXY_URL = f"http://hooks:wrong@127.0.0.1:{guarded.port}"
        refused = recorded(institution_admin, receiver.url, receiver)
        assert webhook_deliver(message_id=refused.message_id) == "pending"
        refused.refresh_from_db()
        assert "proxy" in refused.last_error
        assert receiver.received.posts == []

        settings.WEBHOOK_PROXY_URL = f"http://hooks:s3cret@127.0.0.1:{guarded.port}"
        allowed = recorded(institution_admin, None, receiver)
        assert webhook_deliver(message_id=allowed.message_id) == "delivered"
    finally:
        guarded.stop()


def test_production_refuses_a_proxy_url_it_cannot_use(monkeypatch):
    # An https:// proxy (TLS to the proxy itself) or a path is refused at start, not at the
    # first delivery.
    # A port that is no port (docs/configuration.md: anything but http://host:port).
    for url in (
        "https://proxy.example.cn:3128",
        "http://proxy.example.cn:3128/path",
        "proxy:3128",
        "http://proxy.example.cn:abc",
        "http://proxy.example.cn:70000",
    ):
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "creditbank.settings",
                "WEBHOOK_PROXY_URL": url,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0, url
        assert "WEBHOOK_PROXY_URL" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://proxy.example.cn:abc",
        "http://hooks:s3cret@proxy.example.cn:3a28",
        "http://proxy.example.cn:",
        "http://proxy.example.cn",
        "http://proxy.example.cn:0",
        "http://proxy.example.cn:65536",
        "http://:3128",
        "http://[::1:3128",
        "http://proxy example.cn:3128",
    ],
)
def test_a_proxy_url_without_a_usable_port_or_host_is_refused(url):
    assert proxy_url_problem(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://proxy.example.cn:3128",
        "http://hooks:s3cret@10.0.0.7:8080/",
        "http://hooks:p%40ss@proxy.example.cn:3128",
        "http://[2001:db8::7]:3128",
    ],
)
def test_a_proxy_url_with_host_and_port_is_accepted(url):
    assert proxy_url_problem(url) is None


def test_the_refusal_names_the_setting_and_not_the_password():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "creditbank.settings",
            "WEBHOOK_PROXY_URL": "http://hooks:s3cret@proxy.example.cn:abc",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "WEBHOOK_PROXY_URL must be http://[user:password@]host:port" in result.stderr
    assert "proxy.example.cn:abc" in result.stderr
    assert "s3cret" not in result.stderr
