"""The alpha-pool policy: entry rules, hysteresis, minimum wait, drawdown override,
new strategies and days without information, on hand-made evidence."""

import polars as pl
import pytest

from twin_model.strategy import EVIDENCE_COLUMNS, POOL_STATE_COLUMNS, AlphaPoolPolicy

POLICY = AlphaPoolPolicy(
    enter_probability=0.9, exit_probability=0.7, min_deflated_sharpe=0.5, min_days_in_state=3, min_history=100
)
EMPTY_STATE = pl.DataFrame(schema=POOL_STATE_COLUMNS)


def evidence(strategy_id="a", p=0.95, dsr=0.9, n=300, trl=50.0, dd=-0.10, level=0.05):
    return pl.DataFrame([(strategy_id, p, level, dsr, n, trl, dd)], schema=EVIDENCE_COLUMNS, orient="row")


def state(strategy_id="a", in_pool=False, days=10):
    return pl.DataFrame([(strategy_id, in_pool, days)], schema=POOL_STATE_COLUMNS, orient="row")


def run(policy, start, days_of_evidence):
    """Step the policy through a list of evidence frames; return the in_pool path."""
    current, path = start, []
    for today in days_of_evidence:
        decision = policy.decide(current, today)
        path.append(decision.row(0, named=True))
        current = decision.select(list(POOL_STATE_COLUMNS))
    return path


def test_a_new_strategy_starts_out_and_enters_once_everything_passes():
    decision = POLICY.decide(EMPTY_STATE, evidence()).row(0, named=True)
    # A new strategy has no wait to serve: it is admitted on its first strong day.
    assert decision["in_pool"] and decision["changed"] and decision["days_in_state"] == 1
    assert decision["reason"].startswith("new strategy")


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"p": 0.85}, "p_alpha_positive=0.85 < enter 0.9"),
        ({"dsr": 0.3}, "deflated Sharpe 0.30 < 0.5"),
        ({"dsr": None}, "deflated Sharpe n/a"),
        ({"n": 80, "trl": 50.0}, "history 80 < 100 returns"),
        ({"n": 300, "trl": 400.0}, "track record 300 < minimum 400.00"),
        ({"trl": float("inf")}, "track record 300 < minimum inf"),
        ({"dd": -0.40}, "drawdown -40.0% below -35%"),
    ],
)
def test_each_entry_rule_can_keep_a_strategy_out(kwargs, fragment):
    decision = POLICY.decide(state(days=10), evidence(**kwargs)).row(0, named=True)
    assert not decision["in_pool"] and fragment in decision["reason"]
    assert decision["days_in_state"] == 11 and not decision["changed"]


def test_hysteresis_keeps_a_member_between_the_thresholds():
    # In the pool, evidence 0.8 is below enter (0.9) but above exit (0.7): stays in.
    path = run(POLICY, state(in_pool=True, days=10), [evidence(p=0.8), evidence(p=0.75), evidence(p=0.69)])
    assert [d["in_pool"] for d in path] == [True, True, False]
    assert "< exit 0.7" in path[2]["reason"]


def test_no_switch_before_the_minimum_wait_except_for_a_drawdown():
    fresh_member = state(in_pool=True, days=1)
    path = run(POLICY, fresh_member, [evidence(p=0.5), evidence(p=0.5), evidence(p=0.5)])
    # days_in_state 1 -> held (2) -> 2 < 3 held (3) -> 3 >= 3: leaves.
    assert [d["in_pool"] for d in path] == [True, True, False]
    assert "held: only 1 of 3 days" in path[0]["reason"]
    crash = POLICY.decide(fresh_member, evidence(p=0.99, dd=-0.5)).row(0, named=True)
    assert not crash["in_pool"] and "drawdown" in crash["reason"]


def test_a_day_without_information_carries_the_state():
    current = state(in_pool=True, days=7)
    no_news = pl.DataFrame(schema=EVIDENCE_COLUMNS)
    decision = POLICY.decide(current, no_news).row(0, named=True)
    assert decision["in_pool"] and decision["days_in_state"] == 7 and not decision["changed"]
    assert decision["reason"] == "no new information: state carried"


def test_days_in_state_counts_decision_days():
    path = run(POLICY, state(in_pool=False, days=0), [evidence(p=0.5)] * 4)
    assert [d["days_in_state"] for d in path] == [1, 2, 3, 4]


def test_the_policy_refuses_an_inverted_band():
    with pytest.raises(ValueError, match="exit_probability < enter_probability"):
        AlphaPoolPolicy(enter_probability=0.6, exit_probability=0.7)
