"""Which trial runs next, and to which epoch: every trial to its end, or successive halving's rungs.

A policy sees each trial's row as it ends (`on_result`) and answers with the steps to run next and
the rows that are final. Its state is what the study directory records (results.jsonl, and for
halving rungs.jsonl), so `start()` after Ctrl-C or a crash picks up where the study was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backprop_cli.many.halving import promotable, promote_synchronously, rung_epochs
from backprop_cli.many.study import Plan
from backprop_cli.runs.atomic import append_line_durable
from backprop_cli.runs.jsonio import dumps

RUNGS_FILE = "rungs.jsonl"
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Step:
    trial: int
    rung: int | None = None  # halving: the rung this run ends at
    budget: int | None = None  # the epoch after which the run pauses (None: it runs to its end)


class AllTrials:
    """Grid, random and cross-validation: every trial without a row runs to its end, all at once."""

    def __init__(self, plan: Plan, rows: Rows):
        self.plan, self.done = plan, {row["trial"] for row in rows}

    def start(self) -> tuple[list[Step], Rows]:
        return [Step(t.trial) for t in self.plan.trials if t.trial not in self.done], []

    def on_result(self, step: Step, row: dict[str, Any]) -> tuple[list[Step], Rows]:
        return [], [row]

    def finish(self) -> Rows:
        return []


class RungLog:
    """rungs.jsonl: each trial's row at each rung as it ended, and each promotion, appended durably."""

    def __init__(self, directory: Path, n_rungs: int):
        from backprop_cli.runs.metrics_log import read_metrics

        self.path = directory / RUNGS_FILE
        self.results: list[dict[int, dict[str, Any]]] = [{} for _ in range(n_rungs)]
        self.promoted: list[set[int]] = [set() for _ in range(n_rungs)]
        for line in read_metrics(self.path) if self.path.exists() else []:  # a torn last line is left out
            if "promoted" in line:
                self.promoted[line["rung"]].add(line["promoted"])
            else:
                self.results[line["rung"]][line["trial"]] = line

    def result(self, rung: int, row: dict[str, Any]) -> None:
        self.results[rung][row["trial"]] = row
        append_line_durable(self.path, dumps(row))

    def promote(self, rung: int, trial: int) -> None:
        if trial not in self.promoted[rung]:
            self.promoted[rung].add(trial)
            append_line_durable(self.path, dumps({"promoted": trial, "rung": rung}))


class Halving:
    """Successive halving, synchronous per rung (`successive_halving`) or asynchronous (`asha`)."""

    def __init__(self, directory: Path, plan: Plan, rows: Rows, slots: int, on_rung: Callable | None = None):
        schedule = plan.schedule
        self.plan, self.metric, self.mode, self.eta = plan, plan.metric, plan.mode, schedule.reduction_factor
        self.rungs = rung_epochs(schedule.min_epochs, schedule.max_epochs, self.eta)
        self.log = RungLog(directory, len(self.rungs))
        self.written = {row["trial"] for row in rows}
        self.trials = [t.trial for t in plan.trials]
        self.asynchronous = schedule.type == "asha"
        self.slots = max(1, slots)
        self.started: set[tuple[int, int]] = set()  # (trial, rung) run or running
        self.announced: set[int] = set()  # synchronous: the rungs whose decision was told
        self.on_rung = on_rung or (lambda *args: None)

    # ---- the policy --------------------------------------------------------------------------
    def start(self) -> tuple[list[Step], Rows]:
        if self.asynchronous:
            return self._start_async(), []
        return self._advance_synchronously()

    def on_result(self, step: Step, row: dict[str, Any]) -> tuple[list[Step], Rows]:
        row = {**row, "rung": step.rung, "rung_epochs": self.rungs[step.rung]}
        self.log.result(step.rung, row)
        if self.asynchronous:
            final = [self._final(row["trial"])] if step.rung == len(self.rungs) - 1 else []
            nxt = self._next_async()
            return ([nxt] if nxt else []), self._unwritten(final)
        return self._advance_synchronously()

    def finish(self) -> Rows:
        """The rows not yet written: with asha every trial's highest rung, once nothing runs any more."""
        reached = [t for t in self.trials if any(t in rung for rung in self.log.results)]
        return self._unwritten([self._final(t) for t in reached])

    # ---- synchronous -------------------------------------------------------------------------
    def _advance_synchronously(self) -> tuple[list[Step], Rows]:
        """The first rung not yet complete: its missing trials to run; the rows decided on the way."""
        final: Rows = []
        members = list(self.trials)
        for k, epochs in enumerate(self.rungs):
            results = self.log.results[k]
            missing = [t for t in members if t not in results]
            if missing:  # those not running yet start; the rest of the rung is still running
                steps = [self._take(t, k) for t in missing if (t, k) not in self.started]
                return steps, self._unwritten(final)
            if k == len(self.rungs) - 1:
                final += [self._final(t) for t in members]
                break
            values = {t: results[t].get(self.metric) for t in members}
            promoted = promote_synchronously(values, self.eta, self.mode)
            for t in promoted:
                self.log.promote(k + 1, t)
            if k not in self.announced:
                self.announced.add(k)
                self.on_rung(k, epochs, len(members), promoted)
            final += [self._final(t) for t in members if t not in promoted]
            members = promoted
        return [], self._unwritten(final)

    # ---- asynchronous ------------------------------------------------------------------------
    def _start_async(self) -> list[Step]:
        steps = [
            Step(t, k, self.rungs[k])
            for k in range(1, len(self.rungs))
            for t in sorted(self.log.promoted[k])
            if t not in self.log.results[k]
        ]
        self.started |= {(s.trial, s.rung) for s in steps}
        self.started |= {(t, k) for k, rung in enumerate(self.log.results) for t in rung}
        while len(steps) < self.slots and (nxt := self._next_async()):
            steps.append(nxt)
        return steps

    def _next_async(self) -> Step | None:
        """A promotion from the highest rung that has one, else the next trial's first rung."""
        for k in reversed(range(len(self.rungs) - 1)):
            values = {t: row.get(self.metric) for t, row in self.log.results[k].items()}
            trial = promotable(values, self.log.promoted[k + 1], self.eta, self.mode)
            if trial is not None:
                self.log.promote(k + 1, trial)
                self.on_rung(k, self.rungs[k], len(values), [trial])
                return self._take(trial, k + 1)
        fresh = next((t for t in self.trials if (t, 0) not in self.started), None)
        return None if fresh is None else self._take(fresh, 0)

    def _take(self, trial: int, rung: int) -> Step:
        self.started.add((trial, rung))
        return Step(trial, rung, self.rungs[rung])

    # ---- rows --------------------------------------------------------------------------------
    def _final(self, trial: int) -> dict[str, Any]:
        """The trial's row at its highest rung, with the figure it had at every rung on the way."""
        reached = [(k, rung[trial]) for k, rung in enumerate(self.log.results) if trial in rung]
        history = [{"rung": k, "epochs": row["rung_epochs"], self.metric: row.get(self.metric)} for k, row in reached]
        seconds = round(sum(row.get("seconds") or 0.0 for _, row in reached), 3)  # every rung's share of the work
        return {**reached[-1][1], "rungs": history, "seconds": seconds}

    def _unwritten(self, final: Rows) -> Rows:
        fresh = [row for row in final if row["trial"] not in self.written]
        self.written |= {row["trial"] for row in fresh}
        return fresh


def make_policy(directory: Path, plan: Plan, rows: Rows, slots: int, on_rung: Callable | None = None):
    if plan.schedule is not None:
        return Halving(directory, plan, rows, slots, on_rung)
    if plan.method == "tpe":
        from backprop_cli.many.tpe import TpeBatches

        return TpeBatches(directory, plan, rows, slots)
    return AllTrials(plan, rows)
