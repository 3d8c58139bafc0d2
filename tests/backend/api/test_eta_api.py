"""`eta_s` through the whole chain (job process, supervisor, store, API and WebSocket), on
every store and runner, with a job whose true remaining time is known."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from backend.service import create_task
from tests.backend.conftest import wait_for

DURATION_S = 5.0


def _start_steady(client: TestClient, duration: float) -> str:
    app = client.app
    task = create_task(
        app.state.store,
        "steady",
        {"duration": duration},
        runner_id=app.state.runner.pending_runner_id,
    )
    app.state.runner.submit(task.task_id)
    return task.task_id


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.mark.slow
def test_the_estimate_is_within_25_percent_after_a_fifth_of_the_job(client: TestClient) -> None:
    task_id = _start_steady(client, DURATION_S)
    assert client.get(f"/api/task/{task_id}").json()["eta_s"] is None  # pending
    observed: list[tuple[float, float, float | None]] = []  # (when, progress, eta_s)
    while True:
        sent = time.time()
        task = client.get(f"/api/task/{task_id}").json()
        if task["status"] != "processing":
            break
        observed.append(((sent + time.time()) / 2, task["progress"], task["eta_s"]))
        time.sleep(0.1)
    task = wait_for(client, task_id)
    assert task["status"] == "completed" and task["eta_s"] is None, task
    finished = _unix(task["finished_at"])

    assert all(eta is None or eta >= 0 for _, _, eta in observed)
    # Until the end is near (the last second, where a few milliseconds of scheduling are
    # a large share of what is left), every estimate lands within 25 % of the truth.
    judged = [(when, eta) for when, progress, eta in observed if 20 <= progress <= 80]
    assert len(judged) >= 10, observed
    for when, eta in judged:
        truth = finished - when
        assert eta is not None and abs(eta - truth) <= 0.25 * truth, (eta, truth, observed)


@pytest.mark.slow
def test_the_websocket_carries_the_estimate(client: TestClient) -> None:
    task_id = _start_steady(client, 2.0)
    with client.websocket_connect(f"/ws/task/{task_id}") as websocket:
        messages = []
        while not messages or messages[-1]["status"] not in {"completed", "failed"}:
            messages.append(websocket.receive_json())
    estimates = [m["eta_s"] for m in messages if m["status"] == "processing"]
    assert any(isinstance(eta, float) and 0 < eta < 2.0 for eta in estimates), messages
    assert estimates[0] is None  # no estimate from the first report alone
    assert messages[-1]["status"] == "completed" and messages[-1]["eta_s"] is None
