"""``config/twin.yaml``: the policy search's settings load into their domain type, and a
bad value names the file and the key."""

import pytest
import yaml

from twin_model.conventions import ScoreKind
from twin_model.twin.search import PolicySearchSettings
from twin_resources.config import ConfigError, load_config


def test_the_bundled_file_loads_into_the_domain_settings(config_dir):
    settings = load_config(config_dir).twin.policy_search
    written = yaml.safe_load((config_dir / "twin.yaml").read_text())["policy_search"]
    assert isinstance(settings, PolicySearchSettings)
    assert (settings.n_paths, settings.holdout_paths, settings.horizon) == (
        written["n_paths"],
        written["holdout_paths"],
        written["horizon"],
    )
    assert settings.score is ScoreKind(written["score"])


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("    valley_multiple: [0.5]", "policy_search.pfa"),
        ("  n_paths: 1", "policy_search.n_paths"),
        ("  score: sharpe", "policy_search.score"),
        ("      - {kind: inverse_volatility, params: {risk_aversion: 2}}", "policy_search.cfa.policies.0"),
    ],
)
def test_a_bad_value_names_the_file_and_the_key(config_dir, line, key):
    path = config_dir / "twin.yaml"
    lines = path.read_text().splitlines()
    head = line.split(":")[0]
    replaced = [line if existing.split(":")[0] == head else existing for existing in lines]
    assert replaced != lines
    path.write_text("\n".join(replaced) + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(config_dir)
    assert str(path) in str(error.value) and f"'{key}" in str(error.value)


def test_a_search_of_an_unknown_solution_names_both_files(config_dir):
    path = config_dir / "twin.yaml"
    path.write_text(path.read_text().replace("  solutions: null", "  solutions: [balanced, growth]"))
    with pytest.raises(ConfigError, match=r"twin.yaml: key 'policy_search.solutions.1': no solution 'growth'"):
        load_config(config_dir)
