"""The core must stay free of Qt so the CLI, tests and GUI share one headless engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "photoorg" / "core"


def test_core_sources_never_mention_qt() -> None:
    offenders = [
        str(path.relative_to(CORE))
        for path in CORE.rglob("*.py")
        if any(word in path.read_text(encoding="utf-8") for word in ("PySide6", "PyQt", "QtCore"))
    ]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = sorted(".".join(p.relative_to(CORE).with_suffix("").parts)
                     for p in CORE.rglob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('photoorg.core.' + m)\n"
        "import photoorg.cli\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _lint_imports(repo: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` (import-linter, with pyproject's contracts) on the code in ``repo``."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--no-cache"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def test_the_architecture_contracts_hold() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "bad_import", "contract"), [
    # the core reaching up into the window
    ("photoorg/core/store/backup.py", "from photoorg.ui import errors",
     "The core never imports the window or the CLI"),
    # a view going round the door
    ("photoorg/ui/views/sidebar.py", "from photoorg.core.store import catalog",
     "The window and the CLI reach the core only through the door"),
    # a low layer importing the door
    ("photoorg/core/store/journal.py", "from photoorg.core.app import library",
     "The core's layers"),
    # two modules of one package importing each other (xmp is imported by read)
    ("photoorg/core/metadata/xmp.py", "from photoorg.core.metadata import read",
     "No import cycles"),
])
def test_a_bad_import_breaks_a_contract(tmp_path: Path, module: str, bad_import: str,
                                        contract: str) -> None:
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copytree(REPO / "photoorg", copy / "photoorg",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    assert _lint_imports(copy).returncode == 0  # the copy is clean before the change
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n\n{bad_import}  # noqa\n",
                      encoding="utf-8")
    result = _lint_imports(copy)
    assert result.returncode != 0
    verdicts = [line for line in result.stdout.splitlines() if line.startswith(contract)]
    assert verdicts and verdicts[0].endswith("BROKEN"), result.stdout
