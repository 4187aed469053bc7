"""Build the photoorg desktop app for the OS this runs on.

    python packaging/build.py               # dist/photoorg/ (+ .app / installer / AppDir)
    python packaging/build.py --self-test   # ... then run the frozen app's self-test
    python packaging/build.py --release     # CPU-only torch required; release artifacts
    python packaging/build.py --release --self-test   # what CI runs on each OS

Steps: PyInstaller with ``packaging/photoorg.spec`` (work files in ``build/pyinstaller``,
output in ``dist/``), then per OS:

* macOS: the spec's BUNDLE step already wrote ``dist/photoorg.app`` (Info.plist with the
  image document types); ``--dmg`` also wraps it in a disk image with ``hdiutil``.
* Windows: ``dist/photoorg/`` (``photoorg.exe`` windowed, ``photoorg-cli.exe`` console),
  then ``packaging/windows/photoorg.iss`` is compiled with Inno Setup's ``iscc`` when it is
  on PATH (per-user installer ``dist/photoorg-<version>-setup.exe``).
* Linux: ``dist/photoorg/`` is made an AppDir: ``AppRun``, ``photoorg.desktop`` and
  ``photoorg.png`` (+ ``.DirIcon``) at its top, so ``appimagetool dist/photoorg`` turns
  it into an AppImage (not run here: appimagetool is not required).

``--release`` refuses a CUDA torch and writes the files to publish to ``dist/release/``:
Linux ``photoorg-<version>-linux-<arch>.tar.gz`` (the AppDir; plus an AppImage when
``appimagetool`` is on PATH), Windows ``photoorg-<version>-setup.exe`` (``iscc`` required),
macOS ``photoorg-<version>-macos-<arch>.dmg``. ``--self-test`` runs ``packaging/smoke.py``
on the frozen app: its ``--self-test``, the indexing service process, the window offscreen.

Prints the build time, bundle size and artifacts at the end. See ``packaging/README.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import spec_helpers as H  # noqa: E402

DIST = H.REPO / "dist"
WORK = H.REPO / "build" / "pyinstaller"
SPEC = HERE / "photoorg.spec"
RELEASE = DIST / "release"

APPRUN = """#!/bin/sh
# AppImage entry point: run the bundled executable beside this script.
HERE="$(dirname "$(readlink -f "$0")")"
exec "$HERE/photoorg" "$@"
"""


def torch_build() -> tuple[str, bool]:
    """(torch version, whether it is a CUDA build) from metadata, without importing torch."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("torch")
    except PackageNotFoundError:
        return ("missing", False)
    requires = dist.requires or []
    cuda = "+cu" in dist.version or any(r.lower().startswith("nvidia-") for r in requires)
    if sys.platform != "linux":  # PyPI's Windows/macOS wheels are CPU-only
        cuda = "+cu" in dist.version
    return (dist.version, cuda)


def run_pyinstaller(clean: bool) -> None:
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level=WARN",
        f"--distpath={DIST}",
        f"--workpath={WORK}",
    ]
    if clean:
        cmd.append("--clean")
    cmd.append(str(SPEC))
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=H.REPO, check=True)


def app_dir() -> Path:
    return DIST / H.APP_NAME


def frozen_executable() -> Path:
    """The executable that prints to a terminal (for ``--self-test``)."""
    if sys.platform.startswith("win"):
        return app_dir() / f"{H.APP_NAME}-cli.exe"
    if sys.platform == "darwin":
        return DIST / f"{H.APP_NAME}.app" / "Contents" / "MacOS" / H.APP_NAME
    return app_dir() / H.APP_NAME


def finish_linux() -> None:
    """Make ``dist/photoorg`` an AppDir (AppRun, .desktop and icon at the top)."""
    root = app_dir()
    apprun = root / "AppRun"
    apprun.write_text(APPRUN, encoding="utf-8")
    apprun.chmod(apprun.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    shutil.copy2(HERE / "linux" / f"{H.APP_NAME}.desktop", root / f"{H.APP_NAME}.desktop")
    shutil.copy2(H.icon_path("linux"), root / f"{H.APP_NAME}.png")
    dir_icon = root / ".DirIcon"
    if dir_icon.is_symlink() or dir_icon.exists():
        dir_icon.unlink()
    dir_icon.symlink_to(f"{H.APP_NAME}.png")
    print(f"AppDir ready: {root} (appimagetool {root} photoorg-x86_64.AppImage)")


def machine() -> str:
    """x86_64 / arm64, as release file names spell it."""
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(arch, arch)


def artifact_names(version: str, platform_name: str, arch: str) -> list[str]:
    """The release files ``--release`` writes for an OS (tested in test_packaging)."""
    if platform_name.startswith("win"):
        return [f"{H.APP_NAME}-{version}-setup.exe"]
    if platform_name == "darwin":
        return [f"{H.APP_NAME}-{version}-macos-{arch}.dmg"]
    return [f"{H.APP_NAME}-{version}-linux-{arch}.tar.gz"]


def iscc_path() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    default = Path(os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)"))
    candidate = default / "Inno Setup 6" / "ISCC.exe"
    return str(candidate) if candidate.is_file() else None


def finish_windows(version: str, release: bool = False) -> None:
    iscc = iscc_path()
    if not iscc:
        if release:
            raise SystemExit("error: --release on Windows needs Inno Setup's iscc on PATH")
        print("iscc (Inno Setup) not on PATH: installer not compiled; "
              "the folder dist/photoorg is complete")
        return
    cmd = [
        iscc,
        f"/DAppVersion={version}",
        f"/DSourceDir={app_dir()}",
        f"/DIconFile={H.icon_path('win32')}",
        f"/O{RELEASE if release else DIST}",
        str(HERE / "windows" / f"{H.APP_NAME}.iss"),
    ]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def finish_macos(version: str, dmg: bool, release: bool = False) -> None:
    app = DIST / f"{H.APP_NAME}.app"
    if not app.is_dir():
        raise SystemExit(f"{app} missing: the spec's BUNDLE step did not run")
    if dmg or release:
        out = (RELEASE / artifact_names(version, "darwin", machine())[0] if release
               else DIST / f"{H.APP_NAME}-{version}.dmg")
        out.unlink(missing_ok=True)
        subprocess.run(
            ["hdiutil", "create", "-volname", H.APP_NAME, "-srcfolder", str(app),
             "-ov", "-format", "UDZO", str(out)],
            check=True,
        )


def release_linux(version: str) -> None:
    """The AppDir as a tarball (and an AppImage where appimagetool is on PATH)."""
    out = RELEASE / artifact_names(version, "linux", machine())[0]
    print(f"+ tar czf {out}", flush=True)
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(app_dir(), arcname=f"{H.APP_NAME}-{version}")
    appimagetool = shutil.which("appimagetool")
    if appimagetool:
        image = RELEASE / f"{H.APP_NAME}-{version}-{machine()}.AppImage"
        env = dict(os.environ, ARCH=machine().replace("arm64", "aarch64"))
        subprocess.run([appimagetool, str(app_dir()), str(image)], check=True, env=env)


def tree_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total


def self_test() -> int:
    """The frozen app's ``--self-test``, its indexing service and its window
    (``packaging/smoke.py``)."""
    exe = frozen_executable()
    cmd = [sys.executable, str(HERE / "smoke.py"), str(exe)]
    if sys.platform.startswith("win"):  # the window starts its service from the windowed exe
        cmd += ["--service-exe", str(app_dir() / f"{H.APP_NAME}.exe")]
    print("+", " ".join(cmd), flush=True)
    started = time.monotonic()
    rc = subprocess.run(cmd).returncode
    print(f"frozen smoke checks exit {rc} in {time.monotonic() - started:.1f}s")
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", action="store_true", help="drop PyInstaller's cache first")
    parser.add_argument("--release", action="store_true",
                        help="fail unless torch is a CPU-only build")
    parser.add_argument("--self-test", action="store_true",
                        help="run the frozen app's --self-test after building")
    parser.add_argument("--dmg", action="store_true", help="macOS: also make a .dmg")
    args = parser.parse_args(argv)

    version = H.project_version()
    torch_version, cuda = torch_build()
    print(f"photoorg {version} on {sys.platform}; torch {torch_version}"
          f"{' (CUDA build!)' if cuda else ''}")
    if cuda:
        message = ("torch is a CUDA build: the bundle will carry GBs of CUDA libraries. "
                   "Release builds use CPU-only torch (see packaging/README.md).")
        if args.release:
            print(f"error: {message}", file=sys.stderr)
            return 1
        print(f"warning: {message}", file=sys.stderr)

    started = time.monotonic()
    if args.release:
        shutil.rmtree(RELEASE, ignore_errors=True)
        RELEASE.mkdir(parents=True)
    run_pyinstaller(args.clean)
    if sys.platform == "darwin":
        finish_macos(version, args.dmg, args.release)
    elif sys.platform.startswith("win"):
        finish_windows(version, args.release)
    else:
        finish_linux()
    elapsed = time.monotonic() - started
    size = tree_size(app_dir())
    print(f"built {app_dir()} in {elapsed:.0f}s: {size / 2**20:.0f} MiB")
    if args.self_test and self_test() != 0:
        return 1
    if args.release:
        if sys.platform.startswith("linux"):
            release_linux(version)
        for path in sorted(RELEASE.iterdir()):
            print(f"release artifact: {path} ({path.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
