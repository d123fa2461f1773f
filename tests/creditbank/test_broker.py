"""A worker that loses Redis while it holds a message keeps working (creditbank/broker.py).

Each test runs its own redis-server and walks the steps Celery's consumer takes when the broker
connection breaks: it collects the broken connection, then closes it. The consumer's channel
holds an unacknowledged message and two auto-delete fanout queues (as the worker's do); deleting
those while Redis is down makes the first two attempts to close the channel fail part-way, and
the third then restores the message.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kombu import Connection
from kombu.common import ignore_errors

from creditbank import broker
from tests.processes import free_port, start_redis


def _hold_a_message_then_lose_redis(transport: str | None, port: int, server) -> Connection:
    connection = Connection(
        f"redis://127.0.0.1:{port}/0",
        transport=transport,
        transport_options={"visibility_timeout": 1},
    )
    channel: Any = connection.default_channel
    channel.queue_declare("work")
    channel.basic_publish(channel.prepare_message("certificate 1"), exchange="", routing_key="work")
    held = channel.basic_get("work", no_ack=False)
    assert held is not None
    assert held.body == b"certificate 1"
    channel.exchange_declare("broadcast", "fanout", auto_delete=True)
    for queue in ("pidbox", "events"):
        channel.queue_declare(queue, auto_delete=True)
        channel.queue_bind(queue, "broadcast", "")

    server.kill()
    server.wait(timeout=10)
    # What celery.worker.consumer.Consumer.on_connection_error_after_connected does.
    connection.collect(socket_timeout=1)
    return connection


@pytest.mark.slow
def test_kombus_own_transport_raises_a_non_connection_error_on_that_close():
    """kombu's bug, shown so that this test fails once kombu fixes it: then creditbank/broker.py
    can go."""
    port = free_port()
    stock = "kombu.transport.redis:Transport"
    connection = _hold_a_message_then_lose_redis(stock, port, start_redis(port))

    with pytest.raises(AttributeError, match="hostname"):
        ignore_errors(connection, connection.close)


@pytest.mark.slow
def test_the_portals_transport_closes_cleanly_and_the_held_message_is_delivered_again(tmp_path):
    port = free_port()
    durable = ("--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path))
    server = start_redis(port, *durable)
    # No transport named: a redis:// URL gets the portal's, as the worker's does.
    connection = _hold_a_message_then_lose_redis(None, port, server)
    assert isinstance(connection.transport, broker.Transport)

    ignore_errors(connection, connection.close)  # raised AttributeError before the fix

    server = start_redis(port, *durable)
    try:
        with Connection(
            f"redis://127.0.0.1:{port}/0", transport_options={"visibility_timeout": 1}
        ) as again:
            channel: Any = again.default_channel
            time.sleep(1.2)  # past the visibility timeout
            channel.qos.restore_visible()
            delivered = channel.basic_get("work", no_ack=True)
            assert delivered is not None
            assert delivered.body == b"certificate 1"
            assert channel.basic_get("work", no_ack=True) is None  # once, not twice
    finally:
        server.kill()
        server.wait(timeout=10)


def test_redis_urls_get_the_portals_transport_and_keep_what_kombu_reads_from_them():
    plain = Connection("redis://127.0.0.1:6379/0")
    secure = Connection("rediss://:secret@cache.example:6380/0")
    failover = Connection("redis://127.0.0.1:6379/0;redis://127.0.0.1:6380/0")
    failover.switch("redis://127.0.0.1:6380/0")

    assert isinstance(plain.transport, broker.Transport)
    assert isinstance(secure.transport, broker.Transport)
    assert secure.ssl  # rediss:// is still TLS
    assert not plain.ssl
    assert isinstance(failover.transport, broker.Transport)
    assert not isinstance(Connection("memory://").transport, broker.Transport)


def test_the_portals_celery_app_opens_its_redis_broker_with_the_portals_transport(redis_url):
    from creditbank.celery import app

    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
