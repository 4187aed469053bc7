"""The test setup itself: skips are listed and, in CI, bounded by an allowed list; the user's
model caches are out of reach of the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pytest(folder: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-p", "no:randomly", str(folder)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_skip_not_on_the_allowed_list_fails_the_run_in_ci(tmp_path: Path) -> None:
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -rfEs\n", encoding="utf-8")
    (tmp_path / "test_allowed.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.skipif(True, reason='root may write anywhere: permissions ...')\n"
        "def test_as_root():\n    pass\n\n"
        "def test_runs():\n    pass\n", encoding="utf-8")
    allowed = _pytest(tmp_path, ci=True)
    assert allowed.returncode == 0, allowed.stdout
    assert "SKIPPED [1] test_allowed.py:3: root may write anywhere" in allowed.stdout
    (tmp_path / "test_missing.py").write_text(
        "import pytest\n\n"
        "def test_needs_a_model():\n    pytest.skip('bundled tiny model missing')\n",
        encoding="utf-8")
    for ci in (True, False):
        run = _pytest(tmp_path, ci=ci)
        assert "test_missing.py::test_needs_a_model: bundled tiny model missing" in run.stdout
        assert "skips not on the allowed list" in run.stdout
        assert run.returncode == (1 if ci else 0), run.stdout
    (tmp_path / "test_missing.py").write_text(  # a module skipped whole: the same rule
        "import pytest\n\npytest.importorskip('photoorg_no_such_module')\n", encoding="utf-8")
    run = _pytest(tmp_path, ci=True)
    assert run.returncode == 1 and "photoorg_no_such_module" in run.stdout, run.stdout


def test_model_caches_are_the_tests_own() -> None:
    from huggingface_hub import constants

    home = Path.home().resolve()
    for var in ("HF_HOME", "HF_HUB_CACHE", "TORCH_HOME"):
        assert home not in Path(os.environ[var]).resolve().parents, var
    cache = Path(constants.HF_HUB_CACHE).resolve()
    assert cache == Path(os.environ["HF_HUB_CACHE"]).resolve()
    from photoorg.core.models.embedder import _user_hf_cache

    assert Path(_user_hf_cache()).resolve() == cache
