"""The pipeline in a child process that exits when idle, so a long-running ``watch`` lets its
models go.

A process that has imported torch cannot get back under a few hundred MB by releasing
tensors (the import alone costs ~0.5 GB), so ``photoorg watch`` keeps only the light part —
watchdog, reconciling the catalog — in its own process, and runs the library's pipeline
(:meth:`Library.run_pipeline`, the same stages ``photoorg index`` runs) in a worker::

    python -m photoorg.core.app.index_worker --data-dir D [--model M] [--no-faces]
                                             [--batch-size N] [--idle-release S]

The worker loads its models on the first run, keeps them between runs, and exits (saying
``released``) after ``S`` seconds without a command; :class:`IndexWorker`, the parent's
side, starts a fresh one on the next change. Both processes write the catalog, never at
the same time: the parent waits while the worker runs (WAL, SQLite's lock in between).

Protocol, one JSON object per line. Parent → worker (stdin): ``run`` ``require`` ``cancel``
``pause`` ``resume`` ``quit``. Worker → parent (stdout)::

    {"event": "progress", ...Progress}   {"event": "skipped", "path", "reason", "detail"}
    {"event": "done", "summary": {...IndexSummary} | null, "error": str | null}
    {"event": "required", "error": str | null}
    {"event": "released", "idle_s": s}
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO, Any

from photoorg.core.ingest.indexer import IndexControl, IndexListener, IndexSummary, Progress

log = logging.getLogger(__name__)

DEFAULT_IDLE_RELEASE_S = 180.0
WORKER_FLAG = "--index-worker"  # the frozen app's form (packaging/entry.py)


class WorkerError(RuntimeError):
    """The worker process stopped or failed without finishing the run."""


def worker_command() -> list[str]:
    """How to start the worker: the same interpreter, or the frozen app itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_FLAG]
    return [sys.executable, "-m", "photoorg.core.app.index_worker"]


def _child_env() -> dict[str, str]:
    """The worker runs this very code (not another install of photoorg)."""
    env = dict(os.environ)
    if not getattr(sys, "frozen", False):
        here = str(Path(__file__).resolve().parents[3])
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([here, *[p for p in paths if p != here]])
    env["PYTHONUNBUFFERED"] = "1"
    return env


class _Process:
    """One running worker: its pipes and a thread reading its events into a queue."""

    def __init__(self, args: list[str], on_release: Callable[[float], None]) -> None:
        self.on_release = on_release
        self.released = False  # it said so before exiting: nothing was left undone
        self.popen = subprocess.Popen(
            worker_command() + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None, env=_child_env(), text=True, encoding="utf-8", bufsize=1,
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.started = time.monotonic()
        threading.Thread(target=self._read, name="index-worker-events", daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                log.info("index worker: %s", line.rstrip())
                continue
            if event.get("event") == "released":
                self.released = True
                self.on_release(float(event.get("idle_s", 0.0)))
            else:
                self.events.put(event)
        self.events.put(None)  # end of output: the worker has exited

    def send(self, word: str) -> bool:
        try:
            assert self.popen.stdin is not None
            self.popen.stdin.write(word + "\n")
            self.popen.stdin.flush()
            return True
        except (OSError, ValueError):  # it exited (idle) meanwhile
            return False

    def close(self, timeout: float = 30.0) -> None:
        self.send("quit")
        try:
            assert self.popen.stdin is not None
            self.popen.stdin.close()
        except OSError:
            pass
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the index worker did not stop in %.0f s; killing it", timeout)
            self.popen.kill()
            self.popen.wait(5)


class IndexWorker:
    """The parent's side: a ``run_index`` for :class:`LibraryWatcher` that runs the pipeline in
    a worker process, started on demand and gone after ``idle_release_s`` idle seconds.
    ``on_release`` hears each release (the worker exited idle, its models with it)."""

    def __init__(self, data: str | Path, *, model: str | None = None, faces: bool = True,
                 batch_size: int = 16, idle_release_s: float = DEFAULT_IDLE_RELEASE_S,
                 on_release: Callable[[float], None] | None = None) -> None:
        self.data = Path(data)
        self.model = model
        self.faces = faces
        self.batch_size = batch_size
        self.idle_release_s = idle_release_s
        self.on_release = on_release
        self.starts = 0  # worker processes started (each one loads the models)
        self.releases = 0
        self._proc: _Process | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None: none running, models released)."""
        proc = self._proc
        return proc.popen.pid if proc is not None and proc.popen.poll() is None else None

    def _args(self) -> list[str]:
        args = ["--data-dir", str(self.data), "--batch-size", str(self.batch_size),
                "--idle-release", str(self.idle_release_s)]
        if self.model:
            args += ["--model", self.model]
        if not self.faces:
            args.append("--no-faces")
        return args

    def _running(self) -> _Process:
        proc = self._proc
        if proc is None or proc.popen.poll() is not None:
            proc = self._proc = _Process(self._args(), self._released)
            self.starts += 1
        return proc

    def _request(self, word: str, control: IndexControl | None,
                 listener: IndexListener | None, answer: str) -> dict[str, Any]:
        """Send ``word`` and wait for the ``answer`` event, forwarding progress; a worker
        that went idle just as the request was sent is started again (once)."""
        with self._lock:
            for attempt in range(2):
                proc = self._running()
                event = self._exchange(proc, word, control, listener, answer)
                if event is not None:
                    return event
                code = proc.popen.wait()
                self._proc = None
                if not proc.released or attempt:
                    raise WorkerError(f"the index worker stopped (exit code {code})")
            raise WorkerError("the index worker stopped")  # pragma: no cover - loop returns

    def _exchange(self, proc: _Process, word: str, control: IndexControl | None,
                  listener: IndexListener | None, answer: str) -> dict[str, Any] | None:
        if not proc.send(word):
            proc.released = True  # gone before it read the request: nothing happened
            return None
        paused = False
        cancelled = False
        while True:
            if control is not None:
                if control.cancelled and not cancelled:
                    proc.send("cancel")
                    cancelled = True
                if control.paused != paused:
                    paused = control.paused
                    proc.send("pause" if paused else "resume")
            try:
                event = proc.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if event is None:
                return None
            kind = event.get("event")
            if kind == answer:
                return event
            if listener is not None and kind == "progress":
                names = {f.name for f in fields(Progress)}
                listener.on_progress(Progress(**{k: v for k, v in event.items() if k in names}))
            elif listener is not None and kind == "skipped":
                listener.on_skipped(Path(event["path"]), event["reason"], event["detail"])

    def _released(self, idle_s: float) -> None:
        self.releases += 1
        if self.on_release is not None:
            try:
                self.on_release(idle_s)
            except Exception:
                log.exception("release listener failed")

    def require(self) -> None:
        """Load the target model in the worker now; raises ``ModelUnavailableError`` saying
        why it cannot be had."""
        from photoorg.core.models.embedder import ModelUnavailableError

        event = self._request("require", None, None, "required")
        if event.get("error"):
            raise ModelUnavailableError(str(event["error"]))

    def __call__(self, control: IndexControl, listener: IndexListener) -> IndexSummary:
        event = self._request("run", control, listener, "done")
        if event.get("error"):
            raise WorkerError(str(event["error"]))
        raw = event.get("summary") or {}
        names = {f.name for f in fields(IndexSummary)}
        return IndexSummary(**{k: v for k, v in raw.items() if k in names})

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            proc.close()


# -- the worker process -------------------------------------------------------------------


class _Emitter(IndexListener):
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def emit(self, name: str, **payload: Any) -> None:
        line = json.dumps({"event": name, **payload}, default=str)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def on_progress(self, progress: Progress) -> None:
        self.emit("progress", **asdict(progress))

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:
        self.emit("skipped", path=str(path), reason=reason, detail=detail)


def serve(args: argparse.Namespace, out: IO[str], lines: IO[str]) -> int:
    """The worker's loop: one pipeline run per ``run``; exit after ``idle_release`` idle
    seconds or when the parent goes away (end of input)."""
    from photoorg.core.app.library import Library
    from photoorg.core.models.embedder import ModelUnavailableError
    from photoorg.core.models.policy import Encoders

    emitter = _Emitter(out)
    requests: queue.Queue[str | None] = queue.Queue()
    current: list[IndexControl] = [IndexControl()]

    def read() -> None:
        for raw in lines:
            word = raw.strip().lower()
            if word == "cancel":
                current[0].cancel()
            elif word == "pause":
                current[0].pause()
            elif word == "resume":
                current[0].resume()
            elif word:
                requests.put(word)
        requests.put(None)

    threading.Thread(target=read, name="index-worker-commands", daemon=True).start()
    encoders = Encoders(download=True)
    lib = Library(args.data_dir, model=args.model, encoders=encoders)
    try:
        while True:
            try:
                word = requests.get(timeout=args.idle_release)
            except queue.Empty:
                emitter.emit("released", idle_s=args.idle_release)
                return 0
            if word in (None, "quit"):
                return 0
            if word == "require":
                try:
                    lib.require_target_model()
                    emitter.emit("required", error=None)
                except ModelUnavailableError as exc:
                    emitter.emit("required", error=str(exc))
            elif word == "run":
                control = current[0] = IndexControl()
                try:
                    ctx = lib.run_pipeline(control=control, listener=emitter,
                                           faces=not args.no_faces, batch_size=args.batch_size)
                    emitter.emit("done", summary=asdict(ctx.summary), error=None)
                except Exception as exc:  # said to the parent, which retries later
                    log.exception("indexing failed")
                    emitter.emit("done", summary=None, error=f"{type(exc).__name__}: {exc}")
    finally:
        lib.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="photoorg-index-worker")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model")
    parser.add_argument("--no-faces", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--idle-release", type=float, default=DEFAULT_IDLE_RELEASE_S)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but events on the pipe
    code = serve(args, out, sys.stdin)
    out.flush()
    os._exit(code)  # daemon threads (decode pool, reader) must not hold the exit


if __name__ == "__main__":
    sys.exit(main())
