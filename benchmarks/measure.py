"""Run ``forecast`` commands as subprocesses and measure them from the outside.

Per run: wall time, CPU time, peak memory of the whole process tree (the Python job and
its Spark JVM), and the figures the job prints itself (the ``Summary:`` and ``Timings:``
lines). Memory and CPU are sampled from ``/proc`` (Linux), so no dependency is needed.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The phases a run reports, in pipeline order; anything else is "other" (interpreter and
# library imports, JVM shutdown).
PHASES: tuple[str, ...] = (
    "spark_start",
    "data_load",
    "table_read",
    "registry",
    "training",
    "sampling",
    "table_write",
)
_TIMING = re.compile(r"([a-z_]+) (\d+(?:\.\d+)?)s")
_SUMMARY_COUNTS = re.compile(
    r"(trained|skipped|generated|already present|failed|actuals|"
    r"rows written) (\d+)"
)
_TAIL_LINES = 15
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_timings(output: str) -> dict[str, float]:
    """Seconds per phase from the last ``Timings:`` line of a run's output ({} if none)."""
    lines = [line for line in output.splitlines() if line.startswith("Timings:")]
    if not lines:
        return {}
    return {phase: float(seconds) for phase, seconds in _TIMING.findall(lines[-1])}


def parse_summary(output: str) -> dict[str, int]:
    """The counts of the last ``Summary:`` line (generated, rows written, ...; {} if none)."""
    lines = [line for line in output.splitlines() if line.startswith("Summary:")]
    if not lines:
        return {}
    return {
        name.replace(" ", "_"): int(count) for name, count in _SUMMARY_COUNTS.findall(lines[-1])
    }


@dataclass
class RunFigures:
    """What one scenario cost: one process, or several side by side (then summed).

    Attributes:
        label: Scenario name.
        commands: The command lines run.
        exit_codes: One per command.
        wall_s: From the first start to the last exit.
        cpu_s: User + system CPU of every process in the trees (the larger of the
            children's rusage and the /proc samples: a JVM its parent never waits for is
            missing from rusage).
        peak_rss_bytes: Highest sum of resident memory over all processes of the trees at
            one sample (shared pages count once per process: an upper bound).
        summary: Counts of the ``Summary:`` lines, summed over the commands.
        phases: Seconds per phase of the ``Timings:`` lines, summed over the commands.
        per_command: The figures of each command when several ran side by side.
        output_tail: The last lines of the output (of one command), to show a failure.
        server_cpu_s: Through a Spark Connect server: the server's CPU in the scenario.
        server_peak_rss_bytes: Likewise, the server's peak resident memory.
    """

    label: str
    commands: list[list[str]]
    exit_codes: list[int]
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    summary: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    per_command: list[RunFigures] = field(default_factory=list)
    output_tail: list[str] = field(default_factory=list)
    server_cpu_s: float | None = None
    server_peak_rss_bytes: int | None = None

    @property
    def ok(self) -> bool:
        """True if every command exited 0."""
        return all(code == 0 for code in self.exit_codes)

    @property
    def forecasts(self) -> int:
        """Forecasts generated (model x date)."""
        return self.summary.get("generated", 0)

    @property
    def rows(self) -> int:
        """Table rows written (paths and actuals)."""
        return self.summary.get("rows_written", 0)

    @property
    def forecasts_per_s(self) -> float:
        """Forecasts generated per second of wall time."""
        return self.forecasts / self.wall_s if self.wall_s else 0.0

    @property
    def rows_per_s(self) -> float:
        """Table rows written per second of wall time."""
        return self.rows / self.wall_s if self.wall_s else 0.0

    @property
    def write_rows_per_s(self) -> float:
        """Table rows written per second of the ``table_write`` phase (the writer's speed)."""
        seconds = self.phases.get("table_write", 0.0)
        return self.rows / seconds if seconds else 0.0

    @property
    def other_s(self) -> float:
        """Time no phase accounts for (one process: imports, JVM shutdown; may be < 0 summed)."""
        return self.wall_s * len(self.commands) - sum(self.phases.values())

    def to_dict(self) -> dict[str, Any]:
        """Every figure, derived ones included, for the JSON output."""
        figures = asdict(self)
        figures["per_command"] = [run.to_dict() for run in self.per_command]
        figures.update(
            ok=self.ok,
            forecasts=self.forecasts,
            rows=self.rows,
            forecasts_per_s=self.forecasts_per_s,
            rows_per_s=self.rows_per_s,
            write_rows_per_s=self.write_rows_per_s,
            other_s=self.other_s,
        )
        return figures


@dataclass(frozen=True)
class _ProcSample:
    parent: int
    started: int  # clock ticks after boot: tells a reused pid from the process seen before
    own_ticks: int  # user + system CPU of the process
    children_ticks: int  # user + system CPU of the children it waited for
    rss_pages: int


def _read_processes() -> dict[int, _ProcSample]:
    """Parent, start, CPU ticks and resident pages of every process in /proc."""
    processes = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:  # exited between listing and reading
            continue
        # The command name may hold spaces and parentheses: fields start after the last ")".
        fields = text[text.rindex(")") + 2 :].split()
        processes[int(entry.name)] = _ProcSample(
            parent=int(fields[1]),
            started=int(fields[19]),
            own_ticks=int(fields[11]) + int(fields[12]),
            children_ticks=int(fields[13]) + int(fields[14]),
            rss_pages=int(fields[21]),
        )
    return processes


class TreeSampler:
    """Samples the process trees under some root pids until stopped, in a thread.

    Keeps the peak of the summed resident memory and, per process ever seen in the trees,
    its last CPU time. A process that leaves the tree (reparented to init on its parent's
    exit) is still followed once seen.

    Memory counts only processes alive at two samples in a row: Hadoop forks ``chmod``
    from the 1.5 GB JVM for every file it creates, and a child caught between fork and
    exec reports its parent's resident memory, which would count the JVM twice. CPU counts
    each process's own time and, except for the roots, the time of the children it waited
    for (those ``chmod`` runs); a root's waited-for children are in its ``wait4`` rusage.
    """

    def __init__(self, roots: Sequence[int], interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self._members: dict[int, set[int]] = {root: {root} for root in roots}
        self._cpu_ticks: dict[int, int] = {}
        self._previous: set[tuple[int, int]] = set()  # (pid, start) of the last sample
        self.peak_rss_bytes = 0
        self.peak_rss_by_root: dict[int, int] = dict.fromkeys(roots, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> TreeSampler:
        """Start sampling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take a last sample and stop."""
        self._stop.set()
        self._thread.join()

    def cpu_s(self, root: int | None = None) -> float:
        """CPU seconds of the processes seen under ``root`` (all roots if None)."""
        roots = self._members if root is None else {root: self._members[root]}
        pids = set().union(*roots.values()) if roots else set()
        return sum(self._cpu_ticks.get(pid, 0) for pid in pids) / _CLOCK_TICKS

    def _loop(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.interval_s):
                self._sample()
                return

    def _sample(self) -> None:
        processes = _read_processes()
        children: dict[int, list[int]] = {}
        for pid, sample in processes.items():
            children.setdefault(sample.parent, []).append(pid)
        total = 0
        alive = {(pid, sample.started) for pid, sample in processes.items()}
        for root, members in self._members.items():
            pending = [pid for pid in members if pid in processes]
            while pending:
                pid = pending.pop()
                members.add(pid)
                pending.extend(child for child in children.get(pid, ()) if child not in members)
            present = [pid for pid in members if pid in processes]
            lasting = [
                pid
                for pid in present
                if pid == root or (pid, processes[pid].started) in self._previous
            ]
            rss = sum(processes[pid].rss_pages for pid in lasting) * _PAGE_BYTES
            self.peak_rss_by_root[root] = max(self.peak_rss_by_root[root], rss)
            total += rss
            for pid in present:
                sample = processes[pid]
                self._cpu_ticks[pid] = sample.own_ticks + (
                    0 if pid == root else sample.children_ticks
                )
        self.peak_rss_bytes = max(self.peak_rss_bytes, total)
        self._previous = alive


def tree_cpu_s(root: int) -> float:
    """CPU seconds ``root`` and its live descendants have spent so far."""
    sampler = TreeSampler([root])
    sampler._sample()
    return sampler.cpu_s()


def run_side_by_side(
    label: str,
    commands: Sequence[Sequence[str]],
    envs: Sequence[Mapping[str, str]],
    cwd: Path,
    log_dir: Path,
    interval_s: float = 0.2,
) -> RunFigures:
    """Start ``commands`` together, wait for all, and measure them.

    Args:
        label: Scenario name.
        commands: Command lines, started at once.
        envs: The full environment of each command.
        cwd: Working folder of every command.
        log_dir: Where each command's output goes (``<label>-<i>.log``).
        interval_s: /proc sampling period.

    Returns:
        The scenario's figures; with several commands, ``per_command`` holds each one's.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    logs = [log_dir / f"{slug}-{index}.log" for index in range(len(commands))]
    started = time.perf_counter()
    processes = []
    for command, env, log in zip(commands, envs, logs, strict=True):
        with log.open("wb") as output:
            processes.append(
                subprocess.Popen(
                    list(command), env=dict(env), cwd=cwd, stdout=output, stderr=subprocess.STDOUT
                )
            )
    sampler = TreeSampler([process.pid for process in processes], interval_s).start()
    finished: dict[int, tuple[int, float, float]] = {}  # pid -> exit code, wall, rusage CPU
    while len(finished) < len(processes):
        # wait4 gives the CPU of the child and of the descendants it waited for.
        pid, status, usage = os.wait4(-1, 0)
        if any(process.pid == pid for process in processes):
            finished[pid] = (
                os.waitstatus_to_exitcode(status),
                time.perf_counter() - started,
                usage.ru_utime + usage.ru_stime,
            )
    sampler.stop()
    for process in processes:
        process.returncode = finished[process.pid][0]  # reaped above, not by Popen

    runs: list[RunFigures] = []
    for process, command, log in zip(processes, commands, logs, strict=True):
        text = log.read_text(errors="replace")
        exit_code, wall_s, rusage_cpu_s = finished[process.pid]
        runs.append(
            RunFigures(
                label=f"{label} [{len(runs)}]" if len(commands) > 1 else label,
                commands=[list(command)],
                exit_codes=[exit_code],
                wall_s=wall_s,
                cpu_s=max(rusage_cpu_s, sampler.cpu_s(process.pid)),
                peak_rss_bytes=sampler.peak_rss_by_root[process.pid],
                summary=parse_summary(text),
                phases=parse_timings(text),
                output_tail=text.splitlines()[-_TAIL_LINES:],
            )
        )
    if len(runs) == 1:
        runs[0].peak_rss_bytes = sampler.peak_rss_bytes
        return runs[0]
    return RunFigures(
        label=label,
        commands=[list(command) for command in commands],
        exit_codes=[code for run in runs for code in run.exit_codes],
        wall_s=max(run.wall_s for run in runs),
        cpu_s=sum(run.cpu_s for run in runs),
        peak_rss_bytes=sampler.peak_rss_bytes,
        summary=_summed([run.summary for run in runs]),
        phases=_summed([run.phases for run in runs]),
        per_command=runs,
    )


def _summed(values: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for mapping in values:
        for key, value in mapping.items():
            total[key] = total.get(key, 0) + value
    return total
