"""``optimize()`` pins BLAS to one thread itself, whatever the process started with."""

import pytest
from threadpoolctl import ThreadpoolController

import twin_model.optimize._engine as engine
from twin_model.optimize import optimize

REQUEST = {
    "objective": "MIN_VOLATILITY",
    "strategies": [{"strategy_id": "a", "expected_return": 0.05}, {"strategy_id": "b", "expected_return": 0.07}],
    "covariance": [[0.04, 0.0], [0.0, 0.09]],
}


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in ThreadpoolController().info() if pool["user_api"] == "blas"}


@pytest.fixture
def two_blas_threads():
    """Every BLAS library a solve loads, allowed two threads (an old OpenBLAS may stay
    capped at the environment's count); restored after the test."""
    optimize(REQUEST)
    controller = ThreadpoolController()
    if not controller.select(user_api="blas"):
        pytest.skip("no BLAS library threadpoolctl can control")
    with controller.limit(limits=2, user_api="blas"):
        assert 2 in blas_threads()
        yield


def test_optimize_pins_blas_to_one_thread_before_solving_and_keeps_it(two_blas_threads, monkeypatch):
    pin = engine.OneBlasThread()
    monkeypatch.setattr(engine, "ONE_BLAS_THREAD", pin)
    seen = []
    prepare = engine.prepare
    monkeypatch.setattr(engine, "prepare", lambda req: seen.append(blas_threads()) or prepare(req))
    optimize(REQUEST)
    assert seen == [{1}] and blas_threads() == {1}
    assert pin.passes == engine.OneBlasThread.PASSES
    optimize(REQUEST)
    assert pin.passes == engine.OneBlasThread.PASSES  # listed twice, then never again
