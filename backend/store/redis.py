"""Redis store: one task list shared by many API processes and worker machines.

Layout (every key starts with the prefix, `wb:` by default):

- `task:<id>`: a hash, one field per `Task` field (a `None` field is absent; params, result
  and error are JSON text that the scripts never decode).
- Sorted sets scored by `created_at`, the indexes that keep listing newest first, filtered
  and paginated without scanning keys: `all`, `status:<s>`, `kind:<k>`, `sk:<s>:<k>`.
- `active`: active tasks held by a process, scored by their heartbeat (the interruption
  sweep reads only stale ones); `owned:<owner>`: the ids one process holds (its heartbeat
  touches only those); `final`: final tasks scored by `finished_at` (TTL expiry);
  `owners`: every process's last heartbeat (workers online).
- Channel `changes`: every state change publishes the task id (WebSocket fan-out).

A file-name search has no index (Redis has no substring index): `list(q=...)` reads the
chosen sorted set and each task's file name, see `RedisStore.list`.

Every state change is one Lua script, so it is atomic inside Redis: progress never goes
down, and of a worker, a cancel and the sweep racing, exactly one moves a task to a final
state (the script returns the task only to the winner). Client calls are retried through a
short Redis outage (urllib3-style exponential back-off from redis-py's `Retry`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from backend.store.base import FINAL, STATUSES, Task, fold

logger = logging.getLogger(__name__)

_FLOATS = {
    "progress", "eta_s", "created_at", "started_at", "updated_at", "finished_at", "heartbeat_at",
}  # fmt: skip
# How many file names one round trip reads while searching.
SEARCH_BATCH = 500
_INTS = {"size_bytes", "version"}
_JSON = {"params", "result", "error"}

# Shared by the scripts: move a task between the status indexes and publish the change.
_LUA_COMMON = """
local p = ARGV[1]
local key = p .. 'task:' .. ARGV[2]
local id = ARGV[2]
local function reindex(old, new)
  local kind = redis.call('HGET', key, 'kind')
  local created = redis.call('HGET', key, 'created_at')
  redis.call('ZREM', p .. 'status:' .. old, id)
  redis.call('ZREM', p .. 'sk:' .. old .. ':' .. kind, id)
  redis.call('ZADD', p .. 'status:' .. new, created, id)
  redis.call('ZADD', p .. 'sk:' .. new .. ':' .. kind, created, id)
end
local function release(now)
  local owner = redis.call('HGET', key, 'owner')
  if owner then redis.call('SREM', p .. 'owned:' .. owner, id) end
  redis.call('ZREM', p .. 'active', id)
end
local function changed(now)
  redis.call('HSET', key, 'updated_at', now)
  redis.call('HINCRBY', key, 'version', 1)
  redis.call('PUBLISH', p .. 'changes', id)
  return redis.call('HGETALL', key)
end
"""

# ARGV: prefix, id, owner, now
_MARK_STARTED = (
    _LUA_COMMON
    + """
if redis.call('HGET', key, 'status') ~= 'pending' then return false end
release(ARGV[4])
reindex('pending', 'processing')
redis.call('HSET', key, 'status', 'processing', 'owner', ARGV[3], 'started_at', ARGV[4],
  'heartbeat_at', ARGV[4], 'message', '開始處理')
redis.call('ZADD', p .. 'active', ARGV[4], id)
redis.call('SADD', p .. 'owned:' .. ARGV[3], id)
return changed(ARGV[4])
"""
)

# ARGV: prefix, id, progress, message ('' keeps the current one), now, eta_s ('' = unknown)
_SET_PROGRESS = (
    _LUA_COMMON
    + """
if redis.call('HGET', key, 'status') ~= 'processing' then return false end
local current = tonumber(redis.call('HGET', key, 'progress'))
local new = tonumber(ARGV[3])
if new > current then redis.call('HSET', key, 'progress', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', key, 'message', ARGV[4]) end
if ARGV[6] ~= '' then redis.call('HSET', key, 'eta_s', ARGV[6])
else redis.call('HDEL', key, 'eta_s') end
return changed(ARGV[5])
"""
)

# ARGV: prefix, id, status, message, result ('' = none), error ('' = none), now
_FINISH_BODY = """
local function finish(status, message, result, err, now)
  local old = redis.call('HGET', key, 'status')
  if old ~= 'pending' and old ~= 'processing' then return false end
  release(now)
  reindex(old, status)
  redis.call('HSET', key, 'status', status, 'message', message, 'finished_at', now)
  redis.call('HDEL', key, 'eta_s')
  if status == 'completed' then redis.call('HSET', key, 'progress', '100.0') end
  if result ~= '' then redis.call('HSET', key, 'result', result)
  else redis.call('HDEL', key, 'result') end
  if err ~= '' then redis.call('HSET', key, 'error', err)
  else redis.call('HDEL', key, 'error') end
  redis.call('ZADD', p .. 'final', now, id)
  return changed(now)
end
"""
_FINISH = (
    _LUA_COMMON
    + _FINISH_BODY
    + """
return finish(ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
"""
)

# ARGV: prefix, '' (no single id), before, message, error, now
_FAIL_STALE = (
    """
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'active', '-inf', '(' .. ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  ARGV[2] = id
  local key = p .. 'task:' .. id
"""
    + _LUA_COMMON.replace(
        "local p = ARGV[1]\nlocal key = p .. 'task:' .. ARGV[2]\nlocal id = ARGV[2]\n", ""
    )
    + _FINISH_BODY
    + """
  local task = finish('failed', ARGV[4], '', ARGV[5], ARGV[6])
  if task then table.insert(out, task) end
end
return out
"""
)

# ARGV: prefix, owner, now
_HEARTBEAT = """
local p = ARGV[1]
redis.call('ZADD', p .. 'owners', ARGV[3], ARGV[2])
for _, id in ipairs(redis.call('SMEMBERS', p .. 'owned:' .. ARGV[2])) do
  if redis.call('ZSCORE', p .. 'active', id) then
    redis.call('ZADD', p .. 'active', ARGV[3], id)
    redis.call('HSET', p .. 'task:' .. id, 'heartbeat_at', ARGV[3])
  else
    redis.call('SREM', p .. 'owned:' .. ARGV[2], id)
  end
end
return true
"""

# ARGV: prefix, id, idempotency key ('' = none), created_at, status, kind, finished_at
# ('' unless final), owner ('' = none), heartbeat_at, then the hash's field/value pairs.
# Returns the id of the task holding the key: this one, or an earlier one (nothing added).
_ADD = """
local p, id, idem = ARGV[1], ARGV[2], ARGV[3]
if idem ~= '' then
  local holder = redis.call('GET', p .. 'idem:' .. idem)
  if holder and redis.call('EXISTS', p .. 'task:' .. holder) == 1 then return holder end
  redis.call('SET', p .. 'idem:' .. idem, id)
end
local created, status, kind = ARGV[4], ARGV[5], ARGV[6]
redis.call('HSET', p .. 'task:' .. id, unpack(ARGV, 10))
for _, index in ipairs({'all', 'status:' .. status, 'kind:' .. kind,
    'sk:' .. status .. ':' .. kind}) do
  redis.call('ZADD', p .. index, created, id)
end
if ARGV[7] ~= '' then
  redis.call('ZADD', p .. 'final', ARGV[7], id)
elseif ARGV[8] ~= '' then
  redis.call('ZADD', p .. 'active', ARGV[9], id)
  redis.call('SADD', p .. 'owned:' .. ARGV[8], id)
end
return id
"""

# ARGV: prefix, id
_DELETE = """
local p = ARGV[1]
local id = ARGV[2]
local key = p .. 'task:' .. id
local status = redis.call('HGET', key, 'status')
if status ~= 'completed' and status ~= 'failed' and status ~= 'cancelled' then return false end
local task = redis.call('HGETALL', key)
local kind = redis.call('HGET', key, 'kind')
local idem = redis.call('HGET', key, 'idempotency_key')
if idem and redis.call('GET', p .. 'idem:' .. idem) == id then
  redis.call('DEL', p .. 'idem:' .. idem)
end
redis.call('DEL', key)
for _, index in ipairs({'all', 'status:' .. status, 'kind:' .. kind,
    'sk:' .. status .. ':' .. kind, 'final', 'active'}) do
  redis.call('ZREM', p .. index, id)
end
redis.call('PUBLISH', p .. 'changes', id)
return task
"""


def _encode(task: Task) -> dict[str, str]:
    fields = {}
    for key, value in vars(task).items():
        if value is None:
            continue
        if key in _JSON:
            fields[key] = json.dumps(value, ensure_ascii=False)
        elif key in _FLOATS:
            fields[key] = repr(float(value))
        else:
            fields[key] = str(value)
    return fields


def _decode(reply: Any) -> Task | None:
    """A task from HGETALL's reply: a dict, or from a script, a flat [field, value, ...] list."""
    if not reply:
        return None
    if isinstance(reply, list):
        reply = dict(zip(reply[::2], reply[1::2], strict=True))
    values: dict[str, Any] = {}
    for key, value in reply.items():
        if key in _JSON:
            values[key] = json.loads(value)
        elif key in _FLOATS:
            values[key] = float(value)
        elif key in _INTS:
            values[key] = int(value)
        else:
            values[key] = value
    return Task(**values)


def connect(url: str) -> redis.Redis:
    """A client for `url` (redis://[:password@]host:port/db) that rides out a Redis restart.

    Commands are retried on connection errors with exponential back-off for about 5 s,
    long enough for a restart and short enough for an HTTP request to answer 503 before
    the browser gives up; a longer outage raises `redis.ConnectionError`.
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


class RedisStore:
    """The `TaskStore` on Redis; see the module docstring for the layout."""

    name = "redis"

    def __init__(self, url: str, prefix: str = "wb:") -> None:
        self.prefix = prefix
        self.client = connect(url)
        self._mark_started = self.client.register_script(_MARK_STARTED)
        self._set_progress = self.client.register_script(_SET_PROGRESS)
        self._finish = self.client.register_script(_FINISH)
        self._fail_stale = self.client.register_script(_FAIL_STALE)
        self._heartbeat = self.client.register_script(_HEARTBEAT)
        self._delete = self.client.register_script(_DELETE)
        self._add = self.client.register_script(_ADD)

    def _key(self, task_id: str) -> str:
        return f"{self.prefix}task:{task_id}"

    def add(self, task: Task) -> Task:
        fields = _encode(task)
        if task.is_final:
            final, owner = repr(task.finished_at or task.updated_at), ""
        else:
            # An owner holds the task (a local runner's queue, or a worker): swept if it
            # dies. No owner: it waits in the shared queue, held by nobody.
            final, owner = "", task.owner
        args = [
            self.prefix, task.task_id, task.idempotency_key or "", repr(task.created_at),
            task.status, task.kind, final, owner, repr(task.heartbeat_at),
            *(item for pair in fields.items() for item in pair),
        ]  # fmt: skip
        holder = self._add(args=args)
        return task if holder == task.task_id else (self.get(holder) or task)

    def get_by_key(self, idempotency_key: str) -> Task | None:
        holder = self.client.get(f"{self.prefix}idem:{idempotency_key}")
        return self.get(holder) if holder else None

    def get(self, task_id: str) -> Task | None:
        return _decode(self.client.hgetall(self._key(task_id)))

    def _load(self, ids: list[str]) -> list[Task]:
        with self.client.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self._key(task_id))
            replies = pipe.execute()
        return [task for task in map(_decode, replies) if task is not None]

    def list(
        self,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
        q: str | None = None,
    ) -> tuple[list[Task], int]:
        """Newest first from the sorted set that fits the status and kind filters.

        With ``q`` there is no index to ask: the ids of that set are read newest first, then
        their file names, SEARCH_BATCH per round trip (pipelined HGETs), matched in Python
        (`fold`). This costs O(tasks in the set) per call, since the total
        needs every match counted; the set holds only tasks younger than TASK_TTL_S, which
        bounds it.
        """
        if status and kind:
            index = f"sk:{status}:{kind}"
        elif status:
            index = f"status:{status}"
        elif kind:
            index = f"kind:{kind}"
        else:
            index = "all"
        if q:
            return self._search(self.prefix + index, fold(q), limit, offset)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zcard(self.prefix + index)
            pipe.zrevrange(self.prefix + index, offset, offset + limit - 1)
            total, ids = pipe.execute()
        return self._load(ids), total

    def _search(self, index: str, needle: str, limit: int, offset: int) -> tuple[list[Task], int]:
        # One ZREVRANGE is a consistent snapshot: reading the set in slices would skip or
        # repeat ids while tasks are added or deleted meanwhile.
        ids = self.client.zrevrange(index, 0, -1)
        page: list[str] = []
        total = 0
        for start in range(0, len(ids), SEARCH_BATCH):
            batch = ids[start : start + SEARCH_BATCH]
            with self.client.pipeline(transaction=False) as pipe:
                for task_id in batch:
                    pipe.hget(self._key(task_id), "filename")
                names = pipe.execute()
            for task_id, name in zip(batch, names, strict=True):
                if name is not None and needle in fold(name):
                    if offset <= total < offset + limit:
                        page.append(task_id)
                    total += 1
        return self._load(page), total

    def counts(self) -> dict[str, int]:
        with self.client.pipeline(transaction=True) as pipe:
            for status in STATUSES:
                pipe.zcard(f"{self.prefix}status:{status}")
            return dict(zip(STATUSES, pipe.execute(), strict=True))

    def mark_started(self, task_id: str, owner: str) -> Task | None:
        return _decode(self._mark_started(args=[self.prefix, task_id, owner, repr(time.time())]))

    def set_progress(
        self, task_id: str, progress: float, message: str | None, eta_s: float | None = None
    ) -> Task | None:
        args = [
            self.prefix,
            task_id,
            repr(float(progress)),
            message or "",
            repr(time.time()),
            repr(float(eta_s)) if eta_s is not None else "",
        ]
        return _decode(self._set_progress(args=args))

    def finish(
        self,
        task_id: str,
        status: str,
        *,
        message: str,
        result: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> Task | None:
        assert status in FINAL
        args = [
            self.prefix,
            task_id,
            status,
            message,
            json.dumps(result, ensure_ascii=False) if result is not None else "",
            json.dumps(error, ensure_ascii=False) if error is not None else "",
            repr(time.time()),
        ]
        return _decode(self._finish(args=args))

    def delete(self, task_id: str) -> Task | None:
        return _decode(self._delete(args=[self.prefix, task_id]))

    def heartbeat(self, owner: str) -> None:
        self._heartbeat(args=[self.prefix, owner, repr(time.time())])

    def fail_stale(self, before: float, message: str, error: dict[str, str]) -> list[Task]:
        args = [
            self.prefix,
            "",
            repr(before),
            message,
            json.dumps(error, ensure_ascii=False),
            repr(time.time()),
        ]
        return [task for task in map(_decode, self._fail_stale(args=args)) if task]

    def expired(self, before: float) -> list[Task]:
        ids = self.client.zrangebyscore(self.prefix + "final", "-inf", f"({before!r}")
        return self._load(ids)

    def live_owners(self, since: float, prefix: str = "") -> list[str]:
        """Processes whose last heartbeat is at or after `since` (a Unix time), oldest first.

        `prefix` narrows to one role, e.g. "worker:"; owners silent for a day are pruned.
        """
        key = self.prefix + "owners"
        self.client.zremrangebyscore(key, "-inf", repr(since - 86400))
        return [
            owner
            for owner in self.client.zrangebyscore(key, repr(since), "+inf")
            if owner.startswith(prefix)
        ]

    def listen(
        self,
        on_change: Callable[[str], None],
        on_status: Callable[[bool], None],
        stop: threading.Event,
    ) -> None:
        """Call `on_change(task_id)` for every change until `stop` is set (blocking).

        One pub/sub connection for the whole process. `on_status(True)` follows every
        (re)subscription and `on_status(False)` every loss, so listeners can re-read the
        store while changes may be missed. Meant to run in one thread per process.
        """
        channel = self.prefix + "changes"
        while not stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(channel)
                on_status(True)
                while not stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message["type"] == "message":
                        on_change(message["data"])
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                logger.warning("Lost the Redis change feed (%s); sockets re-read the store", exc)
                on_status(False)
                stop.wait(0.5)
            finally:
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass

    def close(self) -> None:
        self.client.close()
