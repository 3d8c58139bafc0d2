"""A redis-py client that rides out a Redis restart: shared by the Redis task store and the
Celery queue's look at its broker, two different uses of Redis (maybe two servers)."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def connect(url: str) -> redis.Redis:
    """A client for `url` (redis://[:password@]host:port/db) that rides out a Redis restart.

    Replies are decoded as text. Commands are retried on connection errors with exponential
    back-off for about 5 s, long enough for a restart and short enough for an HTTP request
    to answer 503 before the browser gives up; a longer outage raises
    `redis.ConnectionError`.
    """
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=10,
        socket_keepalive=True,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=12),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
