"""Online mode: the solution level runs the policy a month-end search chose, read from
``twin.policy_evaluations`` through the warehouse resource, and names it per day.

The stress scenario of ``test_solution_layer`` (pause 5 days, ramp 2): B falls below its
February valley on Thu 2 Feb and is paused. A search dated Tue 31 Jan that chose
``pause_days = 2`` takes effect from 1 Feb: B's pause counts 2, 1 on 2 and 3 Feb and it
re-enters on Mon 6 Feb at ramp 1/2, where the configured policy keeps it paused until
9 Feb. The 31 January partition itself still runs the configured policy (the search read
that day's close).
"""

import datetime as dt

import polars as pl
import pytest

from tests.graph.test_solution_layer import FIRST, LAST, _copy, _filled, _weights, stress_history  # noqa: F401
from tests.helpers.day_metadata import day_events
from tests.helpers.graph import day, materialize_days, resources
from twin_assets.portfolio import solution_level
from twin_model.contracts import TABLES
from twin_model.twin.search import parameters_json, with_parameters
from twin_resources.config import load_config

EVALUATIONS = TABLES["twin.policy_evaluations"]


def _choose_two_day_pauses(warehouse, config_dir) -> str:
    configured = load_config(config_dir).solutions.solutions[0].rules()
    chosen = with_parameters(configured, {"pause_days": 2})
    rows = pl.DataFrame(
        {
            "date": [dt.date(2017, 1, 31)] * 2,
            "solution_id": ["stress"] * 2,
            "candidate_id": ["incumbent", "pfa:pause_days=2"],
            "family": ["incumbent", "pfa"],
            "parameters": [parameters_json(configured), parameters_json(chosen)],
            "incumbent": [True, False],
            "evaluator": ["reference"] * 2,
            "best_in_sample": [False, True],
            "chosen": [False, True],
            "score_kind": ["mean_variance"] * 2,
            "holdout_score": [0.0, 0.001],
        }
    )
    frame = _filled(EVALUATIONS, rows)
    warehouse.warehouse().replace_partitions(EVALUATIONS, frame, [dt.date(2017, 1, 31)])
    return "policy_search 2017-01-31: pfa:pause_days=2"


@pytest.mark.slow
def test_the_level_runs_the_chosen_pause_rule_from_the_day_after_the_search(stress_history):  # noqa: F811
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "in_force")
    source = _choose_two_day_pauses(warehouse, config_dir)
    result = materialize_days([solution_level], resources(warehouse, config_dir), FIRST, LAST)
    assert result.success
    b = _weights(warehouse, "syn_0001")
    status = dict(zip(b.get_column("date").to_list(), b.get_column("status").to_list()))
    assert [status[day(d)] for d in ("2017-02-02", "2017-02-03", "2017-02-06")] == ["paused", "paused", "active"]
    ramp = b.filter(pl.col("date") == day("2017-02-06")).get_column("ramp_day").item()
    assert ramp == 1
    events = day_events(result, "portfolio.solution_weights")
    assert events["2017-01-31"]["policy_in_force"] == "stress: configured"
    assert events["2017-02-01"]["policy_in_force"] == f"stress: {source}"
    assert events[LAST]["policy_in_force"] == f"stress: {source}"
