"""Tests for twin_model.data.signals: timing (no look-ahead), hand-worked rules, invariants.

Every expected number below is derived by hand from a tiny made-up panel (the derivation
is written next to it), never copied from the module's output.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from skfolio.datasets import load_factors_dataset, load_sp500_dataset

from twin_model.data.signals import BUNDLED_STRATEGIES, SignalStrategy, run_strategies

BY_ID = {s.strategy_id: s for s in BUNDLED_STRATEGIES}

EXPECTED_IDS = {
    "momentum_60",
    "momentum_120",
    "momentum_200",
    "mean_reversion_20",
    "trend_following_50",
    "low_volatility_63",
    "cross_sectional_momentum_252",
    "factor_mtum",
    "factor_qual",
    "factor_size",
    "factor_usmv",
    "factor_vlue",
    "factor_rotation_63",
}
# Long-only by the rule's definition (from the specification, not from the module).
LONG_ONLY_IDS = {
    "trend_following_50",
    "low_volatility_63",
    "factor_mtum",
    "factor_qual",
    "factor_size",
    "factor_usmv",
    "factor_vlue",
    "factor_rotation_63",
}
FACTOR_IDS = {s for s in EXPECTED_IDS if s.startswith("factor_")}
C5 = 5.0 / 1e4  # the default 5 bps cost as a fraction


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _day(i: int) -> dt.date:
    return dt.date(2020, 1, 1) + dt.timedelta(days=i)


def _long(prices: dict[str, list[float]], first_day: int = 0) -> pl.DataFrame:
    """Long closes frame from ticker -> closes on consecutive days _day(first_day + i)."""
    rows = [(_day(first_day + i), ticker, float(p)) for ticker, path in prices.items() for i, p in enumerate(path)]
    return pl.DataFrame(rows, schema={"date": pl.Date, "ticker": pl.String, "close": pl.Float64}, orient="row")


def _rets(returns: pl.DataFrame, sid: str) -> dict[dt.date, float]:
    sub = returns.filter(pl.col("strategy_id") == sid)
    return dict(zip(sub["date"].to_list(), sub["ret"].to_list()))


def _pos(positions: pl.DataFrame, sid: str) -> dict[tuple[dt.date, str], float]:
    sub = positions.filter(pl.col("strategy_id") == sid)
    return {(d, t): w for d, t, w in zip(sub["date"], sub["ticker"], sub["weight"])}


def _skfolio_long(frame) -> pl.DataFrame:
    wide = pl.from_pandas(frame.reset_index())
    wide = wide.rename({wide.columns[0]: "date"}).with_columns(pl.col("date").cast(pl.Date))
    return wide.unpivot(index="date", variable_name="ticker", value_name="close").with_columns(
        pl.col("close").cast(pl.Float64)
    )


# --------------------------------------------------------------------------------------
# bundled list
# --------------------------------------------------------------------------------------


def test_bundled_strategies_metadata():
    ids = [s.strategy_id for s in BUNDLED_STRATEGIES]
    assert len(ids) >= 13
    assert len(set(ids)) == len(ids)
    assert EXPECTED_IDS <= set(ids)
    for s in BUNDLED_STRATEGIES:
        assert isinstance(s, SignalStrategy)
        assert s.universe in {"stocks", "factors"}
        assert s.asset_class == "equity"
        assert s.sector.startswith("equity_")
        assert s.rule.strip().endswith(".") and s.rule.count(". ") == 0, s.rule
        assert s.warmup >= 1
        assert (s.universe == "factors") == (s.strategy_id in FACTOR_IDS)
    warmups = {s.strategy_id: s.warmup for s in BUNDLED_STRATEGIES}
    # Number of closes each rule needs (see the rule definitions).
    assert warmups == {
        "momentum_60": 61,
        "momentum_120": 121,
        "momentum_200": 201,
        "mean_reversion_20": 20,
        "trend_following_50": 50,
        "low_volatility_63": 64,  # 63 returns need 64 closes
        "cross_sectional_momentum_252": 253,
        "factor_mtum": 100,
        "factor_qual": 100,
        "factor_size": 100,
        "factor_usmv": 100,
        "factor_vlue": 100,
        "factor_rotation_63": 64,
    }


# --------------------------------------------------------------------------------------
# no look-ahead
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recent_panel() -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The last 600 days of both bundled universes (real closes)."""
    stocks, factors = load_sp500_dataset().iloc[-600:], load_factors_dataset().iloc[-600:]
    closes = pl.concat([_skfolio_long(stocks), _skfolio_long(factors)])
    return closes, {"stocks": list(stocks.columns), "factors": list(factors.columns)}


def _look_ahead_problems(
    strategy: SignalStrategy, closes: pl.DataFrame, universes: dict[str, list[str]], cut: dt.date
) -> list[str]:
    """Perturb every close strictly after ``cut``; list what changed on or before ``cut``."""
    # Large factors (e^-3 .. e^3) so that even a one-day peek into a 100-day average flips
    # a decision; seeded for reproducibility.
    rng = np.random.default_rng(20240611)
    after = closes["date"] > cut
    factors = np.where(after.to_numpy(), np.exp(rng.uniform(-3.0, 3.0, closes.height)), 1.0)
    perturbed = closes.with_columns(pl.col("close") * pl.Series(factors))

    r0, p0 = run_strategies(closes, universes, [strategy])
    r1, p1 = run_strategies(perturbed, universes, [strategy])

    problems = []
    before_r0, before_r1 = r0.filter(pl.col("date") <= cut), r1.filter(pl.col("date") <= cut)
    if before_r0.height == 0:
        problems.append("no return rows on or before the cut: the check would be vacuous")
    if not before_r0.equals(before_r1):
        problems.append("a return on or before the cut changed")
    if not p0.filter(pl.col("date") <= cut).equals(p1.filter(pl.col("date") <= cut)):
        problems.append("a position on or before the cut changed")
    next_day = r0.filter(pl.col("date") > cut)["date"].min()
    if not p0.filter(pl.col("date") == next_day).equals(p1.filter(pl.col("date") == next_day)):
        problems.append("the position held the day after the cut (decided at the cut) changed")
    changed_after = not r0.filter(pl.col("date") > cut).equals(r1.filter(pl.col("date") > cut)) or not p0.filter(
        pl.col("date") > cut
    ).equals(p1.filter(pl.col("date") > cut))
    if not changed_after:
        problems.append("the perturbation changed nothing after the cut: the check cannot fail")
    return problems


@pytest.mark.parametrize("sid", [s.strategy_id for s in BUNDLED_STRATEGIES])
def test_no_look_ahead(sid, recent_panel):
    closes, universes = recent_panel
    dates = closes["date"].unique().sort()
    # Cuts after every warm-up (<= 253 closes) and well before the panel's end (600 days).
    for i in (300, 375, 450, 525):
        assert _look_ahead_problems(BY_ID[sid], closes, universes, dates[i]) == [], dates[i]


def test_look_ahead_check_catches_a_cheat(recent_panel):
    """A strategy that trades on tomorrow's close must be flagged by the same check."""

    def peek(c: np.ndarray) -> np.ndarray:
        w = np.zeros_like(c)
        w[:-1] = np.sign(c[1:] - c[:-1]) / c.shape[1]
        return w

    cheat = SignalStrategy("cheat", "Peek at tomorrow.", "stocks", "equity_x", "equity", 1, peek)
    closes, universes = recent_panel
    cut = closes["date"].unique().sort()[450]
    problems = _look_ahead_problems(cheat, closes, universes, cut)
    assert "the position held the day after the cut (decided at the cut) changed" in problems


# --------------------------------------------------------------------------------------
# engine accounting (fixed weights, independent of any rule)
# --------------------------------------------------------------------------------------


def test_engine_timing_costs_and_panel_alignment():
    # Weights table indexed by panel row t (decided at close t). Row 0 is before warm-up.
    table = np.array([[0.0, 0.0], [0.6, 0.4], [0.0, -0.4], [0.3, 0.2]])

    def fixed(c: np.ndarray) -> np.ndarray:
        assert c.shape == (4, 2)
        return table.copy()

    s = SignalStrategy("fixed", "Hold a fixed table.", "u", "equity_x", "equity", 2, fixed)
    closes = _long({"AAA": [10, 20, 22, 11], "BBB": [100, 100, 90, 99]})
    # Noise the panel must ignore: a date where only AAA has a close (absurd value, BBB's
    # close is null there), and a ticker outside the universe.
    noise = pl.DataFrame(
        {
            "date": [dt.date(2019, 12, 31), dt.date(2019, 12, 31), _day(0), _day(2)],
            "ticker": ["AAA", "BBB", "ZZZ", "ZZZ"],
            "close": [1000.0, None, 5.0, 6.0],
        },
        schema={"date": pl.Date, "ticker": pl.String, "close": pl.Float64},
    )
    frame = pl.concat([closes, noise]).sample(fraction=1.0, shuffle=True, seed=3)

    # Universe listed in reverse order: columns are sorted, so the table's column 0 is AAA.
    returns, positions = run_strategies(frame, {"u": ["BBB", "AAA"]}, [s], cost_bps=10.0)

    c = 10.0 / 1e4
    # Rows start at t+1 = warmup = 2.
    # day 2: w1 . r2 = 0.6*(22/20-1) + 0.4*(90/100-1) = 0.06 - 0.04 = 0.02; cost c*(0.6+0.4)
    # day 3: w2 . r3 = 0*(11/22-1) - 0.4*(99/90-1) = -0.04;  cost c*(|0-0.6| + |-0.4-0.4|)
    expected = {_day(2): 0.02 - c * 1.0, _day(3): -0.04 - c * 1.4}
    got = _rets(returns, "fixed")
    assert got.keys() == expected.keys()
    for d, v in expected.items():
        assert got[d] == pytest.approx(v, abs=1e-14)
    # Position on day t+1 is w[t]; zero weights are omitted; row 3 (w[3]) is never held.
    assert _pos(positions, "fixed") == pytest.approx(
        {(_day(2), "AAA"): 0.6, (_day(2), "BBB"): 0.4, (_day(3), "BBB"): -0.4}
    )
    assert returns["available"].to_list() == [True, True]
    assert returns.schema == pl.Schema(
        {"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean}
    )
    assert positions.schema == pl.Schema(
        {"date": pl.Date, "strategy_id": pl.String, "ticker": pl.String, "weight": pl.Float64}
    )


def test_engine_rejects_contract_breaches():
    closes = _long({"AAA": [1, 2, 3, 4], "BBB": [1, 2, 3, 4]})
    u = {"u": ["AAA", "BBB"]}

    def make(fn, warmup=1, sid="bad"):
        return SignalStrategy(sid, "Bad.", "u", "equity_x", "equity", warmup, fn)

    with pytest.raises(ValueError, match="gross"):
        run_strategies(closes, u, [make(lambda c: np.full(c.shape, 0.6))])
    with pytest.raises(ValueError, match="finite"):
        run_strategies(closes, u, [make(lambda c: np.full(c.shape, np.nan))])
    with pytest.raises(ValueError, match="warm-up"):
        run_strategies(closes, u, [make(lambda c: np.full(c.shape, 0.1), warmup=3)])
    with pytest.raises(ValueError, match="not unique"):
        z = make(lambda c: np.zeros(c.shape))
        run_strategies(closes, u, [z, z])
    with pytest.raises(ValueError, match="universe"):
        run_strategies(closes, {"other": ["AAA"]}, [make(lambda c: np.zeros(c.shape))])
    with pytest.raises(ValueError, match="no closes"):
        run_strategies(closes, {"u": ["AAA", "QQQ"]}, [make(lambda c: np.zeros(c.shape))])
    with pytest.raises(ValueError, match="positive"):
        bad = closes.with_columns(pl.when(pl.col("close") == 3).then(-1.0).otherwise(pl.col("close")).alias("close"))
        run_strategies(bad, u, [make(lambda c: np.zeros(c.shape))])
    with pytest.raises(ValueError, match="duplicate"):
        run_strategies(pl.concat([closes, closes.head(1)]), u, [make(lambda c: np.zeros(c.shape))])


def test_no_strategies_or_too_short_panel_gives_empty_typed_frames():
    closes = _long({"AAA": [1.0] * 10, "BBB": [2.0] * 10})
    for strategies in ([], [BY_ID["momentum_60"]]):
        r, p = run_strategies(closes, {"stocks": ["AAA", "BBB"]}, strategies)
        assert r.height == 0 and p.height == 0
        assert r.schema["date"] == pl.Date and r.schema["ret"] == pl.Float64
        assert p.schema["weight"] == pl.Float64


# --------------------------------------------------------------------------------------
# hand-worked rules
# --------------------------------------------------------------------------------------


def _momentum_panel() -> dict[str, list[float]]:
    # 63 closes (t = 0..62). Flat for t <= 59, then:
    #   AAA: c60 = 110, c61 = 99,  c62 = 108.9
    #   BBB: c60 = 45,  c61 = 54,  c62 = 51.3
    return {
        "AAA": [100.0] * 60 + [110.0, 99.0, 108.9],
        "BBB": [50.0] * 60 + [45.0, 54.0, 51.3],
    }


@pytest.mark.parametrize("cost_bps", [5.0, 0.0])
def test_momentum_60_hand_worked(cost_bps):
    returns, positions = run_strategies(
        _long(_momentum_panel()), {"stocks": ["AAA", "BBB"]}, [BY_ID["momentum_60"]], cost_bps
    )
    c = cost_bps / 1e4
    # w60 = sign(c60/c0 - 1)/2: AAA 110/100 -> +0.5, BBB 45/50 -> -0.5
    # w61 = sign(c61/c1 - 1)/2: AAA 99/100  -> -0.5, BBB 54/50 -> +0.5
    # r61 = (99/110 - 1, 54/45 - 1) = (-0.1, +0.2); r62 = (108.9/99 - 1, 51.3/54 - 1) = (0.1, -0.05)
    # ret61 = 0.5*-0.1 - 0.5*0.2 - c*(0.5 + 0.5)           (entering from flat)
    # ret62 = -0.5*0.1 + 0.5*-0.05 - c*(|-0.5-0.5| + |0.5+0.5|)
    expected = {_day(61): -0.15 - c * 1.0, _day(62): -0.075 - c * 2.0}
    got = _rets(returns, "momentum_60")
    assert got.keys() == expected.keys()  # first row is t+1 = warmup = 61
    for d, v in expected.items():
        assert got[d] == pytest.approx(v, abs=1e-12)
    assert _pos(positions, "momentum_60") == pytest.approx(
        {
            (_day(61), "AAA"): 0.5,
            (_day(61), "BBB"): -0.5,
            (_day(62), "AAA"): -0.5,
            (_day(62), "BBB"): 0.5,
        }
    )


def test_trend_following_50_hand_worked():
    # AAA rises 100, 101, ...; BBB falls 200, 199, ... then jumps to 300 at t=50, 330 at t=51;
    # CCC is flat at 10 (close == SMA, not above). At t=52 all fall to 1, t=53 all 2.
    aaa = [100.0 + t for t in range(52)] + [1.0, 2.0]
    bbb = [200.0 - t for t in range(50)] + [300.0, 330.0, 1.0, 2.0]
    ccc = [10.0] * 52 + [1.0, 2.0]
    returns, positions = run_strategies(
        _long({"AAA": aaa, "BBB": bbb, "CCC": ccc}),
        {"stocks": ["AAA", "BBB", "CCC"]},
        [BY_ID["trend_following_50"]],
    )
    # t=49: AAA 149 > mean(100..149)=124.5; BBB 151 < mean(151..200)=175.5 -> w49 = (1, 0, 0)
    # t=50: AAA 150 > 125.5; BBB 300 > (sum(151..199)+300)/50 = 177.5   -> w50 = (.5, .5, 0)
    # t=51: AAA 151 > 126.5; BBB 330 > (sum(151..198)+300+330)/50 = 180.12 -> w51 = w50
    # t=52: everything at 1, below its SMA                                -> w52 = 0 (cash)
    expected = {
        _day(50): (150 / 149 - 1) - C5 * 1.0,
        _day(51): 0.5 * (151 / 150 - 1) + 0.5 * (330 / 300 - 1) - C5 * 1.0,
        _day(52): 0.5 * (1 / 151 - 1) + 0.5 * (1 / 330 - 1) - C5 * 0.0,
        _day(53): 0.0 - C5 * 1.0,  # flat day: still a row, pays for selling everything
    }
    got = _rets(returns, "trend_following_50")
    assert got.keys() == expected.keys()
    for d, v in expected.items():
        assert got[d] == pytest.approx(v, abs=1e-12)
    assert _pos(positions, "trend_following_50") == pytest.approx(
        {
            (_day(50), "AAA"): 1.0,
            (_day(51), "AAA"): 0.5,
            (_day(51), "BBB"): 0.5,
            (_day(52), "AAA"): 0.5,
            (_day(52), "BBB"): 0.5,
        }
    )


def test_mean_reversion_20_hand_worked():
    # Window t = 0..19:
    #   AAA: 19 x 100 then 110 -> mean 100.5, var = (19*0.5^2 + 9.5^2)/19 = 5, z = 9.5/sqrt(5)
    #   BBB: 19 x 50 then 40   -> z = -9.5/sqrt(5)
    #   CCC: 10 x 20, 10 x 22  -> mean 21, var = 20/19, z = 1/sqrt(20/19) = sqrt(19/20)
    k, zc = 9.5 / math.sqrt(5.0), math.sqrt(19.0 / 20.0)
    z = np.array([k, -k, zc])
    d = z - z.mean()  # (k - zc/3, -k - zc/3, 2 zc/3)
    w = -d / (2 * k + 2 * zc / 3)  # sum |d| = 2k + 2zc/3
    prices = {
        "AAA": [100.0] * 19 + [110.0, 99.0],
        "BBB": [50.0] * 19 + [40.0, 44.0],
        "CCC": [20.0] * 10 + [22.0] * 10 + [22.0],
    }
    returns, positions = run_strategies(_long(prices), {"stocks": list(prices)}, [BY_ID["mean_reversion_20"]])
    got = _pos(positions, "mean_reversion_20")
    assert set(got) == {(_day(20), t) for t in ("AAA", "BBB", "CCC")}
    for i, t in enumerate(("AAA", "BBB", "CCC")):
        assert got[(_day(20), t)] == pytest.approx(w[i], abs=1e-12)
    assert sum(got.values()) == pytest.approx(0.0, abs=1e-12)  # dollar neutral
    assert sum(abs(v) for v in got.values()) == pytest.approx(1.0, abs=1e-12)  # gross 1
    assert w[0] < 0 < w[1]  # short the stretched-up stock, long the stretched-down one
    # r20 = (99/110 - 1, 44/40 - 1, 0) = (-0.1, 0.1, 0); entering costs c * 1
    assert _rets(returns, "mean_reversion_20") == pytest.approx({_day(20): -0.1 * w[0] + 0.1 * w[1] - C5}, abs=1e-12)


def test_mean_reversion_all_z_equal_is_flat():
    # Scaled copies of one path have identical z-scores (up to rounding): no trade.
    rng = np.random.default_rng(7)
    path = 100 * np.cumprod(1 + 0.01 * rng.standard_normal(30))
    prices = {"AAA": list(path), "BBB": list(2 * path), "CCC": list(3.7 * path)}
    returns, positions = run_strategies(_long(prices), {"stocks": list(prices)}, [BY_ID["mean_reversion_20"]])
    assert positions.height == 0
    assert returns.height == 30 - 20
    assert (returns["ret"] == 0.0).all()


def test_low_volatility_63_hand_worked():
    # Each ticker alternates 100, 100(1+a), 100, ...: its returns alternate a and
    # 1/(1+a) - 1, whose std grows with a. AAA (a = 5%) is the most volatile: excluded.
    amps = {"AAA": 0.05, "BBB": 0.0, "CCC": 0.01, "DDD": 0.02, "EEE": 0.03, "FFF": 0.04}
    prices = {t: [100.0 * (1 + a) if i % 2 else 100.0 for i in range(65)] for t, a in amps.items()}
    returns, positions = run_strategies(_long(prices), {"stocks": list(prices)}, [BY_ID["low_volatility_63"]])
    # Decision at t = 63 (odd: closes at 100(1+a)), held over day 64 (closes back at 100).
    held = ["BBB", "CCC", "DDD", "EEE", "FFF"]
    assert _pos(positions, "low_volatility_63") == pytest.approx({(_day(64), t): 0.2 for t in held})
    expected = sum(0.2 * (1 / (1 + amps[t]) - 1) for t in held) - C5 * 1.0
    assert _rets(returns, "low_volatility_63") == pytest.approx({_day(64): expected}, abs=1e-12)


def test_cross_sectional_momentum_252_hand_worked():
    # 12 stocks, c_t = 100 g^t, so the score c[t-21]/c[t-252] - 1 = g^231 - 1 ranks by g.
    growth = {
        "S01": 1.0010,
        "S02": 0.9990,
        "S03": 1.0030,
        "S04": 0.9995,
        "S05": 1.0020,
        "S06": 0.9980,
        "S07": 1.0001,
        "S08": 0.9970,
        "S09": 1.0002,
        "S10": 0.9985,
    }
    prices = {t: [100.0 * g**i for i in range(254)] for t, g in growth.items()}
    # TRAP: the best return from t-252 to t-21 (1.004^t up to close 231 = 252 - 21), then
    # crashes to 10 from close 232 on: still ranked top at t = 252 (the last 21 days are
    # skipped; a lag of 20 would rank it bottom) and earns 0 on day 253.
    prices["TRAP"] = [100.0 * 1.004**i if i <= 231 else 10.0 for i in range(254)]
    # FLAT: score 0, ranks in the middle.
    prices["FLAT"] = [100.0] * 254
    returns, positions = run_strategies(
        _long(prices), {"stocks": list(prices)}, [BY_ID["cross_sectional_momentum_252"]]
    )
    # Sorted by score: S08 < S06 < S10 < S02 < S04 < FLAT < S07 < S09 < S01 < S05 < S03 < TRAP
    longs, shorts = ["S09", "S01", "S05", "S03", "TRAP"], ["S08", "S06", "S10", "S02", "S04"]
    want = {(_day(253), t): 0.1 for t in longs} | {(_day(253), t): -0.1 for t in shorts}
    assert _pos(positions, "cross_sectional_momentum_252") == pytest.approx(want)
    # day 253 return of S_i is g_i - 1 (TRAP: 10/10 - 1 = 0); entering costs c * 1
    expected = sum(0.1 * (growth[t] - 1) for t in longs if t != "TRAP")
    expected += sum(-0.1 * (growth[t] - 1) for t in shorts) - C5 * 1.0
    assert _rets(returns, "cross_sectional_momentum_252") == pytest.approx({_day(253): expected}, abs=1e-12)


def _factor_panel(n: int = 101) -> dict[str, list[float]]:
    return {
        "MTUM": [100.0 + t for t in range(n)],  # rising
        "QUAL": [300.0 - t for t in range(n)],  # falling
        "SIZE": [50.0] * n,  # flat: close == SMA, not above
        "USMV": [50.0 + 2 * t for t in range(n)],  # rising fastest
        "VLUE": [400.0 - 2 * t for t in range(n)],  # falling
    }


def test_factor_sleeves_hand_worked():
    prices = _factor_panel()
    sleeves = [BY_ID[f"factor_{t.lower()}"] for t in prices]
    # Listed out of order on purpose: the panel sorts the tickers.
    universes = {"factors": ["VLUE", "MTUM", "USMV", "SIZE", "QUAL"]}
    returns, positions = run_strategies(_long(prices), universes, sleeves)
    # 101 closes, warm-up 100: one decision (t = 99), one return row (day 100).
    # MTUM: c99 = 199 > mean(100..199) = 149.5 -> w = 1; ret = 200/199 - 1 - c (entry cost).
    # USMV: c99 = 248 > mean(50, 52, .., 248) = 149 -> w = 1; ret = 250/248 - 1 - c.
    # QUAL, VLUE (falling) and SIZE (flat, close == SMA) hold cash: ret = 0, no position.
    expected = {
        "factor_mtum": 200 / 199 - 1 - C5,
        "factor_usmv": 250 / 248 - 1 - C5,
        "factor_qual": 0.0,
        "factor_size": 0.0,
        "factor_vlue": 0.0,
    }
    for sid, v in expected.items():
        assert _rets(returns, sid) == pytest.approx({_day(100): v}, abs=1e-12)
    assert _pos(positions, "factor_mtum") == {(_day(100), "MTUM"): 1.0}
    assert _pos(positions, "factor_usmv") == {(_day(100), "USMV"): 1.0}
    flat = ["factor_qual", "factor_size", "factor_vlue"]
    assert positions.filter(pl.col("strategy_id").is_in(flat)).height == 0


def test_factor_sleeve_refuses_a_different_universe():
    prices = {k: v for k, v in _factor_panel().items() if k != "VLUE"}
    with pytest.raises(ValueError, match="written for the panel"):
        run_strategies(_long(prices), {"factors": list(prices)}, [BY_ID["factor_mtum"]])


def test_factor_rotation_63_hand_worked():
    prices = _factor_panel(66)
    returns, positions = run_strategies(_long(prices), {"factors": list(prices)}, [BY_ID["factor_rotation_63"]])

    # 63-day returns at t: USMV (50+2t)/(50+2(t-63)) > MTUM (100+t)/(37+t) > 1 = SIZE > QUAL, VLUE
    # -> 0.5 each in MTUM and USMV from t = 63 on (rows on days 64, 65).
    def r(t, path):
        return path[t] / path[t - 1] - 1

    m, u = prices["MTUM"], prices["USMV"]
    expected = {
        _day(64): 0.5 * r(64, m) + 0.5 * r(64, u) - C5 * 1.0,
        _day(65): 0.5 * r(65, m) + 0.5 * r(65, u) - C5 * 0.0,
    }
    assert _rets(returns, "factor_rotation_63") == pytest.approx(expected, abs=1e-12)
    assert _pos(positions, "factor_rotation_63") == {
        (d, t): 0.5 for d in (_day(64), _day(65)) for t in ("MTUM", "USMV")
    }


# --------------------------------------------------------------------------------------
# invariants on the full bundled history
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled():
    stocks, factors = load_sp500_dataset(), load_factors_dataset()
    closes = pl.concat([_skfolio_long(stocks), _skfolio_long(factors)])
    universes = {"stocks": list(stocks.columns), "factors": list(factors.columns)}
    returns, positions = run_strategies(closes, universes)
    panel_dates = {
        "stocks": [d.date() for d in stocks.dropna().index],
        "factors": [d.date() for d in factors.dropna().index],
    }
    return closes, returns, positions, panel_dates


def test_bundled_output_schema_and_values(bundled):
    _, returns, positions, _ = bundled
    assert returns.schema == pl.Schema(
        {"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean}
    )
    assert positions.schema == pl.Schema(
        {"date": pl.Date, "strategy_id": pl.String, "ticker": pl.String, "weight": pl.Float64}
    )
    ids = returns["strategy_id"].unique().to_list()
    assert len(ids) >= 13 and set(ids) == {s.strategy_id for s in BUNDLED_STRATEGIES}
    assert returns.null_count().sum_horizontal().item() == 0
    assert positions.null_count().sum_horizontal().item() == 0
    assert returns["ret"].is_finite().all() and positions["weight"].is_finite().all()
    assert returns["available"].all()
    assert (returns["ret"] > -1.0).all() and (returns["ret"] <= 0.5).all()
    assert (positions["weight"] != 0.0).all()
    assert positions["weight"].abs().max() <= 1.0
    assert not returns.select(pl.struct("date", "strategy_id").is_duplicated().any()).item()
    keys = pl.struct("date", "strategy_id", "ticker")
    assert not positions.select(keys.is_duplicated().any()).item()


def test_bundled_exposure(bundled):
    _, _, positions, _ = bundled
    daily = positions.group_by("strategy_id", "date").agg(
        gross=pl.col("weight").abs().sum(),
        net=pl.col("weight").sum(),
        n=pl.len(),
        min_w=pl.col("weight").min(),
    )
    assert daily["gross"].max() <= 1 + 1e-12
    long_only = daily.filter(pl.col("strategy_id").is_in(list(LONG_ONLY_IDS)))
    assert long_only["min_w"].min() >= 0.0
    by = {sid: daily.filter(pl.col("strategy_id") == sid) for sid in EXPECTED_IDS}
    for sid in ("momentum_60", "momentum_120", "momentum_200"):
        w = positions.filter(pl.col("strategy_id") == sid)["weight"].abs()
        assert (w == 1 / 20).all()
    mr = by["mean_reversion_20"]
    assert (mr["net"].abs() <= 1e-12).all() and ((mr["gross"] - 1).abs() <= 1e-12).all()
    xs = positions.filter(pl.col("strategy_id") == "cross_sectional_momentum_252")
    assert set(xs["weight"].unique().to_list()) == {0.1, -0.1}
    assert (by["cross_sectional_momentum_252"]["n"] == 10).all()
    assert (by["cross_sectional_momentum_252"]["net"].abs() <= 1e-12).all()
    lv, rot = by["low_volatility_63"], by["factor_rotation_63"]
    assert (lv["n"] == 5).all() and (lv["min_w"] == 0.2).all()
    assert ((lv["gross"] - 1).abs() <= 1e-12).all()
    assert (rot["n"] == 2).all() and (rot["min_w"] == 0.5).all()
    assert ((rot["gross"] - 1).abs() <= 1e-12).all()
    tf = by["trend_following_50"]
    assert ((tf["gross"] - 1).abs() <= 1e-12).all()
    for sid in FACTOR_IDS - {"factor_rotation_63"}:
        assert (by[sid]["n"] == 1).all() and (by[sid]["gross"] == 1.0).all()


def test_bundled_rows_follow_the_warmup_rule(bundled):
    _, returns, positions, panel_dates = bundled
    assert panel_dates["factors"][0] == dt.date(2014, 1, 2)
    for s in BUNDLED_STRATEGIES:
        dates = returns.filter(pl.col("strategy_id") == s.strategy_id)["date"].to_list()
        panel = panel_dates[s.universe]
        # One row for every panel date t+1 with t >= warmup - 1, in order.
        assert dates == panel[s.warmup :], s.strategy_id
        held = set(positions.filter(pl.col("strategy_id") == s.strategy_id)["date"].to_list())
        assert held <= set(dates)
        if s.strategy_id in FACTOR_IDS:
            assert dates[0] > dt.date(2014, 1, 2)


def test_bundled_returns_reconcile_with_positions(bundled):
    """Rebuild every return from the reported positions and the closes, independently."""
    closes, returns, positions, _ = bundled
    rets = closes.sort("ticker", "date").with_columns(r=pl.col("close") / pl.col("close").shift(1).over("ticker") - 1)
    gross = (
        positions.join(rets.select("date", "ticker", "r"), on=["date", "ticker"], how="left")
        .group_by("strategy_id", "date")
        .agg(pnl=(pl.col("weight") * pl.col("r")).sum())
    )
    # turnover on day d = sum |w(d) - w(previous row date)|, w = 0 before the first row
    order = returns.select("strategy_id", "date").sort("strategy_id", "date")
    order = order.with_columns(prev=pl.col("date").shift(1).over("strategy_id"))
    cur = positions.join(order, on=["strategy_id", "date"])
    prev = positions.rename({"date": "prev", "weight": "w_prev"})
    both = cur.join(prev, on=["strategy_id", "prev", "ticker"], how="full", coalesce=True)
    both = both.join(order.rename({"date": "d2"}), on=["strategy_id", "prev"], how="left")
    both = both.with_columns(pl.coalesce("date", "d2").alias("date")).drop_nulls("date")
    turnover = both.group_by("strategy_id", "date").agg(
        to=(pl.col("weight").fill_null(0.0) - pl.col("w_prev").fill_null(0.0)).abs().sum()
    )
    check = (
        returns.join(gross, on=["strategy_id", "date"], how="left")
        .join(turnover, on=["strategy_id", "date"], how="left")
        .with_columns(expected=pl.col("pnl").fill_null(0.0) - C5 * pl.col("to").fill_null(0.0))
    )
    assert (check["ret"] - check["expected"]).abs().max() <= 1e-12
