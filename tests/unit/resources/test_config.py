"""Config files: the default firm loads; a malformed file names the file, key and reason."""

import datetime as dt

import pytest

from twin_resources.config import ConfigError, load_config


def test_the_default_firm_loads():
    config = load_config()
    assert config.calendar.last_business_day is not None and not config.calendar.open_ended
    assert config.strategies.source.kind == "bundled"
    assert (config.strategies.factors.benchmark, config.strategies.factors.dividend_yield) == ("SP500", 0.018)
    assert config.strategies.source.factors_file is None
    assert config.strategies.metadata("momentum_60").sector == "equity_momentum"
    unknown = config.strategies.metadata("a_strategy_nobody_listed")
    assert (unknown.sector, unknown.asset_class, unknown.cost_class) == ("unclassified", "unknown", "standard")
    assert {s.solution_id for s in config.solutions.solutions} == {"balanced", "defensive", "risk_parity"}
    assert config.risk_limits.portfolio.drawdown_stop < 0
    assert 0 <= config.firm.management_fee < 1


BROKEN = [
    ("calendar.yaml", "first_business_day: 2021-03-06\n", ["first_business_day", "Saturday"]),
    ("calendar.yaml", "first_business_day: 2021-03-08\nlast_business_day: 2021-03-01\n", ["before first_business_day"]),
    ("calendar.yaml", "first_business_day: 2021-03-08\ntimezone: Mars/Olympus\n", ["timezone", "unknown time zone"]),
    ("calendar.yaml", "first_business_day: 2021-03-08\nschedule_time: '25:00'\n", ["schedule_time"]),
    ("calendar.yaml", "first_busines_day: 2021-03-08\n", ["first_business_day", "first_busines_day"]),
    ("calendar.yaml", "- just\n- a list\n", ["expected a mapping"]),
    (
        "calendar.yaml",
        "first_business_day: 2021-03-08\nholidays: XNYZ\n",
        ["key 'holidays'", "unknown exchange calendar 'XNYZ'"],
    ),
    (
        "calendar.yaml",
        "first_business_day: 2021-03-08\nno_data_days: [2021-03-09, 2021-03-13]\n",
        ["key 'no_data_days'", "2021-03-13 is a Saturday"],
    ),
    ("calendar.yaml", "first_business_day: 2021-03-08\nno_data_days: [03/09/2021]\n", ["key 'no_data_days.0'"]),
    ("strategies.yaml", "source:\n  kind: ftp\n", ["source.kind"]),
    ("strategies.yaml", "source:\n  kind: file\n", ["kind 'file' needs returns_file"]),
    ("strategies.yaml", "strategies:\n  momentum_60: {sectr: x}\n", ["strategies.momentum_60.sectr"]),
    (
        "strategies.yaml",
        "factors: {dividend_yield: -0.01}\n",
        ["key 'factors.dividend_yield'", "greater than or equal to 0"],
    ),
    ("strategies.yaml", "factors: {benchmark: ''}\n", ["key 'factors.benchmark'"]),
    (
        "solutions.yaml",
        "solutions:\n  - solution_id: a\n    launch_date: 2015-01-02\n    initial_aum: -5\n    policy: {kind: static}\n",
        ["solutions.0.initial_aum"],
    ),
    (
        "solutions.yaml",
        "solutions:\n  - {solution_id: a, launch_date: 2015-01-02, initial_aum: 1, policy: {kind: inverse_volatility}}\n  - {solution_id: a, launch_date: 2015-01-02, initial_aum: 1, policy: {kind: inverse_volatility}}\n",
        ["duplicate solution_id: a"],
    ),
    (
        "solutions.yaml",
        "solutions:\n  - {solution_id: a, launch_date: 2015-01-02, initial_aum: 1, policy: {kind: static}, manual: [{date: 2021-03-08, action: stop}]}\n",
        ["solutions.0.manual.0", "needs a strategy_id"],
    ),
    (
        "solutions.yaml",
        "solutions:\n  - {solution_id: a, launch_date: 2015-01-02, initial_aum: 1, policy: {kind: static}, manual: [{date: 2021-03-08, action: sell}]}\n",
        ["solutions.0.manual.0.action"],
    ),
    (
        "solutions.yaml",
        "solutions:\n  - {solution_id: a, launch_date: 2015-01-02, initial_aum: 1, policy: {kind: static}, incubation: {min_evidence: 0.8, exit_evidence: 0.9}}\n",
        ["solutions.0.incubation", "exit_evidence 0.9 is above min_evidence 0.8"],
    ),
    ("solutions.yaml", "execution: {capacity: 0}\nsolutions: []\n", ["execution.capacity"]),
    (
        "solutions.yaml",
        "solutions:\n  - {solution_id: a, launch_date: 2015-01-02, initial_aum: 1, policy: {kind: static}, stop: {valley_multiple: 0.5}}\n",
        ["solutions.0.stop.valley_multiple"],
    ),
    (
        "strategies.yaml",
        "source:\n  kind: synthetic\n  synthetic: {shocks: [{strategy_id: x, start: 2021-03-08, daily_return: -1.5}]}\n",
        ["source.synthetic.shocks.0.daily_return"],
    ),
    ("risk_limits.yaml", "portfolio: {}\n", ["portfolio.max_gross_leverage", "strategy"]),
    (
        "firm.yaml",
        "name: X\nmanagement_fee: 2\nperformance_fee: 0.2\nfixed_costs_per_year: 0\ncost_per_strategy_per_year: 0\n",
        ["management_fee"],
    ),
    ("firm.yaml", "name: [unclosed\n", ["malformed YAML", "line"]),
]


@pytest.mark.parametrize("filename, text, fragments", BROKEN, ids=[f"{b[0]}-{i}" for i, b in enumerate(BROKEN)])
def test_a_malformed_file_names_file_key_and_reason(config_dir, filename, text, fragments):
    (config_dir / filename).write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(config_dir)
    message = str(error.value)
    assert str(config_dir / filename) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_the_bundled_firm_keeps_the_new_york_stock_exchange_holidays(config_dir):
    calendar = load_config().calendar.holiday_calendar()
    assert calendar.exchange == "XNYS" and not calendar.listed
    (config_dir / "calendar.yaml").write_text("first_business_day: 2021-03-01\nno_data_days: [2021-03-02]\n")
    listed = load_config(config_dir).calendar.holiday_calendar()
    assert listed.exchange is None and listed.listed == {dt.date(2021, 3, 2)}


def test_a_missing_file_is_named(config_dir):
    (config_dir / "firm.yaml").unlink()
    with pytest.raises(ConfigError, match="firm.yaml: cannot read config file"):
        load_config(config_dir)


def test_solution_policy_names_are_the_engines():
    """config.py spells the policy kinds, objectives and methods as literals (so loading
    config does not import cvxpy); they must stay the names the engine dispatches on."""
    from typing import get_args

    from twin_model.optimize import Method, Objective
    from twin_model.portfolio import POLICY_KINDS
    from twin_resources.config import SolutionPolicy

    fields = SolutionPolicy.model_fields
    assert get_args(fields["kind"].annotation) == POLICY_KINDS
    assert set(get_args(get_args(fields["objective"].annotation)[0])) == {o.value for o in Objective}
    assert set(get_args(get_args(fields["method"].annotation)[0])) == {m.value for m in Method}
