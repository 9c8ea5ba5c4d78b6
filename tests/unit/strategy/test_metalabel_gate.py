"""The alpha pool's optional metalabel gate, on hand-made evidence: off by default; on,
it blocks entry below the bar (or without a metalabel) and says so, and never forces an
exit."""

import polars as pl
import pytest

from twin_model.conventions import PoolSignal
from twin_model.strategy import EVIDENCE_COLUMNS, POOL_STATE_COLUMNS, AlphaPoolPolicy, pool_evidence

RULES = dict(enter_probability=0.9, exit_probability=0.7, min_deflated_sharpe=0.5, min_days_in_state=3, min_history=100)
EMPTY_STATE = pl.DataFrame(schema=POOL_STATE_COLUMNS)


def evidence(p_profitable: float | None, p=0.95, dsr=0.9, n=300, strategy_id="a") -> pl.DataFrame:
    """Evidence that passes every rule of RULES (or fails the ones given), with a metalabel."""
    row = pl.DataFrame([(strategy_id, p, 0.05, dsr, n, 50.0, -0.10)], schema=EVIDENCE_COLUMNS, orient="row")
    return row.with_columns(p_profitable=pl.lit(p_profitable, dtype=pl.Float64))


def decide(policy, today, state=EMPTY_STATE) -> dict:
    return policy.decide(state, today).row(0, named=True)


def test_the_gate_is_off_by_default_and_ignores_the_metalabel():
    assert AlphaPoolPolicy().metalabel_min_probability is None
    decision = decide(AlphaPoolPolicy(**RULES), evidence(0.01))
    assert decision["in_pool"]
    assert "metalabel" not in decision["reason"]


def test_a_probability_below_the_bar_blocks_entry_and_the_reason_says_the_metalabel_decided():
    policy = AlphaPoolPolicy(**RULES, metalabel_min_probability=0.55)
    decision = decide(policy, evidence(0.40))
    assert not decision["in_pool"]
    assert decision["reason"] == (
        "new strategy, starts out of the pool; metalabel decided: metalabel p_profitable=0.40 < 0.55; "
        "p_alpha_positive=0.95 >= enter 0.9 and the rest pass"
    )


@pytest.mark.parametrize("p", [0.55, 0.80])
def test_a_probability_at_or_above_the_bar_admits(p):
    decision = decide(AlphaPoolPolicy(**RULES, metalabel_min_probability=0.55), evidence(p))
    assert decision["in_pool"]
    assert "metalabel pass" in decision["reason"]


def test_a_strategy_without_a_metalabel_is_blocked_while_the_gate_is_on():
    decision = decide(AlphaPoolPolicy(**RULES, metalabel_min_probability=0.55), evidence(None))
    assert not decision["in_pool"]
    assert "metalabel decided: metalabel p_profitable missing (gate 0.55)" in decision["reason"]


def test_when_other_rules_fail_too_the_metalabel_is_listed_not_named_as_the_decider():
    decision = decide(AlphaPoolPolicy(**RULES, metalabel_min_probability=0.55), evidence(0.40, p=0.5))
    assert not decision["in_pool"]
    assert "metalabel decided" not in decision["reason"]
    assert decision["reason"].endswith("metalabel p_profitable=0.40 < 0.55")


def test_the_gate_does_not_force_a_member_out():
    member = pl.DataFrame([("a", True, 10)], schema=POOL_STATE_COLUMNS, orient="row")
    decision = decide(AlphaPoolPolicy(**RULES, metalabel_min_probability=0.55), evidence(0.10), member)
    assert decision["in_pool"] and not decision["changed"]


def test_pool_evidence_joins_the_days_metalabels_by_strategy():
    posteriors = pl.DataFrame(
        {
            "strategy_id": ["a", "b"],
            "p_alpha_positive": [0.99, 0.98],
            "alpha_mean": [1e-4, 2e-4],
            "converged": [True] * 2,
        }
    )
    statistics = pl.DataFrame(
        {
            "strategy_id": ["a", "a", "b", "b"],
            "window": ["252d", "inception"] * 2,
            "dsr": [0.9, None, 0.9, None],
            "max_drawdown": [-0.1, None, -0.1, None],
            "n_obs": [None, 300, None, 300],
            "min_track_record_length": [None, 50.0, None, 50.0],
        }
    )
    metalabels = pl.DataFrame({"strategy_id": ["a"], "p_profitable": [0.3]})
    frame = pool_evidence(posteriors, statistics, PoolSignal.P_ALPHA_POSITIVE, metalabels).sort("strategy_id")
    assert frame.get_column("p_profitable").to_list() == [0.3, None]
    decisions = AlphaPoolPolicy(**RULES, metalabel_min_probability=0.5).decide(EMPTY_STATE, frame)
    assert decisions.get_column("in_pool").to_list() == [False, False]
    assert pool_evidence(posteriors, statistics, PoolSignal.P_ALPHA_POSITIVE).columns == list(EVIDENCE_COLUMNS)
