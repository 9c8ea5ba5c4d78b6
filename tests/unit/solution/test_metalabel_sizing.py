"""The optional metalabel sizing rule: off by default; on, each allocated weight is
multiplied by 2 Phi(z) - 1, z = (p - 0.5) / sqrt(p (1 - p)) (scipy's normal cdf here),
floored at 0, and what it takes out goes to cash_other."""

import math

import pytest
from scipy.stats import norm

from tests.helpers.solutions import LAUNCH, Market, rules, run
from twin_model.solution import SolutionRules
from twin_model.solution._rules import metalabel_bet_size
from twin_resources.config import SolutionConfig


def reference(p: float) -> float:
    z = (p - 0.5) / math.sqrt(p * (1 - p))
    return max(0.0, 2 * norm.cdf(z) - 1)


@pytest.mark.parametrize("p", [0.5, 0.55, 0.6, 0.7, 0.9, 0.99, 0.3])
def test_the_bet_size_is_two_phi_z_minus_one_floored_at_zero(p):
    assert metalabel_bet_size(p) == pytest.approx(reference(p), abs=1e-12)


def test_certainty_bets_everything_and_certain_loss_nothing():
    assert (metalabel_bet_size(1.0), metalabel_bet_size(0.0)) == (1.0, 0.0)
    with pytest.raises(ValueError, match="1.5 is not a probability"):
        metalabel_bet_size(1.5)


def test_sizing_scales_each_target_by_its_bet_and_puts_the_rest_in_cash():
    rule = rules({"A": 0.5, "B": 0.25, "C": 0.25}, metalabel_sizing=True)
    p = {"A": 0.7, "B": 0.4}  # C has no metalabel: no bet
    _, records = run(rule, Market("ABC"), [LAUNCH], per_day=lambda d: {"p_profitable": p})
    weights = {r["strategy_id"]: r for r in records[0].weights}
    assert weights["A"]["weight_target"] == pytest.approx(0.5 * reference(0.7))
    assert weights["A"]["target_scale"] == pytest.approx(reference(0.7))
    assert weights["B"]["weight_target"] == 0.0 and weights["C"]["weight_target"] == 0.0
    assert records[0].optimization["cash_other"] == pytest.approx(1.0 - 0.5 * reference(0.7))


def test_sizing_is_off_by_default_and_ignores_the_metalabel():
    assert SolutionRules.metalabel_sizing is False
    _, records = run(
        rules({"A": 0.5, "B": 0.5}), Market("AB"), [LAUNCH], per_day=lambda d: {"p_profitable": {"A": 0.5}}
    )
    assert [r["weight_target"] for r in records[0].weights] == pytest.approx([0.5, 0.5])


def test_the_config_key_reaches_the_rules():
    config = SolutionConfig(
        solution_id="s", launch_date=LAUNCH, initial_aum=1.0, policy={"kind": "static", "static_weights": {"A": 1}}
    )
    assert config.rules().metalabel_sizing is False
    assert config.model_copy(update={"metalabel_sizing": True}).rules().metalabel_sizing is True
