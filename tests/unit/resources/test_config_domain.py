"""Config sections are the domain's own types: a section left out is the domain's
default, the firm's narrower bounds are refused naming the key, and a domain rule
(the pool's hysteresis band, a seed, a finite limit) is refused at load, not mid-run."""

import datetime as dt

import pytest
import yaml

from twin_model.conventions import CrystallisationFrequency, HurdleKind, PolicyKind
from twin_model.portfolio import CostModel, RiskLimits
from twin_model.solution import SolutionRules
from twin_model.strategy import AlphaPoolPolicy, FitSettings, SimulationSettings
from twin_resources.config import ConfigError, load_config

LAUNCH = dt.date(2021, 3, 8)


def _edit(config_dir, filename: str, change) -> None:
    path = config_dir / filename
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def _refused(config_dir) -> str:
    with pytest.raises(ConfigError) as error:
        load_config(config_dir)
    return str(error.value)


def test_sections_left_out_are_the_domain_defaults(config_dir):
    def bare_strategies(data):
        for section in ("model", "forecast", "pool_policy"):
            del data[section]

    def bare_solutions(data):
        del data["execution"]
        data["solutions"] = [
            {"solution_id": "bare", "launch_date": LAUNCH, "initial_aum": 5.0, "policy": {"kind": "inverse_volatility"}}
        ]

    _edit(config_dir, "strategies.yaml", bare_strategies)
    _edit(config_dir, "solutions.yaml", bare_solutions)
    _edit(config_dir, "firm.yaml", lambda data: data.pop("new_solution"))
    config = load_config(config_dir)
    assert config.strategies.model == FitSettings()
    assert config.strategies.forecast == SimulationSettings()
    assert config.strategies.pool_policy == AlphaPoolPolicy()
    assert config.solutions.execution == CostModel()
    assert isinstance(config.risk_limits, RiskLimits)
    expected = SolutionRules(
        solution_id="bare", launch_date=LAUNCH, initial_aum=5.0, policy_kind=PolicyKind.INVERSE_VOLATILITY
    )
    assert config.solutions.solutions[0].rules() == expected


@pytest.mark.parametrize(
    "section, key, value, reason",
    [
        ("forecast", "n_paths", 50, "Input should be greater than or equal to 100"),
        ("forecast", "valley_quantile", 0.5, "Input should be less than 0.5"),
        ("model", "draws", 20, "Input should be greater than or equal to 50"),
        ("model", "max_rhat", 0.9, "Input should be greater than 1"),
    ],
)
def test_the_firms_narrower_bounds_are_refused_naming_the_key(config_dir, section, key, value, reason):
    """The domain type takes the value (a test may simulate 50 paths); the firm's file does not."""
    domain = {"forecast": SimulationSettings, "model": FitSettings}[section]
    assert getattr(domain(**{key: value}), key) == value
    _edit(config_dir, "strategies.yaml", lambda data: data[section].update({key: value}))
    message = _refused(config_dir)
    assert f"{config_dir / 'strategies.yaml'}: key '{section}.{key}': {reason}" in message, message


@pytest.mark.parametrize(
    "filename, change, key, reason",
    [
        (
            "strategies.yaml",
            lambda data: data["pool_policy"].update(enter_probability=0.7, exit_probability=0.8),
            "pool_policy",
            "need 0 <= exit_probability < enter_probability <= 1, got 0.8 and 0.7",
        ),
        (
            "strategies.yaml",
            lambda data: data["model"].update(seed=-1),
            "model.seed",
            "Input should be greater than or equal to 0",
        ),
        (
            "strategies.yaml",
            lambda data: data["model"].update(draw=300),
            "model.draw",
            "Extra inputs are not permitted",
        ),
        (
            "solutions.yaml",
            lambda data: data["execution"].update(capacity=-1.0),
            "execution.capacity",
            "Input should be greater than 0",
        ),
        (
            "risk_limits.yaml",
            lambda data: data["strategy"].update(max_volatility=float("inf")),
            "strategy.max_volatility",
            "Input should be a finite number",
        ),
    ],
)
def test_a_domain_rule_is_refused_at_load_naming_file_and_key(config_dir, filename, change, key, reason):
    """Before, an inverted band, a negative seed or an infinite limit loaded and failed the
    run that built the domain object; a typo and a bad capacity were refused and still are."""
    _edit(config_dir, filename, change)
    message = _refused(config_dir)
    assert message.startswith(f"{config_dir / filename}: key '{key}': "), message
    assert reason in message, message


def test_a_solutions_fee_terms_are_the_firms_overridden_by_its_own_and_flows_reach_its_rules(config_dir):
    def change(data):
        data["solutions"][1]["fees"] = {"performance_fee": 0.1, "hurdle": "soft", "crystallisation": "quarterly"}
        data["solutions"][1]["flows"] = [
            {"date": dt.date(2019, 7, 1), "amount": 2e6},
            {"date": dt.date(2019, 7, 1), "amount": -5e5},
            {"date": dt.date(2020, 3, 2), "amount": -1e6},
        ]

    _edit(config_dir, "solutions.yaml", change)
    config = load_config(config_dir)
    firm, (balanced, defensive) = config.firm, config.solutions.solutions[:2]
    holidays = frozenset({dt.date(2019, 7, 4)})
    own = firm.fee_terms(defensive.fees, holidays)
    assert (own.management_fee, own.performance_fee, own.hurdle, own.crystallisation) == (
        0.02,
        0.1,
        HurdleKind.SOFT,
        CrystallisationFrequency.QUARTERLY,
    )
    assert own.holidays == holidays
    default = firm.fee_terms(balanced.fees)
    assert (default.performance_fee, default.hurdle, default.crystallisation) == (
        0.2,
        HurdleKind.NONE,
        CrystallisationFrequency.ANNUAL,
    )
    # the configured cash rate: about 4% at the end of 2022 (3-month bills), about 0 in 2021
    assert default.cash_rate.rate_on(dt.date(2022, 12, 28)) == pytest.approx(0.0425)
    assert default.cash_rate.rate_on(dt.date(2021, 6, 1)) == pytest.approx(0.0005)
    assert defensive.rules().flows == {dt.date(2019, 7, 1): 1.5e6, dt.date(2020, 3, 2): -1e6}
    assert balanced.rules().flows == {}


def test_a_firm_without_a_cash_rate_loads_and_its_cash_earns_nothing(config_dir):
    _edit(config_dir, "firm.yaml", lambda data: data.update(cash_rate=[]))
    terms = load_config(config_dir).firm.fee_terms()
    assert terms.cash_rate.rate_on(dt.date(2022, 12, 28)) == 0.0
    assert terms.cash_rate.accrual(dt.date(2022, 12, 23), dt.date(2022, 12, 27)) == 0.0
