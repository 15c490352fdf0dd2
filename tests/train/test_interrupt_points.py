"""Ctrl-C during work of many small steps (a study's directories) stops it between two steps, and is never
lost: Python runs a signal's handler wherever the interpreter happens to be, a finalizer included, and an
exception raised in a finalizer is printed as ignored while the work goes on."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from backprop_cli.train.signals import interrupted_between_steps


class SignalsWhenDropped:
    """An object whose finalizer sends this process SIGINT: the handler then runs inside the finalizer."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)


def test_python_alone_loses_a_ctrl_c_whose_handler_runs_in_a_finalizer(monkeypatch):
    """Why interrupted_between_steps exists (and that the test below can fail): the KeyboardInterrupt goes
    to the unraisable hook, and the code after it runs as if no key had been pressed."""
    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: ignored.append(unraisable.exc_type))
    SignalsWhenDropped()
    went_on = True
    assert went_on and ignored == [KeyboardInterrupt]


def test_ctrl_c_in_a_finalizer_stops_the_work_at_the_next_step():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupted_between_steps() as check:
            for step in range(5):
                check()
                steps.append(step)
                if step == 1:
                    SignalsWhenDropped()
    assert steps == [0, 1]


def test_ctrl_c_after_the_last_step_is_raised_at_the_end_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with interrupted_between_steps():
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
    with interrupted_between_steps() as check:
        check()  # nothing pressed: nothing raised
