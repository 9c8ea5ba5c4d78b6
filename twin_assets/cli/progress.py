"""What the terminal shows while a CLI run executes: one progress line per run (a bar
redrawn in place on a TTY, a plain line at most every ``PLAIN_EVERY_S`` seconds when
stdout is a file or pipe) with the days done, elapsed and remaining time; Dagster's event
stream goes to the instance and to a log file, and to stdout only with ``--verbose``.

Progress is read from the run's event log in the instance, polled while the run executes,
so it is the same whether the run executes in this process or in ``dagster dev``. A run
over ``D`` days of a job with ``A`` partitioned assets (and ``U`` unpartitioned ones, the
snapshot) has ``A x D + U`` asset-partitions to materialise; with ``m`` of them
materialised after ``e`` seconds:

    fraction done  f = m / (A x D + U)        days done = floor(f x D)
    time remaining   = e x (1 - f) / f        (unknown while m = 0)
"""

import datetime as dt
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import dagster as dg

PLAIN_EVERY_S = 10.0
BAR_WIDTH = 24
PAGE = 1000


def log_path(command: str, now: dt.datetime | None = None) -> Path:
    """``$DAGSTER_HOME/logs/twin-<command>-<UTC timestamp>.log``: the event log file of one CLI command."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(os.environ["DAGSTER_HOME"]) / "logs" / f"twin-{command}-{stamp}.log"


def total_asset_partitions(job: dg.JobDefinition, days: int) -> int:
    """``A x days + U``: what one run of ``job`` over ``days`` partitions materialises."""
    layer = job.asset_layer
    keys = layer.selected_asset_keys
    partitioned = sum(layer.get(key).partitions_def is not None for key in keys)
    return partitioned * days + len(keys) - partitioned


def event_line(entry) -> str:
    """One event as Dagster's console logger writes it: time, level, job, run, step, type, message."""
    when = dt.datetime.fromtimestamp(entry.timestamp, dt.UTC).isoformat(" ", "seconds")
    kind = entry.dagster_event.event_type.name if entry.dagster_event else "LOG"
    step = entry.step_key or "-"
    message = entry.message.replace("\n", " ")
    level = logging.getLevelName(entry.level)
    return f"{when} - dagster - {level} - {entry.job_name} - {entry.run_id} - {step} - {kind} - {message}"


def duration(seconds: float) -> str:
    """``h:mm:ss``."""
    return str(dt.timedelta(seconds=int(seconds)))


class RunProgress:
    """Follows one run over ``days`` partitions (``unit``: days, or months for the month-end
    job) of ``total`` asset-partitions: writes each event to ``log`` (and to ``out`` when
    ``verbose``) and draws the progress line on ``out``."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        label: str,
        days: int,
        total: int,
        log: TextIO,
        verbose: bool = False,
        out: TextIO | None = None,
        unit: str = "days",
    ):
        self.instance, self.label, self.days, self.total = instance, label, days, max(total, 1)
        self.log, self.verbose, self.out, self.unit = log, verbose, out or sys.stdout, unit
        self.tty = self.out.isatty()
        self.started = time.monotonic()
        self.materialised: set[tuple[str, str | None]] = set()
        self.cursor: str | None = None
        self.last_drawn, self.drawn_count = float("-inf"), 0

    def poll(self, run_id: str) -> None:
        """Read the run's new events, log them, and redraw the progress line when due."""
        while True:
            page = self.instance.get_records_for_run(run_id, cursor=self.cursor, limit=PAGE)
            for record in page.records:
                self._take(record.event_log_entry)
            self.cursor = page.cursor
            if not page.has_more:
                break
        self._draw(final=False)

    def finish(self, run_id: str, outcome: str) -> None:
        """The run's last events, then its closing progress line naming ``outcome``."""
        self.poll(run_id)
        self._draw(final=True, outcome=outcome)

    def fraction(self) -> float:
        return min(len(self.materialised) / self.total, 1.0)

    def line(self, outcome: str | None = None) -> str:
        """``label [####....]  35%  22/63 days  0:03:10 elapsed  ~0:05:53 left``."""
        f = self.fraction()
        elapsed = time.monotonic() - self.started
        bar = "#" * round(f * BAR_WIDTH) + "." * (BAR_WIDTH - round(f * BAR_WIDTH))
        if outcome is not None:
            tail = outcome
        elif f > 0:
            tail = f"~{duration(elapsed * (1 - f) / f)} left"
        else:
            tail = "estimating time left"
        days = math.floor(f * self.days + 1e-9)
        return f"  {self.label} [{bar}] {f:4.0%}  {days}/{self.days} {self.unit}  {duration(elapsed)} elapsed  {tail}"

    def _take(self, entry) -> None:
        text = event_line(entry)
        self.log.write(text + "\n")
        if self.verbose:
            self._print(text)
        materialization = entry.asset_materialization
        if materialization is not None:
            self.materialised.add((materialization.asset_key.to_user_string(), materialization.partition))

    def _print(self, text: str) -> None:
        """A full line; on a TTY it first clears the bar, which the next draw puts back."""
        if self.tty:
            self.out.write("\r\033[K")
        self.out.write(text + "\n")

    def _draw(self, final: bool, outcome: str | None = None) -> None:
        """On a TTY: redraw the bar in place. Otherwise: a line when something new was
        materialised and ``PLAIN_EVERY_S`` have passed since the last one, and at the end."""
        self.log.flush()
        now, count = time.monotonic(), len(self.materialised)
        if self.tty:
            self.out.write("\r\033[K" + self.line(outcome) + ("\n" if final else ""))
        elif final or (count != self.drawn_count and now - self.last_drawn >= PLAIN_EVERY_S):
            self.out.write(self.line(outcome) + "\n")
            self.last_drawn, self.drawn_count = now, count
        self.out.flush()
