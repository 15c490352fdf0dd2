"""The project's errors: one type per domain, each carrying what went wrong, where, and how to fix it.

The CLI maps `UserError` to exit code 2 and `RunError` to exit code 1; the library never exits.
"""

from __future__ import annotations


class BackpropError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        super().__init__(what)
        self.what = what
        self.where = where
        self.fix = fix

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text}; {self.fix}" if self.fix else text


class UserError(BackpropError):
    """The user's input is wrong (usage, config, data, checkpoint): exit 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config file, a --set override or an engine argument is invalid."""


class DataError(UserError):
    """A data file or a dataset is missing, malformed or does not fit the model."""


class CheckpointError(UserError):
    """A checkpoint is missing, damaged, foreign or inconsistent."""


class RunDirError(UserError):
    """A run directory cannot be created, is not a run, or is in use."""


class RunError(BackpropError):
    """The run failed at run time (diverged, disk full, download failed): exit 1."""

    exit_code = 1


class DivergedError(RunError):
    """The loss or a gradient became NaN or infinite."""


def out_of_memory(err: MemoryError, when: str = "", where: str | None = None) -> RunError:
    """A MemoryError the estimate did not foresee (other programs' memory, a ulimit): a run-time failure, said
    in one line. The pre-flight refuses what it can foresee with exit 2."""
    detail = f" ({err})" if str(err) else ""
    return RunError(
        f"out of memory{' ' + when if when else ''}{detail}",
        where=where,
        fix="lower training.batch_size or the model's size, or free memory; "
        "`backprop explain CONFIG` shows what a step holds",
    )
