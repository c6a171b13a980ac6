"""The ``target-athena-zuora`` command: signal handling first, then the target.

The stop signals are taken over before singer-sdk and Arrow are imported (half a second), so
a signal during start-up ends the run with one line and a non-zero exit, not a traceback.
"""

from __future__ import annotations

import os
import sys

from target_athena_zuora.signals import (
    CONTROLLER,
    Abort,
    StartupInterrupted,
    exit_code,
    signal_name,
)


def main() -> None:
    """Run the target's CLI."""
    CONTROLLER.install()
    try:
        from target_athena_zuora.target import TargetAthenaZuora  # noqa: PLC0415

        TargetAthenaZuora.cli()
    except StartupInterrupted as stop:
        _say(f"stopped by {signal_name(stop.signum)} during start-up; nothing was read")
        sys.exit(exit_code(stop.signum))
    except Abort as abort:
        _say(
            f"stopped at once by a second {signal_name(abort.signum)}; no STATE was printed "
            "for what was in flight (the tap sends it again from the last STATE printed)"
        )
        os._exit(exit_code(abort.signum))  # now: worker threads are not waited for


def _say(text: str) -> None:
    try:
        sys.stderr.write(f"target-athena-zuora: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr is gone: the exit code says it


if __name__ == "__main__":
    main()
