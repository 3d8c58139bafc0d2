"""Redis store: one task list shared by many API processes and worker machines.

Layout (every key starts with the prefix, `wb:` by default):

- `task:<id>`: a hash, one field per `Task` field (a `None` field is absent; params, result
  and error are JSON text that the scripts never decode).
- Sorted sets scored by `created_at`, the indexes that keep listing newest first, filtered
  and paginated without scanning keys: `all`, `status:<s>`, `kind:<k>`, `sk:<s>:<k>`.
- `active`: active tasks held by a process, scored by their heartbeat (the interruption
  sweep reads only stale ones); `held:<runner_id>`: the ids one process holds (its
  heartbeat touches only those); `final`: final tasks scored by `finished_at` (TTL expiry);
  `runners`: every process's last heartbeat (workers online, `RunnerRegistry`).
- Channel `changes`: every state change publishes the task id (WebSocket fan-out,
  `ChangeFeed`).
- `lock:<name>`: a lock of `try_lock` (`LockProvider`), expiring by itself.

Before `runner_id` the field was called `owner` (and the sets `owned:<owner>`, `owners`): a
task hash written by that version is read with its `owner` as its `runner_id`, and loses
the old field when a runner takes it. Its process, of the old version, is gone after the
upgrade, so its tasks are interrupted by the sweep (it reads `active`, unchanged).

A file-name search has no index (Redis has no substring index): `list(q=...)` reads the
chosen sorted set and each task's file name, see `RedisStore.list`.

Every state change is one Lua script, so it is atomic inside Redis: progress never goes
down, and of a worker, a cancel and the sweep racing, exactly one moves a task to a final
state (the script returns the task only to the winner). Client calls are retried through a
short Redis outage (urllib3-style exponential back-off from redis-py's `Retry`).

One clock: every time this store records (a task's created_at, started_at, updated_at,
finished_at and heartbeat_at, the scores of `active`, `final` and `runners`) is the Redis
server's own clock, read by `TIME` inside the script that writes it, never a caller's
`time.time()`. Every judgement of an age (the interruption sweep, workers online, TTL expiry,
lost messages) compares those against `RedisStore.now()`, the same clock. So the machines
sharing the store need not agree on the time: a worker whose clock is minutes off keeps
its tasks and is counted online, and one that dies is still noticed within the stale
window. Only the Redis host's clock matters, and only its steps (an NTP slew is harmless):
moved forward by more than the stale window, every held task would look silent at once.

`TIME` in a script that then writes needs effects replication: the default since Redis 5
and the only mode since 7; on 3.2 and 4 the scripts ask for it (`redis.replicate_commands`).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, cast

import redis

from backend.redis_client import connect
from backend.store.base import FINAL, STATUSES, Task, fold

logger = logging.getLogger(__name__)

_TIMES = ("created_at", "started_at", "updated_at", "finished_at", "heartbeat_at")
_FLOATS = {"progress", "eta_s", *_TIMES}
# How many file names one round trip reads while searching.
SEARCH_BATCH = 500
_INTS = {"size_bytes", "version"}
_JSON = {"params", "result", "error"}

# The store's clock, first in every script that records a time: Redis `TIME` as
# "seconds.microseconds" text (exact in a double, and what `RedisStore.now` returns). It must
# run before the script's first write: on Redis 3.2 and 4 that is when effects replication
# can still be switched on (a no-op returning true since Redis 5).
_LUA_CLOCK = """
local function clock()
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  return t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
local now = clock()
"""

# Shared by the scripts: move a task between the status indexes and publish the change.
_LUA_COMMON = (
    _LUA_CLOCK
    + """
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
local function release()
  -- 'owner': the field's name before 'runner_id' (a task of the previous version)
  local runner = redis.call('HGET', key, 'runner_id') or redis.call('HGET', key, 'owner')
  if runner then redis.call('SREM', p .. 'held:' .. runner, id) end
  redis.call('ZREM', p .. 'active', id)
end
local function changed()
  redis.call('HSET', key, 'updated_at', now)
  redis.call('HINCRBY', key, 'version', 1)
  redis.call('PUBLISH', p .. 'changes', id)
  return redis.call('HGETALL', key)
end
"""
)

# ARGV: prefix, id, runner_id
_MARK_STARTED = (
    _LUA_COMMON
    + """
if redis.call('HGET', key, 'status') ~= 'pending' then return false end
release()
reindex('pending', 'processing')
redis.call('HDEL', key, 'owner')
redis.call('HSET', key, 'status', 'processing', 'runner_id', ARGV[3], 'started_at', now,
  'heartbeat_at', now, 'message', '開始處理')
redis.call('ZADD', p .. 'active', now, id)
redis.call('SADD', p .. 'held:' .. ARGV[3], id)
return changed()
"""
)

# ARGV: prefix, id, progress, message ('' keeps the current one), eta_s ('' = unknown)
_SET_PROGRESS = (
    _LUA_COMMON
    + """
if redis.call('HGET', key, 'status') ~= 'processing' then return false end
local current = tonumber(redis.call('HGET', key, 'progress'))
local new = tonumber(ARGV[3])
if new > current then redis.call('HSET', key, 'progress', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', key, 'message', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', key, 'eta_s', ARGV[5])
else redis.call('HDEL', key, 'eta_s') end
return changed()
"""
)

# ARGV: prefix, id, status, message, result ('' = none), error ('' = none)
_FINISH_BODY = """
local function finish(status, message, result, err)
  local old = redis.call('HGET', key, 'status')
  if old ~= 'pending' and old ~= 'processing' then return false end
  release()
  reindex(old, status)
  redis.call('HSET', key, 'status', status, 'message', message, 'finished_at', now)
  redis.call('HDEL', key, 'eta_s')
  if status == 'completed' then redis.call('HSET', key, 'progress', '100.0') end
  if result ~= '' then redis.call('HSET', key, 'result', result)
  else redis.call('HDEL', key, 'result') end
  if err ~= '' then redis.call('HSET', key, 'error', err)
  else redis.call('HDEL', key, 'error') end
  redis.call('ZADD', p .. 'final', now, id)
  return changed()
end
"""
_FINISH = (
    _LUA_COMMON
    + _FINISH_BODY
    + """
return finish(ARGV[3], ARGV[4], ARGV[5], ARGV[6])
"""
)

# ARGV: prefix, '' (no single id), before (the store's clock), message, error
_FAIL_STALE = (
    _LUA_CLOCK
    + """
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'active', '-inf', '(' .. ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  ARGV[2] = id
  local key = p .. 'task:' .. id
"""
    + _LUA_COMMON.replace(_LUA_CLOCK, "").replace(
        "\nlocal p = ARGV[1]\nlocal key = p .. 'task:' .. ARGV[2]\nlocal id = ARGV[2]\n", ""
    )
    + _FINISH_BODY
    + """
  local task = finish('failed', ARGV[4], '', ARGV[5])
  if task then table.insert(out, task) end
end
return out
"""
)

# ARGV: prefix, runner_id
_HEARTBEAT = (
    _LUA_CLOCK
    + """
local p = ARGV[1]
redis.call('ZADD', p .. 'runners', now, ARGV[2])
for _, id in ipairs(redis.call('SMEMBERS', p .. 'held:' .. ARGV[2])) do
  if redis.call('ZSCORE', p .. 'active', id) then
    redis.call('ZADD', p .. 'active', now, id)
    redis.call('HSET', p .. 'task:' .. id, 'heartbeat_at', now)
  else
    redis.call('SREM', p .. 'held:' .. ARGV[2], id)
  end
end
return true
"""
)

# ARGV: prefix, id, idempotency key ('' = none), status, kind, final ('1' or ''), runner_id
# ('' = none), then the hash's field/value pairs. Every time field the task carries is set
# to the store's clock. Returns {id of the task holding the key, the clock}: this task, or
# an earlier one (nothing added).
_ADD = (
    _LUA_CLOCK
    + """
local p, id, idem = ARGV[1], ARGV[2], ARGV[3]
if idem ~= '' then
  local holder = redis.call('GET', p .. 'idem:' .. idem)
  if holder and redis.call('EXISTS', p .. 'task:' .. holder) == 1 then return {holder, now} end
  redis.call('SET', p .. 'idem:' .. idem, id)
end
local key = p .. 'task:' .. id
local status, kind = ARGV[4], ARGV[5]
redis.call('HSET', key, unpack(ARGV, 8))
for _, field in ipairs({'created_at', 'started_at', 'updated_at', 'finished_at',
    'heartbeat_at'}) do
  if redis.call('HEXISTS', key, field) == 1 then redis.call('HSET', key, field, now) end
end
for _, index in ipairs({'all', 'status:' .. status, 'kind:' .. kind,
    'sk:' .. status .. ':' .. kind}) do
  redis.call('ZADD', p .. index, now, id)
end
if ARGV[6] ~= '' then
  redis.call('ZADD', p .. 'final', now, id)
elseif ARGV[7] ~= '' then
  redis.call('ZADD', p .. 'active', now, id)
  redis.call('SADD', p .. 'held:' .. ARGV[7], id)
end
return {id, now}
"""
)

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
    fields: dict[str, str] = {}
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


def _texts(reply: object) -> builtins.list[str]:
    """A list reply of members (ZRANGE without scores, SMEMBERS): text, as `connect` decodes
    every reply, which redis-py's annotations (bytes or text) cannot tell."""
    return cast("builtins.list[str]", reply)


def _text(reply: object) -> str | None:
    """A text reply or none (GET, HGET), decoded by the client; see `_texts`."""
    return cast("str | None", reply)


def _decode(reply: Any) -> Task | None:
    """A task from HGETALL's reply: a dict, or from a script, a flat [field, value, ...] list."""
    if not reply:
        return None
    if isinstance(reply, list):
        reply = dict(zip(reply[::2], reply[1::2], strict=True))
    values: dict[str, Any] = {}
    for key, value in reply.items():
        if key == "owner":  # the field's name before runner_id (see the module docstring)
            values.setdefault("runner_id", value)
        elif key == "runner_id":
            values["runner_id"] = value
        elif key in _JSON:
            values[key] = json.loads(value)
        elif key in _FLOATS:
            values[key] = float(value)
        elif key in _INTS:
            values[key] = int(value)
        else:
            values[key] = value
    return Task(**values)


class RedisStore:
    """The `TaskStore` on Redis, also a `ChangeFeed`, a `RunnerRegistry` and a
    `LockProvider`; see the module docstring for the layout."""

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

    def now(self) -> float:
        """The Redis server's clock (Unix seconds, microsecond resolution): the clock every
        time this store records comes from, so the one to compute `before` and `since` with.
        Raises `redis.ConnectionError` once the retries are spent, like every call."""
        seconds, microseconds = self.client.time()
        return float(f"{seconds}.{microseconds:06d}")

    def add(self, task: Task) -> Task:
        """Store a new task (see `TaskStore.add`); returns it as stored.

        Every time the task carries (created_at, updated_at, heartbeat_at, and started_at or
        finished_at when set) becomes the store's clock at the add: the caller's clock may
        be minutes off, and a heartbeat from it could look stale (or fresh) at once.
        """
        fields = _encode(task)
        # A runner holds the task (a local runner's queue, or a worker): swept if it dies.
        # No runner: it waits in the shared queue, held by nobody.
        final, runner_id = ("1", "") if task.is_final else ("", task.runner_id)
        args = [
            self.prefix, task.task_id, task.idempotency_key or "", task.status, task.kind,
            final, runner_id, *(item for pair in fields.items() for item in pair),
        ]  # fmt: skip
        holder, now = self._add(args=args)
        if holder != task.task_id:
            return self.get(holder) or task
        stamped: dict[str, Any] = {
            name: float(now) for name in _TIMES if getattr(task, name) is not None
        }
        return dataclasses.replace(task, **stamped)

    def get_by_key(self, idempotency_key: str) -> Task | None:
        holder = _text(self.client.get(f"{self.prefix}idem:{idempotency_key}"))
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

    def _search(
        self, index: str, needle: str, limit: int, offset: int
    ) -> tuple[builtins.list[Task], int]:
        # One ZREVRANGE is a consistent snapshot: reading the set in slices would skip or
        # repeat ids while tasks are added or deleted meanwhile.
        ids = _texts(self.client.zrevrange(index, 0, -1))
        page: builtins.list[str] = []
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

    def mark_started(self, task_id: str, runner_id: str) -> Task | None:
        return _decode(self._mark_started(args=[self.prefix, task_id, runner_id]))

    def set_progress(
        self, task_id: str, progress: float, message: str | None, eta_s: float | None = None
    ) -> Task | None:
        args = [
            self.prefix,
            task_id,
            repr(float(progress)),
            message or "",
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
        ]
        return _decode(self._finish(args=args))

    def delete(self, task_id: str) -> Task | None:
        return _decode(self._delete(args=[self.prefix, task_id]))

    def heartbeat(self, runner_id: str) -> None:
        """Stamp `runner_id` (in `runners`) and every task it holds with the store's clock."""
        self._heartbeat(args=[self.prefix, runner_id])

    def fail_stale(self, before: float, message: str, error: dict[str, str]) -> builtins.list[Task]:
        """See `TaskStore.fail_stale`; `before` is in the store's clock (`now()` minus the
        stale window), as every heartbeat is."""
        args = [self.prefix, "", repr(before), message, json.dumps(error, ensure_ascii=False)]
        return [task for task in map(_decode, self._fail_stale(args=args)) if task]

    def expired(self, before: float) -> builtins.list[Task]:
        """Final tasks whose finished_at (the store's clock) is older than `before`."""
        ids = _texts(self.client.zrangebyscore(self.prefix + "final", "-inf", f"({before!r}"))
        return self._load(ids)

    def live_runners(self, since: float, prefix: str = "") -> builtins.list[str]:
        """Processes whose last heartbeat is at or after `since`, oldest first.

        `since` is in the store's clock, e.g. `now() - stale_after_s`: heartbeats are stamped
        by Redis itself, so a process is counted whatever its own clock says. `prefix`
        narrows to one role, e.g. "worker:"; runners silent for a day are pruned.
        """
        key = self.prefix + "runners"
        self.client.zremrangebyscore(key, "-inf", repr(since - 86400))
        return [
            runner_id
            for runner_id in _texts(self.client.zrangebyscore(key, repr(since), "+inf"))
            if runner_id.startswith(prefix)
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
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()

    def try_lock(self, name: str, ttl_s: float) -> bool:
        """See `LockProvider.try_lock`: SET NX with an expiry, shared by every process."""
        taken = self.client.set(f"{self.prefix}lock:{name}", "1", nx=True, px=int(ttl_s * 1000))
        return bool(taken)

    def close(self) -> None:
        self.client.close()
