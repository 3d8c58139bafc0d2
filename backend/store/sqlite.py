"""SQLite store (stdlib sqlite3): survives restarts and is shared by several server processes.

Each state change is one conditional UPDATE ... RETURNING, so concurrent processes cannot
both move a task to a final state. A database file made by an older version is brought up
to date when it is opened: renamed columns get their new names (`_RENAMES`) and the columns
added since are added (`_MIGRATIONS`).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from backend.store.base import COMPLETED, FINAL, PENDING, PROCESSING, STATUSES, Task, fold

_COLUMNS = (
    "task_id", "kind", "runner_id", "params", "status", "progress", "message", "created_at",
    "started_at", "updated_at", "finished_at", "heartbeat_at", "filename", "size_bytes",
    "file_path", "result", "error", "version", "eta_s", "idempotency_key", "request_hash",
)  # fmt: skip
_JSON_COLUMNS = {"params", "result", "error"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    runner_id TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    message TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    heartbeat_at REAL NOT NULL,
    filename TEXT,
    size_bytes INTEGER,
    file_path TEXT,
    result TEXT,
    error TEXT,
    version INTEGER NOT NULL,
    eta_s REAL,
    idempotency_key TEXT,
    request_hash TEXT
);
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at DESC);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status);
"""

# Columns renamed after the first release: (old name, new name), renamed in older files on
# open. `owner` named the process holding the heartbeat (a user, to a web developer).
_RENAMES = (("owner", "runner_id"),)
# Columns added after the first release: (name, declaration), added to older files on open.
_MIGRATIONS = (("eta_s", "REAL"), ("idempotency_key", "TEXT"), ("request_hash", "TEXT"))
# After the migrations (older files lack the column); NULL keys never collide.
_KEY_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS tasks_idempotency_key ON tasks (idempotency_key)"

_ACTIVE_SQL = "status IN ('pending', 'processing')"
_FINAL_SQL = "status IN ('completed', 'failed', 'cancelled')"


def _fold_or_null(text: str | None) -> str | None:
    """`fold` as an SQL function (SQLite's own lower() folds ASCII only)."""
    return fold(text) if text is not None else None


def path_from_url(url: str) -> Path:
    """sqlite:///tasks.db is relative to the working directory, sqlite:////abs/tasks.db absolute."""
    return Path(url.removeprefix("sqlite:///"))


class SqliteStore:
    """The `TaskStore` in one SQLite file, shared by the processes of one machine."""

    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            conn.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        conn = self._conn()
        present = {row["name"] for row in conn.execute("PRAGMA table_info(tasks)")}
        for old, new in _RENAMES:
            if old not in present or new in present:
                continue
            try:
                conn.execute(f"ALTER TABLE tasks RENAME COLUMN {old} TO {new}")
            except sqlite3.OperationalError as exc:
                # Another process opening the same file renamed it first.
                if "no such column" not in str(exc) and "duplicate column" not in str(exc):
                    raise
        for name, declaration in _MIGRATIONS:
            if name in present:
                continue
            try:
                conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {declaration}")
            except sqlite3.OperationalError as exc:
                # Another process opening the same file added it first.
                if "duplicate column" not in str(exc):
                    raise
        conn.execute(_KEY_INDEX)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            conn.create_function("fold", 1, _fold_or_null, deterministic=True)
            self._local.conn = conn
        return conn

    @staticmethod
    def _to_task(row: sqlite3.Row) -> Task:
        values = {key: row[key] for key in _COLUMNS}
        for key in _JSON_COLUMNS:
            values[key] = json.loads(values[key]) if values[key] is not None else None
        return Task(**values)

    @classmethod
    def _row_to_task(cls, row: sqlite3.Row | None) -> Task | None:
        return None if row is None else cls._to_task(row)

    def _update(self, task_id: str, where: str, fields: dict[str, Any]) -> Task | None:
        fields = {**fields, "updated_at": time.time()}
        assignments = ", ".join(f"{key} = :{key}" for key in fields)
        params = {
            key: json.dumps(value, ensure_ascii=False)
            if key in _JSON_COLUMNS and value is not None
            else value
            for key, value in fields.items()
        }
        sql = (
            f"UPDATE tasks SET {assignments}, version = version + 1 "
            f"WHERE task_id = :task_id AND {where} RETURNING *"
        )
        row = self._conn().execute(sql, {**params, "task_id": task_id}).fetchone()
        return self._row_to_task(row)

    def add(self, task: Task) -> Task:
        values = {
            key: json.dumps(getattr(task, key), ensure_ascii=False)
            if key in _JSON_COLUMNS and getattr(task, key) is not None
            else getattr(task, key)
            for key in _COLUMNS
        }
        placeholders = ", ".join(f":{key}" for key in _COLUMNS)
        # A second task with the same Idempotency-Key is not inserted: the unique index
        # decides atomically, even between processes.
        inserted = self._conn().execute(
            f"INSERT INTO tasks ({', '.join(_COLUMNS)}) VALUES ({placeholders}) "
            "ON CONFLICT (idempotency_key) DO NOTHING",
            values,
        )
        if inserted.rowcount == 0 and task.idempotency_key is not None:
            existing = self.get_by_key(task.idempotency_key)
            if existing is not None:
                return existing
        return task

    def get_by_key(self, idempotency_key: str) -> Task | None:
        row = (
            self._conn()
            .execute("SELECT * FROM tasks WHERE idempotency_key = ?", (idempotency_key,))
            .fetchone()
        )
        return self._row_to_task(row)

    def get(self, task_id: str) -> Task | None:
        row = self._conn().execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return self._row_to_task(row)

    def list(
        self,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
        q: str | None = None,
    ) -> tuple[list[Task], int]:
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if q:
            # instr, not LIKE: the text is matched as it is, % and _ included.
            clauses.append("instr(fold(filename), ?) > 0")
            params.append(fold(q))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        conn = self._conn()
        total = conn.execute(f"SELECT COUNT(*) FROM tasks {where}", params).fetchone()[0]
        rows = conn.execute(
            f"SELECT * FROM tasks {where} ORDER BY created_at DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [self._to_task(row) for row in rows], total

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        rows = self._conn().execute("SELECT status, COUNT(*) FROM tasks GROUP BY status")
        for status, count in rows:
            counts[status] = count
        return counts

    def mark_started(self, task_id: str, runner_id: str) -> Task | None:
        now = time.time()
        return self._update(
            task_id,
            f"status = '{PENDING}'",
            {
                "status": PROCESSING,
                "runner_id": runner_id,
                "started_at": now,
                "heartbeat_at": now,
                "message": "開始處理",
            },
        )

    def set_progress(
        self, task_id: str, progress: float, message: str | None, eta_s: float | None = None
    ) -> Task | None:
        conn = self._conn()
        message_sql = ", message = :message" if message else ""
        row = conn.execute(
            "UPDATE tasks SET progress = MAX(progress, :progress), eta_s = :eta_s, "
            f"updated_at = :now, version = version + 1{message_sql} "
            f"WHERE task_id = :task_id AND status = '{PROCESSING}' RETURNING *",
            {
                "progress": progress,
                "eta_s": eta_s,
                "message": message,
                "now": time.time(),
                "task_id": task_id,
            },
        ).fetchone()
        return self._row_to_task(row)

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
        fields: dict[str, Any] = {
            "status": status,
            "message": message,
            "result": result,
            "error": error,
            "eta_s": None,
            "finished_at": time.time(),
        }
        if status == COMPLETED:
            fields["progress"] = 100.0
        return self._update(task_id, _ACTIVE_SQL, fields)

    def delete(self, task_id: str) -> Task | None:
        row = (
            self._conn()
            .execute(
                f"DELETE FROM tasks WHERE task_id = ? AND {_FINAL_SQL} RETURNING *", (task_id,)
            )
            .fetchone()
        )
        return self._row_to_task(row)

    def now(self) -> float:
        """This machine's clock: the store lives on one machine (see `TaskStore.now`)."""
        return time.time()

    def heartbeat(self, runner_id: str) -> None:
        self._conn().execute(
            f"UPDATE tasks SET heartbeat_at = ? WHERE runner_id = ? AND {_ACTIVE_SQL}",
            (time.time(), runner_id),
        )

    def fail_stale(self, before: float, message: str, error: dict[str, str]) -> builtins.list[Task]:
        now = time.time()
        rows = (
            self._conn()
            .execute(
                "UPDATE tasks SET status = 'failed', message = ?, error = ?, finished_at = ?, "
                f"eta_s = NULL, updated_at = ?, version = version + 1 WHERE {_ACTIVE_SQL} AND runner_id != '' "
                "AND heartbeat_at < ? "
                "RETURNING *",
                (message, json.dumps(error, ensure_ascii=False), now, now, before),
            )
            .fetchall()
        )
        return [self._to_task(row) for row in rows]

    def expired(self, before: float) -> builtins.list[Task]:
        rows = self._conn().execute(
            f"SELECT * FROM tasks WHERE {_FINAL_SQL} AND finished_at < ?", (before,)
        )
        return [self._to_task(row) for row in rows]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
