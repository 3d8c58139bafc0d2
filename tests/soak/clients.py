"""The soak test's clients, and the ledger where they write every request and every task
state they see."""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from backend.errors import ERRORS
from tests.soak.payloads import HOSTILE, MULTIPART, STREAM, Payload, abort_upload

FINAL = {"completed", "failed", "cancelled"}
STATUSES = ["pending", "processing", "completed", "failed", "cancelled"]
MAX_UNFINISHED = 24  # clients stop creating tasks above this many, so the drain stays short
PROBLEM_JSON = "application/problem+json"


@dataclass
class Call:
    action: str
    sent: float
    received: float
    status: int | None  # None: no answer; `failure` names the exception, if one was raised
    failure: str | None = None

    @property
    def is_error(self) -> bool:
        return self.failure is not None or (self.status is not None and self.status >= 500)


@dataclass
class Sighting:
    """A task's status as one answer showed it, read somewhere between sent and received."""

    sent: float
    received: float
    status: str
    progress: float
    via: str


@dataclass
class Ledger:
    t0: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[Call] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # task id -> kind, in order
    sightings: defaultdict[str, list[Sighting]] = field(default_factory=lambda: defaultdict(list))
    delete_sent: dict[str, float] = field(default_factory=dict)  # first delete request
    deleted: set[str] = field(default_factory=set)  # answered 204
    events: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    violations: list[str] = field(default_factory=list)

    def at(self, moment: float) -> str:
        return f"+{moment - self.t0:.2f}s"

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def saw(self, task: dict[str, Any], call: Call, via: str) -> None:
        with self.lock:
            self.sightings[task["task_id"]].append(
                Sighting(call.sent, call.received, task["status"], task["progress"], via)
            )

    def accept(self, task: dict[str, Any], call: Call) -> None:
        with self.lock:
            self.accepted[task["task_id"]] = task["kind"]
        self.saw(task, call, "created")

    def note(self, task_id: str, text: str) -> None:
        with self.lock:
            self.events[task_id].append(text)

    def deleting(self, task_id: str) -> None:
        with self.lock:
            self.delete_sent.setdefault(task_id, time.monotonic())

    def delete_sent_before(self, task_id: str, moment: float) -> bool:
        with self.lock:
            return self.delete_sent.get(task_id, moment + 1) < moment

    def last_sighting(self, task_id: str) -> Sighting | None:
        with self.lock:
            seen = self.sightings.get(task_id)
            return max(seen, key=lambda s: s.received) if seen else None

    def last_status(self, task_id: str) -> str | None:
        seen = self.last_sighting(task_id)
        return seen.status if seen else None

    def history(self, task_id: str) -> str:
        """What the clients saw of a task and did to it, for a failure's evidence."""
        with self.lock:
            seen = sorted(self.sightings.get(task_id, []), key=lambda s: s.received)
            events = list(self.events.get(task_id, []))
        states: list[tuple[str, float]] = []
        for sighting in seen:
            label = sighting.status
            if label == "processing":
                label += f" {sighting.progress:g}%"
            if not states or states[-1][0] != label:
                states.append((label, sighting.received))
        shown = " -> ".join(f"{label} {self.at(moment)}" for label, moment in states)
        return f"seen {shown or 'never'}; " + (", ".join(events) or "no cancel or delete")

    def unfinished(self) -> list[str]:
        with self.lock:
            ids = [i for i in self.accepted if i not in self.deleted]
        return [i for i in ids if self.last_status(i) not in FINAL]

    def pick(self, rng: random.Random, final: bool | None = None) -> str | None:
        """A recent task, preferably one that is (or is not) final as last seen."""
        with self.lock:
            recent = [i for i in list(self.accepted)[-60:] if i not in self.deleted]
        if final is not None:
            matching = [i for i in recent if (self.last_status(i) in FINAL) == final]
            recent = matching or recent
        return rng.choice(recent) if recent else None


class Client:
    """One client thread's requests: a random mix drawn from `rng`."""

    ACTIONS: ClassVar[dict[str, int]] = {
        "upload": 14,
        "upload_stream": 10,
        "upload_then_cancel": 8,
        "hostile": 16,
        "staged": 10,
        "staged_then_cancel": 5,
        "cancel": 6,
        "delete": 8,
        "list": 10,
        "poll": 13,
    }

    def __init__(
        self, url: str, ledger: Ledger, rng: random.Random, payloads: list[Payload]
    ) -> None:
        self.url, self.ledger, self.rng, self.payloads = url, ledger, rng, payloads

    def run(self, stop: threading.Event) -> None:
        names, weights = list(self.ACTIONS), list(self.ACTIONS.values())
        while not stop.is_set():
            action = self.rng.choices(names, weights)[0]
            try:
                getattr(self, f"act_{action}")()
            except Exception:  # noqa: BLE001 - a client keeps going; its surprise is reported
                self.ledger.violation(f"client error in {action}: {traceback.format_exc(-2)}")
            stop.wait(self.rng.uniform(0, 0.05))

    def watch(self, stop: threading.Event) -> None:
        """Poll every task not yet seen final, again and again: its transitions."""
        while not stop.is_set():
            for task_id in self.ledger.unfinished():
                if stop.is_set():
                    break
                self.poll(task_id)
            stop.wait(0.05)

    # One request, recorded; answers outside `expect` ({status: problem code or None}) are
    # contract violations, but a 404 for a task someone already asked to delete is fine.
    def request(
        self, action: str, method: str, path: str, expect: dict[int, str | None],
        task_id: str | None = None, **kwargs: Any,
    ) -> tuple[requests.Response | None, Call]:  # fmt: skip
        sent = time.monotonic()
        try:
            response = requests.request(method, self.url + path, timeout=(5, 30), **kwargs)
        except requests.RequestException as exc:
            call = Call(action, sent, time.monotonic(), None, type(exc).__name__)
            self.ledger.record(call)
            time.sleep(0.2)  # the server is down or restarting: do not spin
            return None, call
        call = Call(action, sent, time.monotonic(), response.status_code)
        self.ledger.record(call)
        status, code = response.status_code, None
        if status >= 400:
            if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
                code = response.json().get("code")
            else:
                self.ledger.violation(f"{action} {path}: HTTP {status} without problem+json")
        if status < 500 and (status not in expect or expect[status] not in (None, code)):
            gone = (
                status == 404 and task_id and self.ledger.delete_sent_before(task_id, call.received)
            )
            if not gone:
                self.ledger.violation(
                    f"{action} {path} at {self.ledger.at(sent)}: HTTP {status} {code}, "
                    f"expected {expect}"
                )
        return response, call

    def create(self, action: str, path: str, **kwargs: Any) -> str | None:
        response, call = self.request(action, "POST", path, {202: None}, **kwargs)
        if response is None or response.status_code != 202:
            return None
        task = response.json()
        self.ledger.accept(task, call)
        return task["task_id"]

    def upload(self, stream: bool) -> str | None:
        payload = self.rng.choice(self.payloads)
        if stream:
            headers = {"X-Filename": quote(payload.filename)}
            return self.create("upload stream", STREAM, data=payload.body, headers=headers)
        return self.create("upload", MULTIPART, files={"file": (payload.filename, payload.body)})

    def staged(self, delay: int) -> str | None:
        body = {"data": f"soak-{self.rng.randrange(10**6)}", "delay": delay}
        return self.create("staged", "/api/process", json=body)

    def cancel(self, task_id: str) -> None:
        response, call = self.request(
            "cancel", "DELETE", f"/api/task/{task_id}/cancel",
            {200: None, 409: "task_not_cancellable"}, task_id,
        )  # fmt: skip
        self.ledger.note(task_id, f"{self.ledger.at(call.sent)} cancel -> {call.status}")
        if response is not None and response.status_code == 200:
            task = response.json()
            self.ledger.saw(task, call, "cancel")
            if task["status"] != "cancelled":
                self.ledger.violation(f"cancel {task_id} answered 200 with {task['status']}")

    def delete(self, task_id: str) -> None:
        self.ledger.deleting(task_id)
        response, call = self.request(
            "delete", "DELETE", f"/api/task/{task_id}", {204: None, 409: "task_not_finished"},
            task_id,
        )  # fmt: skip
        self.ledger.note(task_id, f"{self.ledger.at(call.sent)} delete -> {call.status}")
        if response is not None and response.status_code == 204:
            with self.ledger.lock:
                self.ledger.deleted.add(task_id)

    def poll(self, task_id: str) -> None:
        response, call = self.request("poll", "GET", f"/api/task/{task_id}", {200: None}, task_id)
        if response is not None and response.status_code == 200:
            self.ledger.saw(response.json(), call, "poll")

    def busy(self) -> bool:
        return len(self.ledger.unfinished()) >= MAX_UNFINISHED

    def act_upload(self) -> None:
        if self.busy():
            return self.act_poll()
        self.upload(stream=False)

    def act_upload_stream(self) -> None:
        if self.busy():
            return self.act_poll()
        self.upload(stream=True)

    def act_upload_then_cancel(self) -> None:
        """Cancel an analysis (a file here takes 0.1–0.3 s) at a random moment after the
        upload, or once seen running, or once seen at 100 % (the job is returning)."""
        if self.busy():
            return self.act_poll()
        task_id = self.upload(stream=self.rng.random() < 0.5)
        if not task_id:
            return
        when = self.rng.choice(["any time", "running", "at the end"])
        if when == "any time":
            time.sleep(self.rng.uniform(0, 0.4))
        elif not self.wait_for(task_id, 100 if when == "at the end" else 0):
            return
        self.cancel(task_id)

    def wait_for(self, task_id: str, progress: float, timeout: float = 3) -> bool:
        """Poll until the task is seen processing at `progress` % or more (False: it ended,
        or never got there in time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.ledger.last_sighting(task_id)
            if seen is not None and seen.status in FINAL:
                return False
            if seen is not None and seen.status == "processing" and seen.progress >= progress:
                return True
            time.sleep(0.01)
            self.poll(task_id)
        return False

    def act_staged(self) -> None:
        if self.busy():
            return self.act_poll()
        self.staged(self.rng.choice([0, 0, 1, 1, 2, 3]))

    def act_staged_then_cancel(self) -> None:
        if self.busy():
            return self.act_poll()
        task_id = self.staged(self.rng.choice([1, 2, 3]))
        if task_id:
            time.sleep(self.rng.uniform(0, 1.0))
            self.cancel(task_id)

    def act_hostile(self) -> None:
        if self.rng.random() < 0.1:
            return self.abort()
        case = self.rng.choice(HOSTILE)
        expect = {ERRORS[case.code].status: case.code}
        self.request(f"hostile: {case.name}", "POST", case.path, expect, **case.request())

    def abort(self) -> None:
        parts = urlsplit(self.url)
        sent, failure = time.monotonic(), None
        try:
            abort_upload(parts.hostname, parts.port, self.rng.choice([MULTIPART, STREAM]), self.rng)
        except OSError as exc:
            failure = type(exc).__name__
        self.ledger.record(Call("aborted upload", sent, time.monotonic(), None, failure))

    def act_cancel(self) -> None:
        task_id = self.ledger.pick(self.rng, final=self.rng.random() < 0.3)
        if task_id:
            self.cancel(task_id)

    def act_delete(self) -> None:
        task_id = self.ledger.pick(self.rng, final=self.rng.random() < 0.8)
        if task_id:
            self.delete(task_id)

    def act_list(self) -> None:
        params: dict[str, Any] = {"limit": self.rng.choice([10, 50, 200])}
        if self.rng.random() < 0.3:
            params["status"] = self.rng.choice(STATUSES)
        if self.rng.random() < 0.2:
            params["kind"] = self.rng.choice(["analyze", "process"])
        if self.rng.random() < 0.2:
            params["offset"] = self.rng.randrange(50)
        response, call = self.request("list", "GET", "/api/tasks", {200: None}, params=params)
        if response is not None and response.status_code == 200:
            for task in response.json()["items"]:
                self.ledger.saw(task, call, "list")

    def act_poll(self) -> None:
        task_id = self.ledger.pick(self.rng)
        if task_id:
            self.poll(task_id)
