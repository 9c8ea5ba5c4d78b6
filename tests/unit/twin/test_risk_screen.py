"""The vectorised evaluator's risk screen flags a path exactly when the step's own risk
evaluation (``twin_model.portfolio.evaluate_risk``, one path at a time) grades a breach
medium or worse, rule by rule, with each limit set where half the paths cross it."""

from dataclasses import replace

import numpy as np
import pytest

from twin_model.conventions import Severity
from twin_model.portfolio import evaluate_risk
from twin_model.twin.search import inert_limits
from twin_model.twin.search._screen import risk_screen

P, T, N = 60, 252, 5
IDS = [f"s{i}" for i in range(N)]


def _books(seed: int = 5):
    """Windows of correlated returns with volatilities varying by path, some strategies
    trending down (drawdowns), a constant one on a few paths; long weights, some zero."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.3, 2.5, size=(P, 1, 1))
    common = rng.normal(0.0, 0.008, size=(P, T, 1))
    loading = rng.uniform(0.0, 1.5, size=(P, 1, N))
    drift = rng.uniform(-0.0025, 0.001, size=(P, 1, N))
    window = scale * (common * loading + rng.normal(0.0, 0.008, size=(P, T, N))) + drift
    window[:4, :, 0] = 0.0  # a constant strategy (in cash) on four paths
    held = rng.dirichlet(np.ones(N), size=P) * rng.uniform(0.6, 1.4, size=(P, 1))
    held[rng.uniform(size=(P, N)) < 0.25] = 0.0
    drawdown = -rng.uniform(0.0, 0.3, size=P)
    return window, held, drawdown


def _step(limits, window, held, drawdown) -> tuple[np.ndarray, list[list]]:
    """Per path: whether the step grades a breach medium or worse; all breaches."""
    breaches = [
        evaluate_risk("x", dict(zip(IDS, held[p])), window[p], IDS, float(drawdown[p]), limits) for p in range(P)
    ]
    acted = np.array([any(b.severity != Severity.LOW for b in found) for found in breaches])
    return acted, breaches


def _limits(level: str, field: str, value: float):
    base = inert_limits()
    return replace(base, **{level: replace(getattr(base, level), **{field: value})})


# (level, field, the value that always breaches, how the medium threshold relates to the limit)
RULES = [
    ("portfolio", "max_gross_leverage", 1e-6, 1.1),
    ("portfolio", "drawdown_stop", -1e-9, 1.0),
    ("portfolio", "volatility_target", 1e-9, 1.1),
    ("portfolio", "max_pairwise_correlation", -0.999999, 1.1),
    ("portfolio", "min_diversification_ratio", 50.0, 0.9),
    ("portfolio", "var_95", -1e-9, 1.1),
    ("portfolio", "cvar_95", -1e-9, 1.1),
    ("portfolio", "var_99", -1e-9, 1.1),
    ("portfolio", "cvar_99", -1e-9, 1.1),
    ("strategy", "max_weight", 1e-9, 1.1),
    ("strategy", "drawdown_stop", -1e-9, 1.1),
    ("strategy", "max_volatility", 1e-9, 1.1),
]


@pytest.mark.parametrize(("level", "field", "always", "factor"), RULES, ids=[f"{lv}.{f}" for lv, f, *_ in RULES])
def test_the_screen_flags_the_paths_the_step_acts_on(level, field, always, factor):
    window, held, drawdown = _books()
    _, every = _step(_limits(level, field, always), window, held, drawdown)
    values = [b.value for found in every for b in found]
    assert len(values) >= P // 2
    middle = float(np.median(values))
    # the limit whose medium threshold (10% past it; the stop: the limit) is the median
    limit = middle / factor
    limits = _limits(level, field, limit)
    acted, _ = _step(limits, window, held, drawdown)
    assert 0 < acted.sum() < P
    np.testing.assert_array_equal(risk_screen(limits, window, held, drawdown), acted)


def test_a_low_breach_alone_is_not_flagged():
    """A volatility 5% past its target is an alert (low): the step changes nothing, nor
    does the screen flag it."""
    window, held, drawdown = _books()
    _, every = _step(_limits("portfolio", "volatility_target", 1e-9), window, held, drawdown)
    vol = next(b.value for b in every[10] if b.rule == "volatility_target")
    limits = _limits("portfolio", "volatility_target", vol / 1.05)
    breaches = evaluate_risk("x", dict(zip(IDS, held[10])), window[10], IDS, float(drawdown[10]), limits)
    assert [b.severity for b in breaches] == [Severity.LOW]
    assert not risk_screen(limits, window[10:11], held[10:11], drawdown[10:11])[0]
