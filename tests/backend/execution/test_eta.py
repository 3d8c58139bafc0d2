"""The remaining-time estimator on its own: synthetic reports with a known truth."""

from __future__ import annotations

import random

import pytest

from backend.execution.eta import MIN_SPAN_S, EtaEstimator, remaining_at


def feed(estimator: EtaEstimator, reports: list[tuple[float, float]]) -> list[float | None]:
    return [estimator.add(t, p) for t, p in reports]


def test_unknown_until_enough_reports_over_enough_time() -> None:
    estimator = EtaEstimator()
    assert estimator.add(0.0, 0.0) is None  # one report: no rate yet
    assert estimator.add(0.4, 4.0) is None  # two reports
    assert estimator.add(0.8, 8.0) is None  # three, but within MIN_SPAN_S
    assert estimator.add(MIN_SPAN_S, 10.0) == pytest.approx(9.0)  # 90 % at 10 %/s


def test_unknown_while_the_job_has_not_moved() -> None:
    assert feed(EtaEstimator(), [(0, 0), (1, 0), (2, 0), (3, 0)])[-1] is None


def test_a_constant_rate_is_exact_despite_rounded_progress() -> None:
    # 100 s job, reports every 0.1 s rounded to 0.1 % (as the worker sends them)
    estimator = EtaEstimator()
    for step in range(1, 301):
        t = step * 0.1
        eta = estimator.add(t, round(t, 1))
    assert eta == pytest.approx(70.0, rel=0.02)


def test_never_negative_and_zero_at_the_end() -> None:
    estimator = EtaEstimator()
    etas = feed(estimator, [(0, 0), (0.5, 40), (1.0, 80), (1.5, 100), (2.0, 100), (2.5, 120)])
    assert etas[3:] == [0.0, 0.0, 0.0]
    # a report that goes back (or below 0) does not undo progress
    estimator = EtaEstimator()
    etas = feed(estimator, [(0, 10), (1, 50), (2, 30), (3, -5), (4, 60)])
    assert all(eta is None or eta >= 0 for eta in etas)
    assert estimator.rate == pytest.approx(12.5, rel=0.2)


@pytest.mark.parametrize("seed", range(20))
def test_smooths_a_jittery_rate(seed: int) -> None:
    """Reports at random intervals whose progress steps scatter widely around 2 %/s (each
    ±80 %): every estimate from 20 % to 90 % lies within 25 % of the truth, while a naive
    estimate from the last interval alone is off by far more."""
    rng = random.Random(seed)
    estimator = EtaEstimator()
    t, p = 0.0, 0.0
    estimator.add(t, p)
    errors, naive_errors = [], []
    while p < 95:
        dt = rng.uniform(0.05, 0.6)
        step = 2.0 * dt * rng.uniform(0.2, 1.8)
        t, p = t + dt, min(p + step, 100.0)
        eta = estimator.add(t, p)
        true_left = (100 - p) / 2.0
        if 20 <= p <= 90:
            assert eta is not None and eta >= 0
            errors.append(abs(eta - true_left) / true_left)
            naive_errors.append(abs((100 - p) / (step / dt) - true_left) / true_left)
    assert max(errors) < 0.25, max(errors)
    assert max(naive_errors) > 1.0


def test_follows_a_change_of_pace() -> None:
    """After the job slows from 4 %/s to 1 %/s the estimate moves to the new pace within a
    few time constants, instead of the average since the start."""
    estimator = EtaEstimator()
    reports = [(i * 0.1, i * 0.4) for i in range(101)]  # 40 % in 10 s
    reports += [(10 + i * 0.1, 40 + i * 0.1) for i in range(1, 401)]  # then 40 % in 40 s
    eta = feed(estimator, reports)[-1]
    assert eta == pytest.approx(20.0, rel=0.1)  # 20 % left at 1 %/s


def test_counted_down_between_reports_never_below_zero() -> None:
    assert remaining_at(None, 100.0, 105.0) is None
    assert remaining_at(30.0, 100.0, 110.0) == 20.0
    assert remaining_at(30.0, 100.0, 200.0) == 0.0
    assert remaining_at(30.0, 100.0, 99.0) == 30.0  # a clock behind the reporter's
