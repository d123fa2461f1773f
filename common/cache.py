"""Django's Redis cache with one client per process.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` object (and its table of
response callbacks) for every cache call, though the connection pool under it is shared; each
throttle check and session read paid for that. This backend keeps the client of each pool. A
``redis.Redis`` over a pool is safe to share between threads, and Django keeps a cache object
per thread anyway; redis-py's pool notices a fork and opens new connections in the child."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        this: Any = self  # Django's client is untyped beyond its public methods
        index = this._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = this._get_connection_pool(write)
            client = self._clients[index] = this._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
