"""The core must stay free of Qt so the CLI, tests and GUI share one headless engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "photoorg" / "core"


def test_core_sources_never_mention_qt() -> None:
    offenders = [
        path.name
        for path in CORE.glob("*.py")
        if any(word in path.read_text(encoding="utf-8") for word in ("PySide6", "PyQt", "QtCore"))
    ]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = sorted(p.stem for p in CORE.glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('photoorg.core.' + m)\n"
        "import photoorg.cli\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
