"""Import Python files that are not installed packages: the scripts (scripts/, bench/) and
the demo tap (installed in Meltano's venv, not the suite's)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def import_file(name: str, path: Path) -> ModuleType:
    """``path`` (a ``.py`` file, or a package's folder) imported as module ``name``, once:
    registered in ``sys.modules`` before it runs, as dataclasses need."""
    if name in sys.modules:
        return sys.modules[name]
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(
            name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
