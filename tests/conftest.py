"""Shared test setup: no display, no network, temporary data folders."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The OCR stage costs ~1 s per test library; the tests of reading text turn it back on.
os.environ.setdefault("PHOTOORG_READ_TEXT", "0")
# The app's cache folder (shared prompt vectors, downloads) of this test run, not the user's;
# a test that needs its own takes the ``data_dir`` fixture.
if "PHOTOORG_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["PHOTOORG_CACHE_DIR"] = tempfile.mkdtemp(prefix="photoorg-test-cache-")
    atexit.register(shutil.rmtree, os.environ["PHOTOORG_CACHE_DIR"], True)

# Models exported to ONNX (the light runtime) once per test run, shared by every test and
# the CLI processes they start, whatever their own cache folder.
if "PHOTOORG_ONNX_CACHE" not in os.environ:
    import atexit

    os.environ["PHOTOORG_ONNX_CACHE"] = tempfile.mkdtemp(prefix="photoorg-test-onnx-")
    atexit.register(shutil.rmtree, os.environ["PHOTOORG_ONNX_CACHE"], True)

# The user's model caches stay out of the tests, both ways: a model the user downloaded must
# not make a "no model yet" test pass or fail, and no test writes into the user's cache. Set
# before anything imports huggingface_hub (it reads these at import); CLI tests' child
# processes inherit them.
_CACHES = tempfile.mkdtemp(prefix="photoorg-tests-caches-")
for _var, _sub in (("HF_HOME", "hf"), ("HF_HUB_CACHE", os.path.join("hf", "hub")),
                   ("HF_XET_CACHE", os.path.join("hf", "xet")), ("TORCH_HOME", "torch")):
    os.environ[_var] = os.path.join(_CACHES, _sub)
os.environ.pop("HUGGINGFACE_HUB_CACHE", None)  # the old name, which would win over HF_HOME


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHES, ignore_errors=True)


REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated library data folder (and model cache) for one test."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("PHOTOORG_DATA_DIR", str(path))
    monkeypatch.setenv("PHOTOORG_CACHE_DIR", str(tmp_path / "cache"))
    return path


@pytest.fixture
def system_trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | None:
    """The trash that "move to the trash" really uses here. Freedesktop (Linux, BSD): the home
    trash moved into the test's folder through ``XDG_DATA_HOME``, the variable the
    specification (and photoorg) reads, on the same disk as the test's photos, so a real move;
    returns it. Windows' Recycle Bin and macOS's Trash have no such variable: there the real
    one is used, only on a throwaway CI machine (returns None)."""
    if sys.platform in ("win32", "darwin"):
        if not os.environ.get("CI"):
            pytest.skip("real trash: on Windows/macOS a test would put files into this user's "
                        "own Recycle Bin/Trash (runs in CI)")
        return None
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "Trash"


# -- skips are visible (-rs in the config) and bounded ------------------------------------------
# In CI (CI set: GitHub Actions and .ci/run set it) a test may skip only for one of these
# reasons: facts of the machine (its OS, its user, its kernel) or an explicit opt-in. Any other
# skip -- a missing model, data set, tool or module -- fails the run, so nothing silently stops
# being tested. Each entry: the start of a skip reason, and why it is allowed.
ALLOWED_SKIPS: dict[str, str] = {
    "root may write anywhere": "running as root: permissions cannot be denied",
    "root reads everything": "running as root: permissions cannot be denied",
    "root ignores file permissions": "running as root: permissions cannot be denied",
    "cannot drop privileges here": "root without a user to become",
    "POSIX permissions only": "platform: Windows has no POSIX permissions",
    "freedesktop trash: Linux/BSD only": "platform: Windows and macOS have their own trash",
    "real trash: on Windows/macOS": "outside CI only (never fails a CI run)",
    "mountinfo is Linux only": "platform",
    "Windows cannot create these names": "platform",
    "FUSE needs Linux with /dev/fuse": "platform: no FUSE on Windows/macOS runners",
    "mfusepy/libfuse unavailable": "platform: libfuse absent (macOS/Windows runners)",
    "full PyInstaller build takes minutes": "opt-in (PHOTOORG_TEST_FREEZE=1)",
    "PyAV here cannot write AV1": "platform: a PyAV build without the SVT-AV1 encoder (the "
                                  "player's fallback test needs a clip Qt cannot decode)",
}


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


_UNEXPECTED: list[tuple[str, str]] = []  # (test, reason) of skips not on the list


def _note_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not reason.startswith(tuple(ALLOWED_SKIPS)):
            _UNEXPECTED.append((report.nodeid, reason))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _UNEXPECTED:
        return
    in_ci = bool(os.environ.get("CI"))
    terminalreporter.section("skips not on the allowed list (tests/conftest.py ALLOWED_SKIPS)",
                             red=in_ci, yellow=not in_ci)
    for nodeid, reason in _UNEXPECTED:
        terminalreporter.line(f"{nodeid}: {reason}")
    terminalreporter.line("in CI these fail the run" if in_ci else
                          "(outside CI only listed; in CI, with CI set, they fail the run)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") and _UNEXPECTED and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
