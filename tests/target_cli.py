"""How the suite starts the target: its installed console script."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def target_command() -> list[str]:
    """The installed console script (PATH first, then the venv's bin next to the interpreter,
    else the same entry point through this interpreter)."""
    found = shutil.which("target-athena-zuora")
    if found:
        return [found]
    beside = Path(sys.executable).parent / "target-athena-zuora"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-c", "from target_athena_zuora.cli import main; main()"]
