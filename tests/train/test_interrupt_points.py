"""Ctrl-C during work of many small steps (a study's directories) stops it between two steps, and is never
lost: Python runs a signal's handler wherever the interpreter happens to be, a finalizer included, and an
exception raised in a finalizer is printed as ignored while the work goes on.

Each case runs in a fresh single-threaded interpreter: there a signal a process sends itself is handled
before os.kill returns (in a process with other threads, such as a pytest-xdist worker, another thread
may take it and the main thread handle it later)."""

from __future__ import annotations

import subprocess
import sys

PRELUDE = """
import os, signal, sys
from backprop_cli.train.signals import interrupted_between_steps

# Ctrl-C as an interactive start has it, whatever this process inherited (a parent that ignores SIGINT,
# as a pytest-xdist worker may, passes SIG_IGN on; Python then installs no handler of its own)
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

class SignalsWhenDropped:  # its finalizer sends this process SIGINT: the handler runs inside the finalizer
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
"""


def run(body: str) -> str:
    done = subprocess.run([sys.executable, "-c", PRELUDE + body], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_python_alone_loses_a_ctrl_c_whose_handler_runs_in_a_finalizer():
    """Why interrupted_between_steps exists (and that the test below can fail): the KeyboardInterrupt goes
    to the unraisable hook, and the code after it runs as if no key had been pressed."""
    body = """
ignored = []
sys.unraisablehook = lambda unraisable: ignored.append(unraisable.exc_type.__name__)
SignalsWhenDropped()
print("went on", ignored)
"""
    assert run(body) == "went on ['KeyboardInterrupt']"


def test_ctrl_c_in_a_finalizer_stops_the_work_at_the_next_step():
    body = """
steps = []
try:
    with interrupted_between_steps() as check:
        for step in range(5):
            check()
            steps.append(step)
            if step == 1:
                SignalsWhenDropped()
except KeyboardInterrupt:
    print("stopped after", steps)
"""
    assert run(body) == "stopped after [0, 1]"


def test_ctrl_c_after_the_last_step_is_raised_at_the_end_and_the_handler_is_restored():
    body = """
before = signal.getsignal(signal.SIGINT)
try:
    with interrupted_between_steps():
        os.kill(os.getpid(), signal.SIGINT)
except KeyboardInterrupt:
    print("raised at the end;", "restored" if signal.getsignal(signal.SIGINT) is before else "not restored")
with interrupted_between_steps() as check:
    check()  # nothing pressed: nothing raised
print("quiet")
"""
    assert run(body) == "raised at the end; restored\nquiet"
