"""The Redis cache backend keeps one client per process (Django's builds one per call)."""

from __future__ import annotations

import os
import uuid

import pytest

from common.cache import RedisCache


def test_every_call_gets_the_same_client():
    # Building a client connects to nothing, so no server is needed here.
    cache = RedisCache("redis://127.0.0.1:6379/15", {})

    clients = {
        id(cache._cache.get_client(key, write=write)) for key in "ab" for write in (False, True)
    }

    assert len(clients) == 1


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis at REDIS_URL")
def test_it_stores_reads_counts_and_deletes_through_the_shared_client():
    cache = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})

    cache.set("answer", {"n": 42}, 30)
    assert cache.get("answer") == {"n": 42}
    assert cache.incr("counter", 1) if cache.add("counter", 1, 30) else False
    assert cache.get("counter") == 2
    cache.delete_many(["answer", "counter"])
    assert cache.get("answer") is None
