"""SIGTERM, SIGINT and SIGHUP: a graceful stop that never acknowledges what is not durable.

The handlers only record the signal; the run loop acts on it at a safe point (between input
chunks, or while waiting for input), so a signal never cuts through a half-done batch:

- during start-up (before the first line is read) a signal ends the run at once with a
  non-zero exit and one line — nothing was read, nothing is acknowledged;
- the first signal of a run asks for a graceful stop: everything read so far is landed,
  the catalog applied, and only then the latest STATE printed;
- a second signal while that (or the end-of-input drain) runs stops at once: ``Abort`` is
  raised wherever the main thread is, and the process exits without printing a STATE;
- once the run is done (its last STATE printed, everything released) a signal only cuts short
  what is left: the run's own exit.

This module imports nothing heavy: the CLI installs it before the SDK and Arrow load.
"""

from __future__ import annotations

import enum
import signal
import threading
from types import FrameType

SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


def exit_code(signum: int) -> int:
    """The shell's convention for a process stopped by ``signum``."""
    return 128 + signum


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Phase(enum.Enum):
    """Where the run is, which decides what a signal does."""

    STARTING = "starting"
    RUNNING = "running"
    DRAINING = "draining"
    DONE = "done"


class StartupInterrupted(BaseException):
    """A signal arrived before the first input line was read."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Abort(BaseException):
    """A second signal while draining: stop now, print no STATE."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopRequested(Exception):  # noqa: N818 - raised at a safe point to leave the read loop
    """A first signal during the run: land what was read, then stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Controller:
    """The process's signal state; one instance, ``CONTROLLER``."""

    def __init__(self) -> None:
        self.phase = Phase.STARTING
        self.requested: int | None = None
        self.installed = False

    def install(self) -> None:
        """Take over the stop signals (main thread only; a no-op elsewhere)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            signal.signal(signum, self._handle)
        self.installed = True

    def reset(self) -> None:
        """Back to start-up (tests run several targets in one process)."""
        self.phase = Phase.STARTING
        self.requested = None

    def running(self) -> None:
        """Input is being read: a signal now asks for a graceful stop."""
        if self.phase is Phase.STARTING:
            self.phase = Phase.RUNNING

    def draining(self) -> None:
        """Landing for the end (of input, or of a graceful stop): a second signal aborts."""
        self.phase = Phase.DRAINING

    def done(self) -> None:
        """The run is over: a signal now only cuts short the wait before exiting."""
        self.phase = Phase.DONE
        self.requested = None

    def check(self) -> None:
        """At a safe point: leave the read loop if a stop was asked for."""
        if self.requested is not None and self.phase is Phase.RUNNING:
            raise StopRequested(self.requested)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.phase is Phase.DONE:
            self.requested = signum
            return
        if self.phase is Phase.STARTING:
            raise StartupInterrupted(signum)
        if self.requested is not None and self.phase is Phase.DRAINING:
            raise Abort(signum)
        if self.requested is None:
            self.requested = signum  # logged by the run loop: writing here could re-enter I/O
        elif self.phase is Phase.RUNNING:  # a second signal before the loop saw the first
            self.phase = Phase.DRAINING
            raise Abort(signum)


CONTROLLER = Controller()
