"""Smoke checks of a frozen photoorg, beyond its ``--self-test``. Stdlib only.

    python packaging/smoke.py dist/photoorg/photoorg            (Linux)
    python packaging/smoke.py dist/photoorg/photoorg-cli.exe \
        --service-exe dist/photoorg/photoorg.exe                   (Windows)
    python packaging/smoke.py dist/photoorg.app/Contents/MacOS/photoorg

Each check runs the bundle the way a user or the window does:

1. ``--version`` answers;
2. ``--self-test``: the bundled CLIP model, the dlib face models, sqlite-vec, indexing,
   text search, find-similar and people clustering, on the bundled samples;
3. the indexing service process (``<exe> --library-service``, as the window starts it)
   indexes a library with the bundled model and stops when its stdin closes; the CLI then
   counts the photos;
4. the window opens offscreen (``QT_QPA_PLATFORM=offscreen``,
   ``PHOTOORG_EXIT_AFTER_SHOWN=1``) on that library and quits once painted.

Prints one line per check and exits 0 only when all pass.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "samples"
BUNDLED_MODEL = "photoorg-tiny/bundled"


class SmokeError(Exception):
    pass


def _env(data: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONIOENCODING="utf-8")
    if data is not None:
        env["PHOTOORG_DATA_DIR"] = str(data)
    return env


def _run(cmd: list[str], timeout: float, env: dict[str, str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise SmokeError(f"{' '.join(cmd[1:])}: no answer in {timeout:.0f}s") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip()[-2000:]
        raise SmokeError(f"{' '.join(cmd[1:])}: exit {done.returncode}\n{tail}")
    return done.stdout


def check_version(exe: Path, work: Path) -> str:
    out = _run([str(exe), "--version"], 120, _env(work / "version-data"))
    if not out.startswith("photoorg "):
        raise SmokeError(f"--version printed {out!r}")
    return out.strip()


def check_self_test(exe: Path, work: Path) -> str:
    out = _run([str(exe), "--self-test"], 600, _env(work / "selftest-data"))
    line = next((x for x in out.splitlines() if "self-test" in x), out.strip())
    if "self-test ok" not in line:
        raise SmokeError(line)
    return line


SERVICE_EXE: Path | None = None  # the executable the window starts its service from


def check_service(exe: Path, work: Path) -> str:
    data = work / "service-data"
    lib = work / "library"
    lib.mkdir()
    env = _env(data)
    # the CLI adds the (still empty) folder; the service finds and indexes what arrives
    _run([str(exe), "--data-dir", str(data), "index", str(lib), "--model", BUNDLED_MODEL,
          "--no-faces", "-q"], 300, env)
    photos = sorted(p for p in SAMPLES.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    if len(photos) < 6:
        raise SmokeError(f"need 6 sample photos in {SAMPLES}, found {len(photos)}")
    for p in photos:
        shutil.copy2(p, lib / p.name)
    # the window starts `sys.executable --library-service`: on Windows the windowed
    # photoorg.exe, whose stdout must still reach the window through the pipe
    service_exe = SERVICE_EXE or exe
    cmd = [str(service_exe), "--library-service", "--data-dir", str(data),
           "--model", BUNDLED_MODEL]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            errors="replace", env=env)
    assert proc.stdin and proc.stdout and proc.stderr
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
    events: list[str] = []
    hits: list[int] = []
    timer = threading.Timer(600, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            events.append(event.get("event", "?"))
            if event.get("event") == "error":
                raise SmokeError(f"service error: {event.get('message')}")
            if event.get("event") == "idle" and not hits:
                query = {"cmd": "search", "gen": 1, "text": "a photo of a red circle", "k": 3}
                proc.stdin.write(json.dumps(query) + "\n")
                proc.stdin.flush()
            if event.get("event") == "results":
                if event.get("error"):
                    raise SmokeError(f"search in the service: {event['error']}")
                hits = list(event.get("ids") or [])
                break
        proc.stdin.close()  # the window went away: the service finishes and stops
        code = proc.wait(timeout=120)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
    tail = "".join(stderr)[-2000:]
    if code != 0:
        raise SmokeError(f"service exit {code} (events {events}): {tail}")
    indexed = _indexed(exe, data, env)
    if indexed != len(photos) or not hits:
        raise SmokeError(f"service indexed {indexed}/{len(photos)}, search hits {hits} "
                         f"(events {events}): {tail}")
    return (f"indexing service ({service_exe.name}) indexed {indexed}/{len(photos)} and "
            f"answered a search in {time.monotonic() - started:.1f}s")


def _indexed(exe: Path, data: Path, env: dict[str, str]) -> int:
    out = _run([str(exe), "--data-dir", str(data), "status", "--json"], 120, env)
    return int(json.loads(out)["indexed"])


def check_window(exe: Path, work: Path) -> str:
    data = work / "service-data"
    env = _env(data)
    env["PHOTOORG_EXIT_AFTER_SHOWN"] = "1"
    out = _run([str(exe), "--data-dir", str(data), "--model", BUNDLED_MODEL, "--no-watch"],
               300, env)
    line = next((x for x in out.splitlines() if "window shown" in x), None)
    if line is None:
        raise SmokeError(f"the window did not report being shown: {out[-1000:]!r}")
    return line.strip()


CHECKS: list[tuple[str, Callable[[Path, Path], str]]] = [
    ("version", check_version),
    ("self-test", check_self_test),
    ("service", check_service),
    ("window", check_window),
]


def run(exe: Path, only: list[str] | None = None) -> int:
    if not exe.is_file():
        print(f"smoke: {exe} does not exist", file=sys.stderr)
        return 1
    failed = 0
    with tempfile.TemporaryDirectory(prefix="photoorg-smoke-") as tmp:
        work = Path(tmp)
        for name, check in CHECKS:
            if only and name not in only:
                continue
            started = time.monotonic()
            try:
                result = check(exe, work)
            except SmokeError as exc:
                failed += 1
                print(f"smoke {name}: FAILED ({time.monotonic() - started:.1f}s): {exc}",
                      flush=True)
                continue
            print(f"smoke {name}: ok ({time.monotonic() - started:.1f}s): {result}", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exe", type=Path, help="the frozen executable that has a console")
    parser.add_argument("--only", action="append", choices=[c[0] for c in CHECKS])
    parser.add_argument("--service-exe", type=Path,
                        help="start the indexing service from this executable (Windows: the "
                             "windowed photoorg.exe, as the window does); default: EXE")
    args = parser.parse_args(argv)
    global SERVICE_EXE
    SERVICE_EXE = args.service_exe
    return run(args.exe, args.only)


if __name__ == "__main__":
    sys.exit(main())
