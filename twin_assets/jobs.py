"""Jobs and the schedule: the business-day job, run after the close for the previous
business day; on by default only for an open-ended (live) calendar; the month-end job
(the policy search, monthly partitions), run by hand or by the CLI after a month's days. Every job ends with
the read snapshot (``reports/warehouse_snapshot``): the business-day and modelling jobs
select it with the rest, the raw history job names it beside the raw group. The jobs need
no config; the schedule is built from the calendar when the Definitions are. The events
job ingests what the HTTP API recorded (twin_assets.events), then publishes the snapshot."""

import datetime as dt

import dagster as dg

from twin_assets.reports import DASHBOARD_KEY, SNAPSHOT_KEY
from twin_assets.shared.partitions import CADENCE_TAG, MONTH_END_CADENCE, ON_DEMAND_CADENCE, firm_calendar
from twin_model.calendar import previous_business_day

BUSINESS_DAY_JOB = "business_day_job"
RAW_HISTORY_JOB = "raw_history_job"
MODELLING_JOB = "modelling_job"
MONTH_END_JOB = "month_end_job"
MONTH_END = dg.AssetSelection.tag(CADENCE_TAG, MONTH_END_CADENCE)
"""The month-end assets (monthly partitions): the policy search, and the firm's projection
and initiate-solution decision; a job cannot mix them with the daily ones."""
EVENTS_JOB = "events_job"
STRATEGY_JOB = "strategy_job"
SOLUTION_JOB = "solution_job"
DASHBOARD_JOB = "dashboard_job"
BACKTEST_JOB = "backtest_job"
ON_DEMAND = dg.AssetSelection.tag(CADENCE_TAG, ON_DEMAND_CADENCE)
"""The back-test: unpartitioned, run only by its own job with its span as run config."""
STRATEGY_LAYERS = dg.AssetSelection.groups("models", "stats", "alpha")
"""What does not depend on the solution policy in force: the walk-forward runs it once over a span."""
BUSINESS_DAY_SCHEDULE = "business_day_schedule"

EVENTS = dg.AssetSelection.groups("events")
"""The API's events: ingested by their own job, so a bad events file never holds up a day."""

business_day_job = dg.define_asset_job(
    name=BUSINESS_DAY_JOB,
    selection=dg.AssetSelection.all() - MONTH_END - EVENTS - ON_DEMAND,
    description="Every daily layer for one business day (or, as a back-fill, a range of days in one run).",
)

raw_history_job = dg.define_asset_job(
    name=RAW_HISTORY_JOB,
    selection=dg.AssetSelection.groups("raw") | dg.AssetSelection.assets(SNAPSHOT_KEY),
    description="The raw layer only (then the read snapshot): cheap enough to back-fill the whole history in one run.",
)

modelling_job = dg.define_asset_job(
    name=MODELLING_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("raw") - MONTH_END - EVENTS - ON_DEMAND,
    description="Every layer above raw (models, statistics, alpha pool, solutions, firm P&L) for a range of days, reading the raw history.",
)

month_end_job = dg.define_asset_job(
    name=MONTH_END_JOB,
    selection=MONTH_END | dg.AssetSelection.assets(SNAPSHOT_KEY),
    description="The month-end policy search, the firm's 12-month projection and its initiate-solution decision for "
    "one month (after its days' solution level), then the read snapshot.",
)

strategy_job = dg.define_asset_job(
    name=STRATEGY_JOB,
    selection=STRATEGY_LAYERS | dg.AssetSelection.assets(SNAPSHOT_KEY),
    description="The strategy layers (models, statistics, alpha pool) for a range of days, reading the raw history: "
    "what `twin run` runs once before stepping the solutions month by month, and `twin backtest` before walking "
    "its span in memory.",
)

solution_job = dg.define_asset_job(
    name=SOLUTION_JOB,
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.groups("raw")
    - STRATEGY_LAYERS
    - MONTH_END
    - EVENTS
    - ON_DEMAND
    - dg.AssetSelection.assets(DASHBOARD_KEY),
    description="The solution level and the firm's daily P&L for a range of days (the walk-forward runs it a month "
    "at a time, so each month runs the policy its previous month end chose), then the read snapshot; the "
    "walk-forward draws the dashboard once, at its end (dashboard_job).",
)

dashboard_job = dg.define_asset_job(
    name=DASHBOARD_JOB,
    selection=dg.AssetSelection.assets(DASHBOARD_KEY, SNAPSHOT_KEY),
    description="The dashboard of a range's last day (every partition of the range recorded by the one drawing), "
    "then the read snapshot: what ends a walk-forward, after its last month end.",
)

backtest_job = dg.define_asset_job(
    name=BACKTEST_JOB,
    selection=ON_DEMAND | dg.AssetSelection.assets(SNAPSHOT_KEY),
    description="Walk a span in memory over its stored strategy layers (batch mode; run config: start, end) and "
    "measure it against its baselines into twin.backtest_results, then the read snapshot.",
)

events_job = dg.define_asset_job(
    name=EVENTS_JOB,
    selection=EVENTS | dg.AssetSelection.assets(SNAPSHOT_KEY),
    description="Ingest the HTTP API's events file into events.portfolio_optimized, then publish the snapshot.",
)


def schedule_partition(scheduled: dt.datetime) -> str | None:
    """The partition a tick at ``scheduled`` runs: the business day before it, if in the calendar."""
    calendar = firm_calendar()
    day = previous_business_day(scheduled.date())
    last = calendar.last_business_day
    if day < calendar.first_business_day or (last is not None and day > last):
        return None
    return day.isoformat()


def build_business_day_schedule() -> dg.ScheduleDefinition:
    """Tuesday to Saturday at the calendar's ``schedule_time``; on only for a live calendar."""
    calendar = firm_calendar()
    hour, minute = calendar.schedule_time.split(":")

    @dg.schedule(
        name=BUSINESS_DAY_SCHEDULE,
        job=business_day_job,
        cron_schedule=f"{int(minute)} {int(hour)} * * 2-6",
        execution_timezone=calendar.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING if calendar.open_ended else dg.DefaultScheduleStatus.STOPPED,
        description="Tuesday to Saturday morning, after each business day's close: materialise that day.",
    )
    def business_day_schedule(context: dg.ScheduleEvaluationContext):
        key = schedule_partition(context.scheduled_execution_time)
        if key is None:
            return dg.SkipReason("the previous business day is outside the firm's calendar")
        return dg.RunRequest(run_key=key, partition_key=key)

    return business_day_schedule
