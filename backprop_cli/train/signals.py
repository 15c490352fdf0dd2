"""SIGINT/SIGTERM ask the trainer to stop between steps; a second SIGINT exits at once. Work of many
small steps (a study's directories) is interrupted between two steps too."""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

STATUS_BY_SIGNAL = {signal.SIGINT: "interrupted", signal.SIGTERM: "interrupted"}


@contextmanager
def stop_on_signals(trainer):
    """While training, a signal only sets a flag; the loop finishes its step, saves, then stops."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may install handlers: a run in a worker thread (a Dask
        return  # worker's trial) is stopped by its caller instead (the sweep's stop file)

    def handle(signum, frame):
        if received and signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # second Ctrl-C: die now; files stay whole
            os.kill(os.getpid(), signal.SIGINT)
            return
        received.append(signum)
        trainer.request_stop(f"{signal.Signals(signum).name} received", "interrupted")

    previous = {sig: signal.signal(sig, handle) for sig in STATUS_BY_SIGNAL}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def interrupted_between_steps():
    """Ctrl-C inside the block raises KeyboardInterrupt where the block calls `check()` (between two steps)
    and at its end; not wherever Python happens to run its handler, which may be inside a finalizer,
    where the exception is printed as ignored and the work goes on as if no key had been pressed."""
    received: list[int] = []

    def check() -> None:
        if received:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield check  # only the main thread may install handlers (and only it gets KeyboardInterrupt)
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
    check()


class Terminated(BaseException):
    """SIGTERM while a run is set up (data loading): unwinds like KeyboardInterrupt, so that no empty run
    directory is left behind; the CLI then dies by SIGTERM (143)."""


@contextmanager
def terminate_unwinds():
    """SIGTERM raises Terminated inside this block (until stop_on_signals takes over around the loop)."""

    def handle(signum, frame):
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():  # a trial in a Dask worker's thread:
        yield  # only the main thread may set handlers, and the worker's own owns SIGTERM
        return
    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def die_by(signum: int) -> None:
    """Exit the way the shell expects after a signal (130 for SIGINT, 143 for SIGTERM)."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
