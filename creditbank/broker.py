"""The Redis broker transport the portal's Celery uses: kombu's, with one fix.

kombu 5.7's Redis transport can stop a worker that loses Redis while it holds an unacknowledged
message (found by ``make faults``, fault c; docs/reliability.md). On the connection loss the
worker's consumer collects the broken connection and then closes it. When closing the channel
fails part-way (its auto-delete fanout queues cannot be deleted while Redis is down), the channel
stays open while the connection drops its transport's reference to the connection information
(``Transport.client = None``). The next close then restores the unacknowledged messages through a
new Redis client, whose parameters are read from ``Transport.client``: ``AttributeError:
'NoneType' object has no attribute 'hostname'``. That error is not a connection error, so Celery
logs "Unrecoverable error" and shuts the worker down, and the main process sometimes hangs
instead of exiting.

The channel below keeps the connection information it was opened with, so that a restore after
that point is tried like any other: with Redis down it fails with a connection error, which
Celery ignores before reconnecting (the message stays in Redis's unacknowledged set and is
delivered again after the visibility timeout); with Redis up it is put back on its queue at
once. ``tests/creditbank/test_broker.py`` shows both the kombu failure and the fix; when kombu
fixes it, that test says so and this module can go.

The transport is registered under kombu's own names for Redis URLs (``redis://``,
``rediss://``) rather than named in ``CELERY_BROKER_TRANSPORT``: kombu decides from the URL's
scheme that ``rediss://`` is TLS, and reads the scheme again when it fails over to another
broker URL, so naming a transport class explicitly would lose both.
"""

from __future__ import annotations

from typing import Any

import kombu.transport as kombu_transport
from kombu.transport import redis as kombu_redis

TRANSPORT = "creditbank.broker:Transport"


class Channel(kombu_redis.Channel):
    def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
        self._opened_with = connection.client
        super().__init__(connection, *args, **kwargs)

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            # The kombu connection has let go of this (closing) transport; give it back the
            # connection information so that the restore can be tried.
            self.connection.client = self._opened_with
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]


class Transport(kombu_redis.Transport):
    Channel = Channel


def register() -> None:
    """Make kombu open ``redis://`` and ``rediss://`` brokers with the transport above (in every
    process: the web server's producers, the worker, beat). Idempotent."""
    for scheme in ("redis", "rediss"):
        kombu_transport.TRANSPORT_ALIASES[scheme] = TRANSPORT
        kombu_transport._transport_cache.pop(scheme, None)  # type: ignore[attr-defined]
