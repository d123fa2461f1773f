"""``outbound_get``: what a user's URL may make the portal read (a transfer record, another
bank's status list), through the webhooks' SSRF-safe connection, bounded in size and time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.services import OutboundFetchFailed, outbound_get


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            for _ in range(50):  # a byte every 0.1 s: never done within the limit
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
            return
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("location", "http://169.254.169.254/")
            self.end_headers()
            return
        body = b"{}" if self.path == "/small" else b"x" * 5000
        self.send_response(200)
        if self.path != "/unsized":
            self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_loopback_is_refused_unless_the_caller_allows_it_whatever_the_webhooks_setting(
    server, settings
):
    # Outside production the webhooks may call loopback; a learner's address may not.
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    with pytest.raises(OutboundFetchFailed) as failed:
        outbound_get(url=server + "/small", max_bytes=1000, seconds=5, allow_local_http=False)
    assert failed.value.code == "address"


def test_it_reads_a_small_document(server, settings):
    assert (
        outbound_get(url=server + "/small", max_bytes=1000, seconds=5, allow_local_http=True)
        == b"{}"
    )


@pytest.mark.parametrize("path", ["/large", "/unsized"])
def test_it_refuses_a_document_over_the_limit_announced_or_not(server, settings, path):
    with pytest.raises(OutboundFetchFailed) as failed:
        outbound_get(url=server + path, max_bytes=1000, seconds=5, allow_local_http=True)
    assert failed.value.code == "too_large"


def test_it_gives_up_on_a_slow_answer_within_the_time_given(server, settings):
    started = time.monotonic()
    with pytest.raises(OutboundFetchFailed) as failed:
        outbound_get(url=server + "/slow", max_bytes=1000, seconds=1, allow_local_http=True)
    assert failed.value.code == "unreachable"
    assert time.monotonic() - started < 3


def test_it_does_not_follow_a_redirect(server, settings):
    with pytest.raises(OutboundFetchFailed) as failed:
        outbound_get(url=server + "/moved", max_bytes=1000, seconds=5, allow_local_http=True)
    assert failed.value.code == "status"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/",  # loopback where local http is off (production)
        "https://10.0.0.7/record.json",
        "https://[::ffff:127.0.0.1]/",
        "file:///etc/passwd",
        "https://user:pw@example.com/",
    ],
)
def test_it_refuses_addresses_the_webhooks_refuse(settings, url):
    with pytest.raises(OutboundFetchFailed) as failed:
        outbound_get(url=url, max_bytes=1000, seconds=1, allow_local_http=False)
    assert failed.value.code == "address"
