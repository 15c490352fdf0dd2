"""`method: tpe`: Optuna's TPE sampler through its ask-and-tell interface, seeded and reproducible.

Trials are asked in synchronous batches (`batch`, default the number of runs the backend runs at
once, kept in plan.json): a batch is asked only once every trial of the one before has been told,
in trial order. So the sequence of configurations depends on the seed, the batch size and the
results alone, never on which worker finished first. The study lives in memory (no database): a
resumed sweep replays it from the plan and results.jsonl, checking that the sampler asks again
exactly what the plan holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backprop_cli.errors import RunDirError, UserError
from backprop_cli.many.policies import Rows, Step
from backprop_cli.many.spec import Distribution, SweepSpec
from backprop_cli.many.study import Plan, PlannedTrial, add_trials

INSTALL = "pip install 'backprop-cli[tpe]'"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise UserError(
            "method: tpe needs Optuna, which is not installed", where="method", fix=f"install it: {INSTALL}"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its per-trial lines: ours say the same
    return optuna


def distributions(parameters: dict[str, Any]) -> dict[str, Any]:
    """Each parameter's space as an Optuna distribution (a list is a choice)."""
    optuna = _optuna()
    d = optuna.distributions
    spaces = {}
    for key, space in parameters.items():
        if isinstance(space, dict):  # a plan's parameters, as JSON
            space = Distribution(**space)
        if isinstance(space, list) or space.distribution == "choice":
            spaces[key] = d.CategoricalDistribution(space if isinstance(space, list) else space.values)
        elif space.distribution == "int_uniform":
            spaces[key] = d.IntDistribution(int(space.low), int(space.high))
        else:
            spaces[key] = d.FloatDistribution(space.low, space.high, log=space.distribution == "log_uniform")
    return spaces


def new_study(seed: int, mode: str):
    optuna = _optuna()
    sampler = optuna.samplers.TPESampler(seed=seed)
    return optuna.create_study(direction="maximize" if mode == "max" else "minimize", sampler=sampler)


def ask(study, spaces: dict[str, Any], n: int) -> list[tuple[Any, dict[str, Any]]]:
    """n trials of Optuna's, each with its parameters in the sweep file's key order."""
    asked = [study.ask(spaces) for _ in range(n)]
    return [(trial, {key: trial.params[key] for key in spaces}) for trial in asked]


def first_batch(spec: SweepSpec, batch: int) -> list[dict[str, Any]]:
    """The parameters of a new tpe sweep's first batch (all random draws of the sampler's start-up)."""
    study = new_study(spec.seed, spec.resolved_mode)
    return [params for _, params in ask(study, distributions(spec.parameters), min(batch, spec.trials))]


class TpeBatches:
    """The policy: run a batch, tell its results, ask the next, until `trials` have been asked."""

    def __init__(self, directory: Path, plan: Plan, rows: Rows, slots: int):
        self.directory, self.plan = directory, plan
        self.rows = {row["trial"]: row for row in rows}
        self.spaces = distributions(plan.sweep["parameters"])
        self.study = new_study(plan.seed or 0, plan.mode)
        self.asked: list[Any] = []  # Optuna's trial of each of ours, by number
        self.told = 0
        self._replay()

    def _replay(self) -> None:
        """Ask again what the plan holds, batch by batch, telling each batch that has finished."""
        trials = self.plan.trials
        for start in range(0, len(trials), self.plan.batch):
            planned = trials[start : start + self.plan.batch]
            again = ask(self.study, self.spaces, len(planned))
            if [params for _, params in again] != [t.parameters for t in planned]:
                raise RunDirError(
                    f"the tpe sampler no longer asks what trials {planned[0].trial}-{planned[-1].trial} were "
                    "planned with (another Optuna version?)",
                    where=str(self.directory),
                    fix="finish it with the Optuna version that started it, or start a new sweep",
                )
            self.asked += [trial for trial, _ in again]
            self._tell_finished_batches()

    def start(self) -> tuple[list[Step], Rows]:
        waiting = [t.trial for t in self.plan.trials if t.trial not in self.rows]
        if waiting:
            return [Step(t) for t in waiting], []
        return self._next_batch(), []

    def on_result(self, step: Step, row: dict[str, Any]) -> tuple[list[Step], Rows]:
        self.rows[row["trial"]] = row
        self._tell_finished_batches()
        batch_done = self.told == len(self.plan.trials)
        return (self._next_batch() if batch_done else []), [row]

    def finish(self) -> Rows:
        return []

    def _tell_finished_batches(self) -> None:
        """Tell Optuna each whole batch, in trial order, once all of it has a row."""
        size = self.plan.batch
        while self.told < len(self.asked):
            batch = range(self.told, min(self.told + size, len(self.asked)))
            if any(t not in self.rows for t in batch):
                return
            for t in batch:
                value = self.rows[t].get(self.plan.metric)
                state = None if value is not None else _optuna().trial.TrialState.FAIL
                self.study.tell(self.asked[t], value, state=state)
            self.told = batch.stop

    def _next_batch(self) -> list[Step]:
        from backprop_cli.many.configs import trial_configs
        from backprop_cli.many.spec import load_sweep

        n = min(self.plan.batch, self.plan.total - len(self.plan.trials))
        if n <= 0:
            return []
        asked = ask(self.study, self.spaces, n)
        params = [p for _, p in asked]
        configs = trial_configs(load_sweep(self.directory / "sweep.yaml", self.plan.overrides), params)
        first = len(self.plan.trials)
        planned = [PlannedTrial(trial=first + i, parameters=p) for i, p in enumerate(params)]
        made = add_trials(self.directory, self.plan, planned, configs)
        self.asked += [trial for trial, _ in asked]
        return [Step(t.trial) for t in made]
