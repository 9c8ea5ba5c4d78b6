"""`twin run` materialises the job as one run in the instance named by DAGSTER_HOME, so
it shows in the UI, and prints where the results are."""

import argparse
import datetime as dt
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from twin_assets.cli import commands as cli
from twin_assets.cli import progress, summary
from twin_assets.cli.webserver import CODE_LOCATION, Webserver
from twin_assets.shared.partitions import month_steps
from twin_model.calendar import business_days
from twin_resources.config import PROJECT_ROOT

POLL_S = 0.5
MAX_POLLS = 1200  # a bound on every wait below, not a speed requirement
SHUTDOWN_POLLS = 60  # dagster dev's graceful exit, then SIGKILL (nothing is asserted about it)


@pytest.mark.slow
def test_twin_run_records_one_run_in_the_instance_and_prints_the_warehouse(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    warehouse = tmp_path / "twin.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "TWIN_WAREHOUSE": str(warehouse)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin_assets.cli",
            "run",
            "--start",
            "2022-12-19",
            "--end",
            "2022-12-23",
            "--model-days",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"Warehouse: {warehouse}" in out.stdout
    assert "raw.strategy_returns" in out.stdout and "dagster dev" in out.stdout
    assert "raw_history_job" in out.stdout and "modelling_job" not in out.stdout

    span = ["2022-12-19", "2022-12-20", "2022-12-21", "2022-12-22", "2022-12-23"]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        planned = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        stored = instance.get_materialized_partitions(dg.AssetKey(["raw", "strategy_returns"]))
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    assert runs[0].tags["dagster/asset_partition_range_start"] == "2022-12-19"
    assert runs[0].tags["dagster/asset_partition_range_end"] == "2022-12-23"
    # one planned event an asset, holding the range (cli.PLANNED_EVENTS_VARIABLE), not one a day
    plans = [entry.dagster_event.event_specific_data for entry in planned]
    assert len({plan.asset_key for plan in plans}) == len(plans) > 1
    ranged = [sorted(plan.partitions_subset.get_partition_keys()) for plan in plans if plan.partitions_subset]
    assert all(plan.partition is None for plan in plans) and len(ranged) > 1 and all(keys == span for keys in ranged)
    assert sorted(stored) == span  # the UI's partition status still has every day

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        days = connection.execute("SELECT count(DISTINCT date) FROM raw.strategy_returns").fetchone()[0]
    assert days == 5


@pytest.mark.slow
def test_a_failing_run_exits_non_zero_and_says_why(tmp_path):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "TWIN_WAREHOUSE": str(tmp_path / "twin.duckdb"),
        "TWIN_RETURNS_FILE": str(tmp_path / "missing.csv"),
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin_assets.cli",
            "run",
            "--start",
            "2022-12-19",
            "--end",
            "2022-12-19",
            "--model-days",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1
    assert "FAILED" in out.stderr and "missing.csv" in out.stderr


def test_the_planned_events_switch_is_on_unless_the_user_set_it(monkeypatch):
    monkeypatch.delenv(cli.PLANNED_EVENTS_VARIABLE, raising=False)
    cli.one_planned_event_an_asset()
    assert os.environ[cli.PLANNED_EVENTS_VARIABLE] == "true"
    monkeypatch.setenv(cli.PLANNED_EVENTS_VARIABLE, "false")
    cli.one_planned_event_an_asset()
    assert os.environ[cli.PLANNED_EVENTS_VARIABLE] == "false"


def test_a_dagster_home_without_settings_gets_the_projects_and_an_existing_one_is_kept(tmp_path, capsys):
    """Without them the DuckDB pool has no one-step limit and Dagster warns on every
    instance the command opens."""
    home = tmp_path / "new_home"
    cli.home_settings(home)
    written = (home / "dagster.yaml").read_text()
    assert written == (PROJECT_ROOT / ".dagster" / "dagster.yaml").read_text()
    assert yaml.safe_load(written)["concurrency"]["pools"]["default_limit"] == 1
    assert f"DAGSTER_HOME {home} had no dagster.yaml" in capsys.readouterr().out
    cli.home_settings(home)  # said once
    assert capsys.readouterr().out == ""
    own = tmp_path / "own_home"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    cli.home_settings(own)
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_a_date_that_is_not_iso_is_refused_with_a_message(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--end", "2021-1-8"])
    assert exit_.value.code == 2
    assert "argument --end: '2021-1-8' is not a date written YYYY-MM-DD" in capsys.readouterr().err
    for text in ("2021-02-30", "20210108", "8.1.2021", ""):
        with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
            cli.iso_date(text)
    assert cli.iso_date("2021-01-08") == dt.date(2021, 1, 8)


def test_the_span_is_chosen_by_comparing_dates_and_run_walk_forward(monkeypatch, tmp_path):
    executed = []
    session = cli.Session(None, tmp_path / "events.log", io.StringIO())
    monkeypatch.setattr(cli, "open_session", lambda command, verbose: session)
    monkeypatch.setattr(
        cli, "execute", lambda session, job, first, last, days: executed.append((job, first, last, days)) or True
    )
    monkeypatch.setattr(cli, "status", lambda: None)
    span = ["run", "--start", "2021-01-02", "--end", "2021-02-02", "--model-days", "5"]
    assert cli.main([*span, "--strategy-days", "7"]) == 0
    # 2021-01-02 is a Saturday: the span starts on Monday the 4th (22 weekdays). The strategy
    # layers run over the last seven; the last five cross January's month end (Friday the
    # 29th): its search runs before February's days. The dashboard is drawn once, at the end,
    # over the modelled days.
    solutions = [
        ("solution_job", "2021-01-27", "2021-01-29", 3),
        ("month_end_job", "2021-01-01", "2021-01-01", 1),
        ("solution_job", "2021-02-01", "2021-02-02", 2),
        ("dashboard_job", "2021-01-27", "2021-02-02", 5),
    ]
    assert executed == [
        ("raw_history_job", "2021-01-04", "2021-02-02", 22),
        ("strategy_job", "2021-01-25", "2021-02-02", 7),
        *solutions,
    ]
    # by default the strategy layers run over a year's days, here the whole 22-day span; and
    # never over fewer days than the solutions
    executed.clear()
    assert cli.main(span) == 0
    assert executed[1] == ("strategy_job", "2021-01-04", "2021-02-02", 22) and executed[2:] == solutions
    executed.clear()
    assert cli.main([*span, "--strategy-days", "2"]) == 0
    assert executed[1] == ("strategy_job", "2021-01-27", "2021-02-02", 5)


def test_a_month_is_searched_only_when_complete_in_the_calendar():
    """January 2021 ends on Friday the 29th, February on Friday the 26th, March on
    Wednesday the 31st (weekdays, whatever the holidays)."""
    calendar = [d.isoformat() for d in business_days(dt.date(2021, 1, 4), dt.date(2021, 3, 31))]
    days = ["2021-01-28", "2021-01-29", "2021-02-01", "2021-02-02"]
    assert month_steps(days, calendar) == [(days[:2], "2021-01-01"), (days[2:], None)]
    # the calendar's last day is March's last weekday: March is complete
    assert month_steps(["2021-03-30", "2021-03-31"], calendar)[-1][1] == "2021-03-01"
    # a calendar that stops mid-month leaves the month open, and so does a span ending early
    assert month_steps(["2021-03-15"], [d for d in calendar if d <= "2021-03-15"]) == [(["2021-03-15"], None)]
    assert month_steps(["2021-01-27", "2021-01-28"], calendar) == [(["2021-01-27", "2021-01-28"], None)]


def poll(condition, polls: int = MAX_POLLS):
    """``condition()`` once it is truthy, polling a bounded number of times (None if never)."""
    for _ in range(polls):
        try:
            found = condition()
        except OSError:  # the webserver is not up yet
            found = None
        if found:
            return found
        time.sleep(POLL_S)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def reexecute(server: Webserver, run_id: str) -> str:
    mutation = (
        f'mutation {{ launchRunReexecution(reexecutionParams: {{parentRunId: "{run_id}", strategy: ALL_STEPS}}) '
        "{ __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"
    )
    answer = server.query(mutation, timeout=60)["launchRunReexecution"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


@pytest.mark.slow(seconds=120)
def test_twin_run_while_dagster_dev_is_up_shows_on_the_timeline_and_re_executes(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / ".dagster" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    server = Webserver(f"http://127.0.0.1:{port}")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TWIN_WAREHOUSE": str(tmp_path / "twin.duckdb"),
        "TWIN_DAGSTER_URL": server.url,
    }
    dagster = Path(sys.executable).parent / "dagster"
    with (tmp_path / "dagster_dev.out").open("w") as log:
        dev = subprocess.Popen(
            [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        loaded = poll(
            lambda: (
                {"name": CODE_LOCATION, "loadStatus": "LOADED"}
                in server.query(LOCATIONS, timeout=5)["workspaceOrError"]["locationEntries"]
            )
        )
        assert loaded, (tmp_path / "dagster_dev.out").read_text()[-3000:]
        out = subprocess.run(cli_run("2022-12-19", "2022-12-21"), env=env, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert "Submitting through dagster dev" in out.stdout
        # progress read from the event log of a run that dagster dev executes
        assert re.search(r"raw_history_job \[#+\] 100%\s+3/3 days\s+\d+:\d\d:\d\d elapsed\s+SUCCESS", out.stdout)

        with dg.DagsterInstance.from_config(str(home)) as instance:
            (run,) = instance.get_runs()
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert run.remote_job_origin.location_name == CODE_LOCATION  # what the UI's timeline groups by
            assert run.tags["dagster/asset_partition_range_end"] == "2022-12-21"
            again = reexecute(server, run.run_id)
            finished = poll(lambda: instance.get_run_by_id(again).is_finished)
            assert finished and instance.get_run_by_id(again).status == dg.DagsterRunStatus.SUCCESS
            assert instance.get_run_by_id(again).parent_run_id == run.run_id
    finally:
        # dagster dev once stayed up for the whole ten-minute bound after SIGTERM (CI, 5 Dec;
        # its daemon had exited, the webserver and code servers had not; cause not found):
        # give it SHUTDOWN_POLLS, then kill the group
        os.killpg(dev.pid, signal.SIGTERM)
        if poll(lambda: dev.poll() is not None, SHUTDOWN_POLLS) is None:
            os.killpg(dev.pid, signal.SIGKILL)
        dev.wait()


def cli_run(start: str, end: str) -> list[str]:
    return [sys.executable, "-m", "twin_assets.cli", "run", "--start", start, "--end", end, "--model-days", "0"]


# --- the terminal: progress, the event log file, --verbose --------------------------------

PROGRESS = re.compile(r"raw_history_job \[[#.]+\]\s+\d+%\s+(\d)/5 days\s+\d+:\d\d:\d\d elapsed\s+~\d+:\d\d:\d\d left")
EVENT_LINE = " - dagster - DEBUG - raw_history_job - "


def _raw_run(tmp_path, *extra: str) -> subprocess.CompletedProcess:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "TWIN_WAREHOUSE": str(tmp_path / "twin.duckdb")}
    env["TWIN_DAGSTER_URL"] = "off"
    out = subprocess.run(
        [*cli_run("2022-12-19", "2022-12-23"), *extra], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.mark.slow
def test_twin_run_shows_progress_and_keeps_dagster_events_in_the_log_file_it_names(tmp_path):
    out = _raw_run(tmp_path)
    estimates = [int(match.group(1)) for match in PROGRESS.finditer(out.stdout)]
    assert estimates and all(done < 5 for done in estimates), out.stdout  # a time left while days remain
    assert re.search(r"raw_history_job \[#+\] 100%\s+5/5 days\s+\d+:\d\d:\d\d elapsed\s+SUCCESS", out.stdout)
    assert EVENT_LINE not in out.stdout + out.stderr and "STEP_SUCCESS" not in out.stdout + out.stderr
    for noise in ("BetaWarning", "could not link to a BLAS", "NumbaPerformanceWarning"):
        assert noise not in out.stderr
    named = re.search(r"Dagster's events of these runs: (\S+)", out.stdout)
    assert named and named.group(1).startswith(str(tmp_path / "dagster_home" / "logs" / "twin-run-"))
    log = Path(named.group(1)).read_text()
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        (run,) = instance.get_runs()
        successes = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    logged = [line for line in log.splitlines() if f" - {run.run_id} - " in line and " - STEP_SUCCESS - " in line]
    assert len(logged) == len(successes) > 0
    assert "ASSET_MATERIALIZATION" in log and "RUN_SUCCESS" in log
    assert out.stdout.rstrip().endswith(named.group(0))  # the summary's last line


@pytest.mark.slow
def test_verbose_prints_the_event_stream_too(tmp_path):
    out = _raw_run(tmp_path, "--verbose")
    assert EVENT_LINE in out.stdout and " - STEP_SUCCESS - " in out.stdout
    named = re.search(r"Dagster's events of these runs: (\S+)", out.stdout)
    log = Path(named.group(1)).read_text().splitlines()
    assert [line for line in out.stdout.splitlines() if " - dagster - " in line] == log


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_line_estimates_the_time_left_from_the_share_done(monkeypatch):
    """63 days of 10 partitioned assets and the snapshot: 631 asset-partitions. With 160
    done after 5 minutes, f = 160/631: floor(63 f) = 15 days done, and the rest at the
    same pace takes 300 x (1 - f) / f = 300 x 471/160 = 883.125 s = 0:14:43."""
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    follow = progress.RunProgress(None, "modelling_job", 63, 631, io.StringIO(), out=io.StringIO())
    assert follow.line().endswith("0/63 days  0:00:00 elapsed  estimating time left")
    follow.materialised = {(f"asset_{k % 10}", str(k)) for k in range(160)}
    clock.now += 300
    assert follow.line().endswith(" 25%  15/63 days  0:05:00 elapsed  ~0:14:43 left")
    follow.materialised = {(f"asset_{k % 10}", str(k)) for k in range(631)}
    assert follow.line("SUCCESS").endswith("100%  63/63 days  0:05:00 elapsed  SUCCESS")


def test_plain_progress_lines_come_at_most_every_period_and_only_on_news(monkeypatch):
    clock, out = _Clock(), io.StringIO()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    follow = progress.RunProgress(None, "raw_history_job", 5, 6, io.StringIO(), out=out)
    monkeypatch.setattr(follow, "poll", lambda run_id: follow._draw(final=False))
    follow.poll("r")  # nothing materialised yet: nothing to say
    follow.materialised.add(("a", "1"))
    follow.poll("r")  # news: drawn
    follow.materialised.add(("b", "1"))
    clock.now += progress.PLAIN_EVERY_S / 2
    follow.poll("r")  # news, but too soon
    clock.now += progress.PLAIN_EVERY_S / 2
    follow.poll("r")  # drawn
    follow.poll("r")  # no news
    follow._draw(final=True, outcome="SUCCESS")
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[-1] for line in lines] == ["~0:00:00 left", "~0:00:20 left", "SUCCESS"]


def test_the_summary_prints_the_firm_pnl_the_chosen_policies_and_a_projection_when_there_is_one():
    connection = duckdb.connect()
    assert summary.firm_pnl_lines(connection) == summary.projection_lines(connection) == []
    connection.execute("CREATE SCHEMA firm; CREATE SCHEMA twin")
    connection.execute(
        "CREATE TABLE firm.firm_pnl AS SELECT * FROM (VALUES "
        "(DATE '2022-12-27', 'FIRM', 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 5e8), "
        "(DATE '2022-12-28', 'FIRM', 41096.0, 30000.0, 11096.0, 9e6, 7.5e6, 1.5e6, 6e8), "
        "(DATE '2022-12-28', 'balanced', 20000.0, 0.0, 20000.0, 4e6, 0.0, 4e6, 2e8)) "
        "t(date, solution_id, revenue, costs, profit, revenue_ytd, costs_ytd, profit_ytd, aum)"
    )
    connection.execute(
        "CREATE TABLE twin.policy_evaluations AS SELECT * FROM (VALUES "
        "(DATE '2022-10-31', 'balanced', 'pfa:pause_days=5', 'pfa', 0.001, 0.0005, true), "
        "(DATE '2022-11-30', 'balanced', 'incumbent', 'incumbent', 0.0, 0.0, true), "
        "(DATE '2022-11-30', 'risk_parity', 'cfa:inverse_volatility', 'cfa', 0.0021, 0.0007, true), "
        "(DATE '2022-11-30', 'risk_parity', 'incumbent', 'incumbent', NULL, NULL, false)) "
        "t(date, solution_id, candidate_id, family, holdout_diff_vs_incumbent, holdout_diff_se, chosen)"
    )
    assert summary.firm_pnl_lines(connection)[1:] == [
        "  revenue 41,096  costs 30,000  profit 11,096",
        "  year to date: revenue 9,000,000  costs 7,500,000  profit 1,500,000",
    ]
    policies = summary.chosen_policy_lines(connection)
    assert "2022-11-30" in policies[0] and len(policies) == 3
    assert policies[1].split() == ["balanced", "incumbent", "incumbent", "the", "incumbent", "kept"]
    assert policies[2].split()[-3:] == ["+0.00210", "+-", "0.00070"]
    assert summary.projection_lines(connection) == []  # not in the snapshot yet: nothing said
    connection.execute(
        "CREATE TABLE firm.firm_projections AS SELECT * FROM (VALUES "
        "(DATE '2022-12-28', 'FIRM', 12, 250000.0, 0.125, 1.5e8), "
        "(DATE '2022-12-28', 'FIRM', 1, 20000.0, 0.4, 1.5e8)) "
        "t(date, solution_id, months_ahead, profit_p50, p_loss_year, breakeven_aum)"
    )
    assert summary.projection_lines(connection)[1].split("  ") == [
        "",
        "12-month p50 profit 250,000",
        "P(loss-making year) 12.5%",
        "break-even AUM 150,000,000",
    ]


def _small_synthetic_firm(config_dir: Path) -> None:
    """Six synthetic strategies with conjugate fits, and a policy search of 12 + 12 paths
    over the incumbent and two PFA candidates: a month end in seconds."""
    path = config_dir / "strategies.yaml"
    text = path.read_text()
    for old, new in [
        ("kind: bundled", "kind: synthetic"),
        ("n_strategies: 20", "n_strategies: 6"),
        ("method: nuts", "method: conjugate"),
        ("window_days: 504", "window_days: 120"),
        ("n_paths: 2000", "n_paths: 200"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    twin = yaml.safe_load((config_dir / "twin.yaml").read_text())
    twin["policy_search"].update(n_paths=12, holdout_paths=12, seed=5)
    twin["policy_search"]["pfa"] = {"pause_days": [2, 5], "valley_multiple": [2.0], "ramp_days": [2]}
    twin["policy_search"]["cfa"] = {"policies": [], "exposure": [], "turnover_limit": []}
    twin["policy_search"]["dla"] = {"fraction": []}
    (config_dir / "twin.yaml").write_text(yaml.safe_dump(twin))


@pytest.mark.slow(seconds=100)
def test_twin_run_over_a_month_end_runs_its_policy_search_and_prints_the_choice(tmp_path):
    """Modelled days 30 Jan - 1 Feb 2017 hold January's month end (Tue 31 Jan): walking
    forward, the strategy layers run once, then January's days, January's search, then
    February's day (which reads the choice), then the dashboard once over the three days; the
    summary prints the firm's P&L of 1 Feb and the choice."""
    config_dir = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config_dir)
    _small_synthetic_firm(config_dir)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    warehouse = tmp_path / "twin.duckdb"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TWIN_WAREHOUSE": str(warehouse),
        "TWIN_CONFIG_DIR": str(config_dir),
        "TWIN_DAGSTER_URL": "off",
    }
    command = [*cli_run("2016-08-01", "2017-02-01")[:-1], "3", "--strategy-days", "3"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Materialising month_end_job for 2017-01-01 .. 2017-01-01 as one run" in out.stdout
    assert re.search(r"month_end_job \[#+\] 100%\s+1/1 months .* SUCCESS", out.stdout)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        jobs = [run.job_name for run in reversed(instance.get_runs())]
        drawn = instance.get_materialized_partitions(dg.AssetKey(["reports", "dashboard"]))
    walked = ["solution_job", "month_end_job", "solution_job", "dashboard_job"]
    assert jobs == ["raw_history_job", "strategy_job", *walked]
    assert drawn == {"2017-01-30", "2017-01-31", "2017-02-01"}  # drawn once, recorded for every day
    assert (tmp_path / "twin.dashboard.html").exists()
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        searched = connection.execute(
            "SELECT DISTINCT date, solution_id FROM twin.twin.policy_evaluations WHERE chosen ORDER BY 2"
        ).fetchall()
    assert searched == [(dt.date(2017, 1, 31), s) for s in ("balanced", "defensive", "risk_parity")]
    assert "The firm's P&L on 2017-02-01" in out.stdout
    chosen = out.stdout.split("The policy chosen at the month end 2017-01-31")[1].splitlines()[1:4]
    assert [line.split()[0] for line in chosen] == ["balanced", "defensive", "risk_parity"]
