"""Config that cannot hold is refused at load, naming the file and the key; every run
step that reads config validates all five files (firm.yaml too) while the code location
still loads; ``config_hash`` follows the content, not the text."""

import os
import subprocess
import sys

import pytest
import yaml

from tests.helpers.graph import materialize_days, resources
from tests.helpers.risk_limits import LOOSE_RISK_LIMITS
from twin_assets.alpha import alpha_pool
from twin_assets.raw import market_prices
from twin_resources.config import ConfigError, config_hash, load_config


def _edit(config_dir, filename: str, change) -> None:
    """Apply ``change`` to the parsed YAML of ``filename`` and write it back."""
    path = config_dir / filename
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def _first_solution(**keys):
    """A change setting ``keys`` of the first solution (balanced: max_weight 0.4, leverage 1)."""

    def change(data):
        solution = data["solutions"][0]
        for key, value in keys.items():
            section, _, name = key.rpartition(".")
            (solution[section] if section else solution)[name] = value

    return change


def _static(weights, **keys):
    """The first solution with a static policy of ``weights`` (and ``keys`` set)."""
    return _first_solution(policy={"kind": "static", "static_weights": weights}, **keys)


def _portfolio_limits(**limits):
    return lambda data: data["portfolio"].update(limits)


REFUSED = [
    (
        "min above max",
        "solutions.yaml",
        _first_solution(**{"constraints.min_weight": 0.5, "constraints.max_weight": 0.1}),
        "solutions.0.constraints.min_weight",
        "min_weight 0.5 is above max_weight 0.1",
    ),
    (
        "negative sector limit",
        "solutions.yaml",
        _first_solution(**{"constraints.sector_limits": {"equity_momentum": -0.1}}),
        "solutions.0.constraints.sector_limits.equity_momentum",
        "Input should be greater than or equal to 0",
    ),
    (
        "sector limit in percent",
        "solutions.yaml",
        _first_solution(**{"constraints.sector_limits": {"equity_momentum": 60}}),
        "solutions.0.constraints.sector_limits.equity_momentum",
        "sector limit 60.0 is above leverage_limit 1.0",
    ),
    (
        "exposure above leverage",
        "solutions.yaml",
        _first_solution(target_exposure=50),
        "solutions.0.target_exposure",
        "target_exposure 50.0 is above constraints.leverage_limit 1.0",
    ),
    (
        "floor above exposure",
        "solutions.yaml",
        _first_solution(target_exposure=0.2, **{"constraints.min_weight": 0.3}),
        "solutions.0.constraints.min_weight",
        "min_weight 0.3 is above target_exposure 0.2",
    ),
    (
        "exposure above the firm's gross leverage",
        "solutions.yaml",
        _first_solution(target_exposure=1.6, **{"constraints.leverage_limit": 2.0}),
        "solutions.0.target_exposure",
        "target_exposure 1.6 is above ",
    ),
    (
        "static without weights",
        "solutions.yaml",
        _first_solution(policy={"kind": "static"}),
        "solutions.0.policy.static_weights",
        "policy 'static' needs static_weights",
    ),
    (
        "negative static weight on an unlisted id",
        "solutions.yaml",
        _static({"momentum_60": 0.3, "not_in_the_universe": -0.1}),
        "solutions.0.policy.static_weights.not_in_the_universe",
        "Input should be greater than or equal to 0",
    ),
    (
        "static weight above max on an unlisted id",
        "solutions.yaml",
        _static({"momentum_60": 0.3, "not_in_the_universe": 1.5}),
        "solutions.0.policy.static_weights.not_in_the_universe",
        "weight 1.5 is above 1: static weights are proportions",
    ),
    (
        "static weights all zero",
        "solutions.yaml",
        _static({"momentum_60": 0.0, "factor_qual": 0.0}),
        "solutions.0.policy.static_weights",
        "no weight is positive",
    ),
    (
        "objective on a policy that ignores it",
        "solutions.yaml",
        _first_solution(policy={"kind": "inverse_volatility", "objective": "MAX_SHARPE"}),
        "solutions.0.policy.objective",
        "only policy 'optimizer' reads objective",
    ),
    (
        "CVaR limit above VaR limit",
        "risk_limits.yaml",
        _portfolio_limits(var_95=-0.05, cvar_95=-0.001),
        "portfolio.cvar_95",
        "cvar_95 -0.001 is above var_95 -0.05",
    ),
    (
        "99% CVaR above 99% VaR",
        "risk_limits.yaml",
        _portfolio_limits(cvar_99=-0.03),
        "portfolio.cvar_99",
        "cvar_99 -0.03 is above var_99 -0.035",
    ),
    (
        "99% VaR above 95% VaR",
        "risk_limits.yaml",
        _portfolio_limits(var_99=-0.01),
        "portfolio.var_99",
        "var_99 -0.01 is above var_95 -0.02",
    ),
    (
        "cash rate dates out of order",
        "firm.yaml",
        lambda data: data.update(
            cash_rate=[{"from": "2015-01-01", "rate": 0.01}, {"from": "2014-06-02", "rate": 0.02}]
        ),
        "cash_rate.1.from",
        "2014-06-02 is not after the previous change's date 2015-01-01",
    ),
    (
        "cash rate starting after the first business day",
        "firm.yaml",
        lambda data: data.update(cash_rate=[{"from": "2016-01-04", "rate": 0.01}]),
        "cash_rate.0.from",
        "the cash rate starts on 2016-01-04, after ",
    ),
    (
        "new-solution template not a solution",
        "firm.yaml",
        lambda data: data.update(
            new_solution={"template": "nowhere", "launch_aum": 1e7, "min_unused_pool_strategies": 3}
        ),
        "new_solution.template",
        "no solution 'nowhere' in ",
    ),
    (
        "unknown hurdle",
        "firm.yaml",
        lambda data: data.update(hurdle="medium"),
        "hurdle",
        "Input should be 'none', 'hard' or 'soft'",
    ),
    (
        "a solution's performance fee of 150%",
        "solutions.yaml",
        _first_solution(fees={"performance_fee": 1.5}),
        "solutions.0.fees.performance_fee",
        "Input should be less than 1",
    ),
    (
        "a flow on a Saturday",
        "solutions.yaml",
        _first_solution(flows=[{"date": "2019-06-01", "amount": 1e6}]),
        "solutions.0.flows.0.date",
        "2019-06-01 is a Saturday, not a business day",
    ),
    (
        "a flow before the launch",
        "solutions.yaml",
        _first_solution(flows=[{"date": "2014-12-31", "amount": 1e6}]),
        "solutions.0.flows.0.date",
        "2014-12-31 is not a day the solution is managed",
    ),
    (
        "drawdown stop below -100%",
        "risk_limits.yaml",
        _portfolio_limits(drawdown_stop=-1.5),
        "portfolio.drawdown_stop",
        "Input should be greater than -1",
    ),
]


@pytest.mark.parametrize(
    "filename, change, key, reason", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_config_that_cannot_hold_is_refused_naming_file_and_key(config_dir, filename, change, key, reason):
    _edit(config_dir, filename, change)
    with pytest.raises(ConfigError) as error:
        load_config(config_dir)
    message = str(error.value)
    assert message.startswith(f"{config_dir / filename}: "), message
    assert f"key '{key}': {reason}" in message, message


def test_the_gross_leverage_conflict_names_both_files(config_dir):
    _edit(config_dir, "solutions.yaml", _first_solution(target_exposure=1.6, **{"constraints.leverage_limit": 2.0}))
    with pytest.raises(ConfigError) as error:
        load_config(config_dir)
    assert f"{config_dir / 'risk_limits.yaml'} key 'portfolio.max_gross_leverage' 1.5" in str(error.value)


def test_every_broken_file_is_named_at_once(config_dir):
    _edit(config_dir, "solutions.yaml", _first_solution(target_exposure=50))
    _edit(config_dir, "risk_limits.yaml", _portfolio_limits(cvar_95=-0.001))
    with pytest.raises(ConfigError) as error:
        load_config(config_dir)
    lines = str(error.value).splitlines()
    assert [line.split(": key")[0] for line in lines] == [
        str(config_dir / "solutions.yaml"),
        str(config_dir / "risk_limits.yaml"),
    ]


def test_config_at_the_edges_of_the_rules_loads(config_dir):
    """Equal tail limits, a zero sector limit, static weights of 0 and 1 and summing past
    the exposure (they are proportions): all allowed."""
    _edit(config_dir, "risk_limits.yaml", lambda data: data.update(LOOSE_RISK_LIMITS))
    _edit(
        config_dir,
        "solutions.yaml",
        _static(
            {"momentum_60": 1.0, "factor_qual": 0.4, "factor_size": 0.0, "not_in_the_universe": 0.2},
            **{"constraints.sector_limits": {"equity_mean_reversion": 0.0, "equity_momentum": 1.0}},
        ),
    )
    config = load_config(config_dir)
    assert config.solutions.solutions[0].policy.static_weights["not_in_the_universe"] == 0.2


BROKEN_FIRM = [
    ("missing key", lambda text: text.replace("name: Strategy Twin Capital\n", ""), "key 'name': Field required"),
    (
        "wrong type",
        lambda text: text.replace("management_fee: 0.02", "management_fee: two percent"),
        "key 'management_fee': Input should be a valid number",
    ),
    ("malformed YAML", lambda text: text + "projection: {months_ahead: [12\n", "malformed YAML at line"),
]


@pytest.mark.parametrize("change, reason", [case[1:] for case in BROKEN_FIRM], ids=[case[0] for case in BROKEN_FIRM])
def test_a_broken_firm_file_fails_the_run_step_that_reads_config(warehouse, config_dir, change, reason):
    """No asset reads firm.yaml yet, but every step validates all five files before it
    writes: the raw layer (through its provenance, the config hash) and the alpha pool
    both fail naming firm.yaml."""
    firm = config_dir / "firm.yaml"
    firm.write_text(change(firm.read_text()))
    result = materialize_days(
        [market_prices, alpha_pool], resources(warehouse, config_dir), "2021-03-08", raise_on_error=False
    )
    assert not result.success
    succeeded = {event.step_key for event in result.all_events if event.event_type_value == "STEP_SUCCESS"}
    failures = [event for event in result.all_events if event.is_step_failure]
    assert sorted(event.step_key for event in failures) == ["alpha__alpha_pool", "raw__market_prices"] and not succeeded
    for failure in failures:
        message = failure.step_failure_data.error.to_string()
        assert f"{firm}: {reason}" in message, message
    assert not warehouse.warehouse().row_counts().get("raw.market_prices")


@pytest.mark.slow
def test_the_code_location_loads_with_a_broken_firm_file(config_dir):
    (config_dir / "firm.yaml").write_text("name: [unclosed\n")
    script = "from twin_assets.definitions import defs; print(len(defs.resolve_asset_graph().get_all_asset_keys()))"
    env = {**os.environ, "TWIN_CONFIG_DIR": str(config_dir)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip().splitlines()[-1]) >= 10


def test_config_hash_follows_the_content_not_the_text(config_dir, tmp_path):
    original = config_hash(config_dir)
    assert original == config_hash(config_dir) and len(original) == 64
    # Comments, layout and key order dropped (yaml.safe_dump sorts keys, flows nothing): same content.
    for path in config_dir.glob("*.yaml"):
        path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text()), default_flow_style=False, indent=4))
    assert "#" not in (config_dir / "strategies.yaml").read_text()
    assert config_hash(config_dir) == original
    # A default spelled out is the same content.
    _edit(config_dir, "firm.yaml", lambda data: data.pop("projection"))
    assert config_hash(config_dir) == original
    # Any value is not.
    _edit(config_dir, "firm.yaml", lambda data: data.update(management_fee=0.021))
    changed = config_hash(config_dir)
    assert changed != original
    _edit(config_dir, "firm.yaml", lambda data: data.update(management_fee=0.02))
    assert config_hash(config_dir) == original
