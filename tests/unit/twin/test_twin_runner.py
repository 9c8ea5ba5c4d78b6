"""The sequential-decision core (twin_model.twin) on a toy level worked by hand.

An inventory level: S_t = units on the shelf at day t's close; W_{t+1} = the day's demand;
an (s, S) threshold policy X^pi orders up to S = 10 when the shelf is below s = 3 (the
order arrives before the day's demand); unmet demand is lost. With price 5, unit cost 2
and holding cost 0.5 per unit left at the close:

    S^M(S_t, x, W) = max(0, S_t + x - W)
    C(S_t, x, W)   = 5 min(S_t + x, W) - 2 x - 0.5 S^M(S_t, x, W)

From S_0 = 4 over demands 2, 5, 7, 1:

    day 1: 4 >= 3, order 0;  sell min(4, 2) = 2;  S_1 = 2;  C = 10 - 0 - 1.0   =   9.0
    day 2: 2 < 3,  order 8;  sell min(10, 5) = 5; S_2 = 5;  C = 25 - 16 - 2.5  =   6.5
    day 3: 5 >= 3, order 0;  sell min(5, 7) = 5;  S_3 = 0;  C = 25 - 0 - 0     =  25.0
    day 4: 0 < 3,  order 10; sell min(10, 1) = 1; S_4 = 9;  C = 5 - 20 - 4.5   = -19.5

    total 9.0 + 6.5 + 25.0 - 19.5 = 21.0
"""

import datetime as dt
from dataclasses import dataclass

import pytest

from twin_model.twin import Exogenous, Level, exogenous_path, run

PRICE, UNIT_COST, HOLDING = 5.0, 2.0, 0.5
DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6), dt.date(2024, 3, 7)]
DEMAND = {day: units for day, units in zip(DAYS, [2, 5, 7, 1])}


@dataclass(frozen=True)
class Shelf:
    units: int


@dataclass(frozen=True)
class ThresholdPolicy:
    reorder_point: int = 3
    order_up_to: int = 10

    @property
    def name(self) -> str:
        return f"(s, S) = ({self.reorder_point}, {self.order_up_to})"

    @property
    def parameters(self) -> dict[str, object]:
        return {"reorder_point": self.reorder_point, "order_up_to": self.order_up_to}

    def decide(self, state: Shelf, demand: int) -> int:
        return self.order_up_to - state.units if state.units < self.reorder_point else 0


def left_over(state: Shelf, order: int, demand: int) -> Shelf:
    return Shelf(max(0, state.units + order - demand))


def profit(state: Shelf, order: int, demand: int) -> float:
    sold = min(state.units + order, demand)
    return PRICE * sold - UNIT_COST * order - HOLDING * left_over(state, order, demand).units


def sales(state: Shelf, order: int, demand: int) -> dict:
    return {"order": order, "sold": min(state.units + order, demand)}


LEVEL = Level(policy=ThresholdPolicy(), transition=left_over, contribution=profit, record=sales)


def test_the_runner_steps_the_toy_level_as_worked_by_hand():
    trajectory = run(LEVEL, Shelf(4), exogenous_path(DAYS, DEMAND))
    assert trajectory.days == tuple(DAYS)
    assert trajectory.initial == Shelf(4)
    assert trajectory.states == (Shelf(2), Shelf(5), Shelf(0), Shelf(9))
    assert trajectory.records == (
        {"order": 0, "sold": 2},
        {"order": 8, "sold": 5},
        {"order": 0, "sold": 5},
        {"order": 10, "sold": 1},
    )
    assert trajectory.contributions == (9.0, 6.5, 25.0, -19.5)
    assert trajectory.total_contribution == 21.0
    assert trajectory.final == Shelf(9)


def test_information_from_a_function_of_the_day_equals_the_hand_built_path():
    # the warehouse form: a function called one day at a time
    from_function = run(LEVEL, Shelf(4), exogenous_path(DAYS, DEMAND.get))
    from_mapping = run(LEVEL, Shelf(4), exogenous_path(DAYS, DEMAND))
    assert from_function == from_mapping


def test_no_day_leaves_the_state_as_it_was():
    trajectory = run(LEVEL, Shelf(4), [])
    assert trajectory.final == Shelf(4) and trajectory.total_contribution == 0.0 and trajectory.records == ()


def test_the_runner_refuses_days_out_of_order():
    path = [Exogenous(DAYS[1], 2), Exogenous(DAYS[0], 5)]
    with pytest.raises(ValueError, match="2024-03-04 follows 2024-03-05"):
        run(LEVEL, Shelf(4), path)


def test_a_policy_is_described_by_its_name_and_parameters():
    policy = ThresholdPolicy(reorder_point=2, order_up_to=8)
    assert policy.name == "(s, S) = (2, 8)" and policy.parameters == {"reorder_point": 2, "order_up_to": 8}
    # (2, 8): day 2 starts at 2, not below 2, so no order: sells 2 of 5, S_2 = 0; day 3 orders
    # 8 and sells 7: S_3 = 1; day 4 orders 7 and sells 1: S_4 = 7
    trajectory = run(Level(policy, left_over, profit, sales), Shelf(4), exogenous_path(DAYS, DEMAND))
    assert trajectory.states == (Shelf(2), Shelf(0), Shelf(1), Shelf(7))
