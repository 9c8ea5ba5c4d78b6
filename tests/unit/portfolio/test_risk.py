"""Unit tests of twin_model.portfolio (the risk rules).

Expected numbers are worked by hand in the comments (or come from numpy's quantile),
never from the module's own output.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from tests.helpers.risk_limits import loose_risk_limits
from twin_model.portfolio import (
    Breach,
    RiskLimits,
    blocks_new_risk,
    classify,
    current_drawdown,
    evaluate_risk,
    reduce_to_limits,
)

YAML = Path(__file__).resolve().parents[3] / "config" / "risk_limits.yaml"
DEFAULT = RiskLimits.from_mapping(yaml.safe_load(YAML.read_text()))

# Everything loose except what a test tightens.
LOOSE = loose_risk_limits()


def with_portfolio(**kw) -> RiskLimits:
    return replace(LOOSE, portfolio=replace(LOOSE.portfolio, **kw))


def with_strategy(**kw) -> RiskLimits:
    return replace(LOOSE, strategy=replace(LOOSE.strategy, **kw))


def alternating(x: float, n: int) -> np.ndarray:
    """+x, -x, +x, ... (n values, starting +x)."""
    return np.where(np.arange(n) % 2 == 0, x, -x)


def walsh(x: float, n: int, period: int) -> np.ndarray:
    """+x for the first half of each period, -x for the second half."""
    return np.where((np.arange(n) % period) < period // 2, x, -x)


def run(weights, R, ids, limits, port=(), positions=None):
    drawdown = current_drawdown(np.asarray(port, float))
    return evaluate_risk("sol", weights, np.asarray(R, float), ids, drawdown, limits, positions)


def only(breaches, rule) -> Breach:
    hits = [b for b in breaches if b.rule == rule]
    assert len(hits) == 1, breaches
    return hits[0]


# --------------------------------------------------------------------------- limits


def test_from_mapping_reads_yaml():
    assert DEFAULT.portfolio.max_gross_leverage == 1.5
    assert DEFAULT.portfolio.drawdown_stop == -0.15
    assert DEFAULT.portfolio.cvar_99 == -0.05
    assert DEFAULT.strategy.max_weight == 0.4
    assert DEFAULT.strategy.drawdown_stop == -0.20
    assert DEFAULT.position.max_net_exposure_per_ticker == 0.10


def test_from_mapping_rejects_bad_input():
    raw = yaml.safe_load(YAML.read_text())
    raw["strategy"]["extra"] = 1.0
    with pytest.raises(ValueError, match="unknown keys"):
        RiskLimits.from_mapping(raw)
    raw = yaml.safe_load(YAML.read_text())
    raw["portfolio"]["var_95"] = 0.02
    with pytest.raises(ValueError, match="var_95"):
        RiskLimits.from_mapping(raw)
    with pytest.raises(ValueError, match="missing sections"):
        RiskLimits.from_mapping({"portfolio": raw["portfolio"]})


# --------------------------------------------------------------------------- classify


@pytest.mark.parametrize(
    ("rule", "value", "limit", "expected"),
    [
        ("drawdown_stop", -0.151, -0.15, ("critical", "liquidate")),
        ("gross_leverage", 1.6, 1.5, ("low", "alert")),  # excess 0.0667
        ("gross_leverage", 1.8, 1.5, ("medium", "reduce_proportionally")),  # 0.2
        ("gross_leverage", 2.4, 1.5, ("high", "reduce_proportionally")),  # 0.6
        ("var_95", -0.04, -0.02, ("high", "reduce_proportionally")),  # 1.0
        ("min_diversification_ratio", 1.0, 1.1, ("low", "alert")),  # 0.0909
        ("strategy_weight", 0.5, 0.4, ("medium", "reduce_proportionally")),  # 0.25
        ("strategy_weight", 0.7, 0.4, ("high", "pause_strategy")),  # 0.75
        ("strategy_drawdown", -0.25, -0.20, ("medium", "pause_strategy")),  # 0.25
        ("strategy_drawdown", -0.21, -0.20, ("low", "alert")),  # 0.05
        ("strategy_volatility", 0.36, 0.30, ("medium", "reduce_proportionally")),  # 0.2
        ("strategy_volatility", 0.48, 0.30, ("high", "pause_strategy")),  # 0.6
        ("net_exposure_per_ticker", 0.21, 0.10, ("high", "reduce_proportionally")),  # 1.1
        ("net_exposure_per_ticker", 0.12, 0.10, ("medium", "reduce_proportionally")),  # 0.2
    ],
)
def test_classify_table(rule, value, limit, expected):
    assert classify(rule, value, limit) == expected


def test_classify_unknown_rule():
    with pytest.raises(ValueError):
        classify("nope", 1.0, 2.0)


# --------------------------------------------------------------------------- portfolio


def test_gross_leverage_breach_severity_by_table():
    R = np.zeros((5, 3))
    limits = with_portfolio(max_gross_leverage=1.5)
    # |0.8| + |-0.6| + |0.4| = 1.8 ; excess (1.8 - 1.5) / 1.5 = 0.2 -> medium
    b = only(run({"A": 0.8, "B": -0.6, "C": 0.4}, R, ["A", "B", "C"], limits), "gross_leverage")
    assert (b.level, b.subject) == ("portfolio", "sol")
    assert b.value == pytest.approx(1.8) and b.limit == 1.5
    assert (b.severity, b.action) == ("medium", "reduce_proportionally")
    assert "sol" in b.message and "1.8" in b.message and "1.5" in b.message
    # 1.2 + 0.6 + 0.6 = 2.4 ; excess 0.6 -> high
    b = only(run({"A": 1.2, "B": -0.6, "C": 0.6}, R, ["A", "B", "C"], limits), "gross_leverage")
    assert b.severity == "high"
    # exactly at the limit is not a breach
    assert run({"A": 0.9, "B": -0.6}, R, ["A", "B", "C"], limits) == []


def test_drawdown_stop_is_current_drawdown_critical_liquidate():
    # wealth 1.1, 0.88, 0.924 ; peak 1.1 ; current DD = 0.924 / 1.1 - 1 = -0.16 < -0.15
    limits = with_portfolio(drawdown_stop=-0.15)
    b = only(run({"A": 0.5}, np.zeros((3, 1)), ["A"], limits, port=[0.10, -0.20, 0.05]), "drawdown_stop")
    assert b.value == pytest.approx(-0.16)
    assert (b.severity, b.action) == ("critical", "liquidate")
    # max drawdown -0.20 but recovered to the peak: wealth 0.8, 1.0 -> current DD 0
    assert run({"A": 0.5}, np.zeros((2, 1)), ["A"], limits, port=[-0.20, 0.25]) == []
    assert current_drawdown([-0.20, 0.25]) == pytest.approx(0.0)
    # a first loss is a drawdown from wealth 1; NaN dropped
    assert current_drawdown([np.nan, -0.1]) == pytest.approx(-0.1)


def test_volatility_target_single_strategy_window_of_63():
    # last 63 rows: +x,-x,... (32 of +x, 31 of -x), mean x/63,
    # var = (63 x^2 - 63 (x/63)^2) / 62 = x^2 (63^2 - 1) / (63 * 62) = 64 x^2 / 63
    # annual vol = x sqrt(64/63 * 252) = 16 x ; portfolio vol = |w| 16 x
    x, w = 0.02, 0.5
    junk = np.random.default_rng(0).normal(0, 0.5, (100, 2))
    block = np.column_stack([alternating(x, 63), np.full(63, np.nan)])  # B unheld, all NaN
    R = np.vstack([junk, block])
    b = only(run({"A": w, "B": 0.0}, R, ["A", "B"], with_portfolio(volatility_target=0.12)), "volatility_target")
    assert b.value == pytest.approx(w * 16 * x)  # 0.16
    assert (b.severity, b.action) == ("medium", "reduce_proportionally")  # excess 1/3


def test_volatility_target_two_strategies_diagonal_covariance_drops_nan_rows():
    # A = +x,-x,+x,-x ; B = +y,+y,-y,-y over 60 rows: both means 0, sum A_t B_t = 0,
    # so Sigma = diag(60 x^2 / 59, 60 y^2 / 59) ; vol = sqrt(252 * 60/59 * (wA^2 x^2 + wB^2 y^2))
    x, y, wa, wb = 0.01, 0.02, 0.5, 0.5
    clean = np.column_stack([alternating(x, 60), walsh(y, 60, 4)])
    dirty = np.column_stack([np.full(10, 0.9), np.full(10, np.nan)])  # dropped: B unobserved
    R = np.vstack([dirty, clean])
    expected = math.sqrt(252 * 60 / 59 * (wa**2 * x**2 + wb**2 * y**2))  # 0.17898
    b = only(run({"A": wa, "B": wb}, R, ["A", "B"], with_portfolio(volatility_target=0.12)), "volatility_target")
    assert b.value == pytest.approx(expected)
    assert b.value == pytest.approx(0.178981, abs=1e-6)
    assert b.severity == "medium"  # (0.17898 - 0.12) / 0.12 = 0.4915


def test_max_pairwise_correlation_perfectly_correlated():
    a = walsh(0.01, 60, 2)
    c = walsh(0.01, 60, 4)  # uncorrelated with a
    R = np.column_stack([a, 2 * a, c])
    limits = with_portfolio(max_pairwise_correlation=0.85)
    b = only(run({"A": 0.3, "B": 0.3, "C": 0.3}, R, ["A", "B", "C"], limits), "max_pairwise_correlation")
    assert b.value == pytest.approx(1.0)
    assert "A" in b.message and "B" in b.message
    assert b.severity == "medium"  # (1 - 0.85) / 0.85 = 0.176
    # B not held: only the uncorrelated pair (A, C) counts
    assert run({"A": 0.3, "B": 0.0, "C": 0.3}, R, ["A", "B", "C"], limits) == []


def test_max_pairwise_correlation_names_the_most_correlated_varying_pair():
    """Walsh functions: b shares half of a's sign pattern (rho 0.5, same sd), c = a + b/2:
    over whole periods rho(a, c) = 1.25 / sqrt(1.75) = 0.945, rho(b, c) = 1 / sqrt(1.75) =
    0.756, so (A, C) is named, at numpy's correlation over the 63-row window; a constant
    strategy D (in cash) is left out whatever its weight."""
    a = walsh(0.01, 64, 4)
    b = 0.5 * a + 0.5 * walsh(0.01, 64, 8) * math.sqrt(3)
    c = a + b / 2
    R = np.column_stack([a, b, c, np.zeros(64)])
    breach = only(
        run({"A": 0.2, "B": 0.2, "C": 0.2, "D": 0.4}, R, list("ABCD"), with_portfolio(max_pairwise_correlation=0.6)),
        "max_pairwise_correlation",
    )
    rho = np.corrcoef(R[-63:, :3], rowvar=False)
    assert breach.value == pytest.approx(rho[0, 2], rel=1e-12)
    assert rho[0, 2] == pytest.approx(1.25 / math.sqrt(1.75), abs=2e-3) and rho[0, 2] > max(rho[0, 1], rho[1, 2])
    assert "A vs C" in breach.message


def test_strategy_volatility_of_a_short_history_uses_what_it_has():
    """Ten observed returns alternating +-0.02 (ddof 1: sd = 0.02 sqrt(10 / 9)) beside a
    strategy with a full window: each measured on its own observed returns."""
    short = np.full(80, np.nan)
    short[-10:] = alternating(0.02, 10)
    R = np.column_stack([short, alternating(0.001, 80)])
    b = only(run({"A": 0.3, "B": 0.3}, R, ["A", "B"], with_strategy(max_volatility=0.2)), "strategy_volatility")
    assert b.subject == "A" and b.value == pytest.approx(0.02 * math.sqrt(10 / 9) * math.sqrt(252))
    assert "last 10 returns" in b.message


def test_diversification_ratio_two_uncorrelated_equal_vol_is_sqrt2():
    # s_A = s_B = s, rho = 0, w = 1/2 each: sum w s = s ; w' Sigma w = s^2 / 2 -> DR = sqrt(2)
    R = np.column_stack([walsh(0.01, 60, 2), walsh(0.01, 60, 4)])
    b = only(
        run({"A": 0.5, "B": 0.5}, R, ["A", "B"], with_portfolio(min_diversification_ratio=1.5)),
        "min_diversification_ratio",
    )
    assert b.value == pytest.approx(math.sqrt(2))
    assert (b.severity, b.action) == ("low", "alert")  # (1.5 - 1.4142) / 1.5 = 0.057
    assert run({"A": 0.5, "B": 0.5}, R, ["A", "B"], with_portfolio(min_diversification_ratio=1.1)) == []
    # a single held strategy is never checked
    assert run({"A": 0.5}, R, ["A", "B"], with_portfolio(min_diversification_ratio=1.5)) == []


def test_var_cvar_of_weighted_returns():
    # p_t = 0.5 A_t + 0.5 B_t = [-0.06, -0.04, 19 x 0.01] (21 rows, so (n-1) q is exact)
    # VaR95: h = 20 * 0.05 = 1 -> 2nd smallest = -0.04 ; CVaR95 = mean(-0.06, -0.04) = -0.05
    # VaR99: h = 0.2 -> -0.06 + 0.2 * 0.02 = -0.056 ; CVaR99 = -0.06 (only value <= -0.056)
    p = np.array([0.01] * 10 + [-0.06] + [0.01] * 5 + [-0.04] + [0.01] * 4)
    B = np.linspace(-0.01, 0.01, p.size)
    A = 2 * p - B
    R = np.column_stack([A, B])
    limits = with_portfolio(var_95=-0.02, cvar_95=-0.03, var_99=-0.035, cvar_99=-0.05)
    out = run({"A": 0.5, "B": 0.5}, R, ["A", "B"], limits)
    expected = {"var_95": -0.04, "cvar_95": -0.05, "var_99": -0.056, "cvar_99": -0.06}
    assert {b.rule for b in out} == set(expected)
    for rule, v in expected.items():
        assert only(out, rule).value == pytest.approx(v)
    assert only(out, "var_95").value == pytest.approx(np.quantile(p, 0.05))
    assert only(out, "var_99").value == pytest.approx(np.quantile(p, 0.01))
    assert only(out, "var_95").severity == "high"  # excess 1.0
    assert only(out, "cvar_95").severity == "high"  # 0.667
    assert only(out, "var_99").severity == "high"  # 0.6
    assert only(out, "cvar_99").severity == "medium"  # 0.2


def test_var_uses_last_252_rows():
    p = np.array([0.01] * 10 + [-0.06] + [0.01] * 5 + [-0.04] + [0.01] * 4)
    old = np.full((300, 1), -0.5)  # a crash longer ago than 252 rows
    ok = np.full((252 - p.size, 1), 0.01)
    R = np.vstack([old, ok, p[:, None]])
    out = run({"A": 1.0}, R, ["A"], with_portfolio(var_95=-0.02))
    # 252 values: 250 of them >= -0.04 ; h = 251 * 0.05 = 12.55 -> 13th smallest = 0.01 -> no breach
    # (the old crash still shows up in the strategy's own drawdown, not in the 252-day tail)
    assert [b.rule for b in out] == ["strategy_drawdown"]


# --------------------------------------------------------------------------- strategy


def test_strategy_weight_breach():
    R = np.zeros((3, 3))
    out = run({"A": 0.5, "B": -0.7, "C": 0.42}, R, ["A", "B", "C"], with_strategy(max_weight=0.4))
    by = {b.subject: b for b in out if b.rule == "strategy_weight"}
    assert by["A"].value == pytest.approx(0.5) and by["A"].severity == "medium"
    assert by["A"].action == "reduce_proportionally"
    assert by["B"].value == pytest.approx(0.7) and by["B"].action == "pause_strategy"
    assert by["C"].action == "alert"
    assert all(b.level == "strategy" for b in out)


def test_strategy_drawdown_breach():
    # wealth 1.1, 0.77, 0.8085 ; DD = 0.8085 / 1.1 - 1 = -0.265 < -0.20 ; excess 0.325 -> medium
    R = np.array([[np.nan, 0.0], [0.10, 0.0], [-0.30, 0.0], [0.05, 0.0]])
    b = only(run({"A": 0.3, "B": 0.3}, R, ["A", "B"], with_strategy(drawdown_stop=-0.20)), "strategy_drawdown")
    assert (b.subject, b.value) == ("A", pytest.approx(-0.265))
    assert (b.severity, b.action) == ("medium", "pause_strategy")
    # an unheld strategy is not checked
    assert run({"A": 0.0, "B": 0.3}, R, ["A", "B"], with_strategy(drawdown_stop=-0.20)) == []


def test_strategy_volatility_breach_last_63_observed():
    # last 63 observed returns alternate +-0.03 -> vol = 16 * 0.03 = 0.48 (see window test)
    a = np.concatenate([np.full(50, 0.3), alternating(0.03, 63)])
    a = np.insert(a, 80, np.nan)  # a gap inside the window is skipped, not counted
    b_ = np.zeros(a.size)
    R = np.column_stack([a, b_])
    b = only(run({"A": 0.3, "B": 0.3}, R, ["A", "B"], with_strategy(max_volatility=0.30)), "strategy_volatility")
    assert b.subject == "A" and b.value == pytest.approx(0.48)
    assert (b.severity, b.action) == ("high", "pause_strategy")  # excess 0.6


# --------------------------------------------------------------------------- position


def test_net_exposure_per_ticker_nets_long_short_across_strategies():
    positions = pl.DataFrame(
        {
            "strategy_id": ["A", "A", "B", "B", "B"],
            "ticker": ["AAPL", "MSFT", "AAPL", "MSFT", "TSLA"],
            "weight": [0.3, 0.3, -0.5, 0.2, 0.4],
        }
    )
    limits = replace(LOOSE, position=replace(LOOSE.position, max_net_exposure_per_ticker=0.10))
    R = np.zeros((3, 2))
    out = run({"A": 0.5, "B": 0.3}, R, ["A", "B"], limits, positions=positions)
    # AAPL 0.5*0.3 - 0.3*0.5 = 0 (each alone 0.15 > 0.10); MSFT 0.15 + 0.06 = 0.21; TSLA 0.12
    by = {b.subject: b for b in out}
    assert set(by) == {"MSFT", "TSLA"}
    assert by["MSFT"].value == pytest.approx(0.21) and by["MSFT"].severity == "high"
    assert by["TSLA"].value == pytest.approx(0.12) and by["TSLA"].severity == "medium"
    assert all(b.level == "position" and b.action == "reduce_proportionally" for b in out)
    # a net short is measured by its magnitude
    short = positions.with_columns(pl.col("weight") * -1)
    assert {b.subject: b.value for b in run({"A": 0.5, "B": 0.3}, R, ["A", "B"], limits, positions=short)} == {
        "MSFT": pytest.approx(0.21),
        "TSLA": pytest.approx(0.12),
    }


# --------------------------------------------------------------------------- all inside


def test_no_breach_when_everything_inside_default_limits():
    # three orthogonal Walsh columns (rho = 0, DR = sqrt(3)), tiny vol, small book
    n, x = 56, 0.002
    R = np.column_stack([walsh(x, n, 2), walsh(x, n, 4), walsh(x, n, 8)])
    w = {"A": 0.3, "B": 0.3, "C": 0.3}
    port = R @ np.array([0.3, 0.3, 0.3])
    positions = pl.DataFrame({"strategy_id": ["A", "B", "C"], "ticker": ["X", "Y", "X"], "weight": [0.1, 0.2, -0.1]})
    assert evaluate_risk("sol", w, R, ["A", "B", "C"], current_drawdown(port), DEFAULT, positions) == []


def test_held_strategy_without_returns_raises():
    with pytest.raises(ValueError, match="without returns"):
        run({"Z": 0.1}, np.zeros((3, 1)), ["A"], LOOSE)


# --------------------------------------------------------------------------- actions


def _b(level, rule, subject, value, limit):
    sev, act = classify(rule, value, limit)
    return Breach(level, rule, subject, value, limit, sev, act, "")


W = {"A": 0.6, "B": 0.6, "C": 0.3}


def test_reduce_liquidate_zeroes_everything():
    out = reduce_to_limits(W, [_b("portfolio", "drawdown_stop", "sol", -0.2, -0.15)])
    assert out == {"A": 0.0, "B": 0.0, "C": 0.0}


def test_reduce_portfolio_scales_by_smallest_factor():
    # leverage 1.5 -> 1.2 (factor 0.8, medium); vol 0.18 vs 0.12 (factor 2/3, high)
    lev = _b("portfolio", "gross_leverage", "sol", 1.5, 1.2)
    vol = _b("portfolio", "volatility_target", "sol", 0.18, 0.12)
    assert reduce_to_limits(W, [lev]) == pytest.approx({"A": 0.48, "B": 0.48, "C": 0.24})
    assert reduce_to_limits(W, [lev, vol]) == pytest.approx({"A": 0.4, "B": 0.4, "C": 0.2})
    # VaR -0.03 vs -0.02: factor 2/3
    var = _b("portfolio", "var_95", "sol", -0.03, -0.02)
    assert reduce_to_limits(W, [var]) == pytest.approx({"A": 0.4, "B": 0.4, "C": 0.2})


def test_reduce_pause_and_cap_and_alert():
    pause = _b("strategy", "strategy_drawdown", "A", -0.25, -0.20)
    cap = _b("strategy", "strategy_weight", "B", 0.6, 0.5)  # excess 0.2 -> reduce, cap at 0.5
    alert = _b("strategy", "strategy_volatility", "C", 0.31, 0.30)
    assert (cap.action, alert.action) == ("reduce_proportionally", "alert")
    assert reduce_to_limits(W, [pause, cap, alert]) == pytest.approx({"A": 0.0, "B": 0.5, "C": 0.3})
    assert reduce_to_limits(W, [alert]) == W
    svol = _b("strategy", "strategy_volatility", "C", 0.36, 0.30)  # medium: scale by 0.30/0.36
    assert reduce_to_limits(W, [svol])["C"] == pytest.approx(0.25)


def test_reduce_position_scales_holders():
    positions = pl.DataFrame({"strategy_id": ["A", "C"], "ticker": ["MSFT", "TSLA"], "weight": [0.4, 0.5]})
    pos = _b("position", "net_exposure_per_ticker", "MSFT", 0.24, 0.12)  # factor 0.5, A only
    assert reduce_to_limits(W, [pos], positions) == pytest.approx({"A": 0.3, "B": 0.6, "C": 0.3})
    assert reduce_to_limits(W, [pos]) == pytest.approx({"A": 0.3, "B": 0.3, "C": 0.15})


def test_blocks_new_risk():
    assert not blocks_new_risk([])
    assert not blocks_new_risk([_b("portfolio", "gross_leverage", "sol", 1.6, 1.5)])  # low
    assert not blocks_new_risk([_b("portfolio", "gross_leverage", "sol", 1.8, 1.5)])  # medium
    assert blocks_new_risk([_b("portfolio", "gross_leverage", "sol", 2.4, 1.5)])  # high
    assert blocks_new_risk([_b("portfolio", "drawdown_stop", "sol", -0.16, -0.15)])  # critical


def test_a_breach_exactly_on_a_severity_boundary_takes_the_higher_grade():
    # (0.44 - 0.40) / 0.40 = 10% and (0.60 - 0.40) / 0.40 = 50% exactly, though floats round below
    assert classify("strategy_weight", 0.44, 0.40) == ("medium", "reduce_proportionally")
    assert classify("strategy_weight", 0.60, 0.40) == ("high", "pause_strategy")
    assert classify("strategy_weight", 0.4399, 0.40) == ("low", "alert")
