"""The parent's side of the index worker (:mod:`photoorg.core.app.index_worker`): start it
on demand, run the pipeline there, forward its progress, and notice when it exits idle."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

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

        try:
            event = self._request("require", None, None, "required")
        except WorkerError as exc:
            raise ModelUnavailableError(f"the model could not be loaded: {exc}") from exc
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
        """Stop the worker (after its batch; killed when a run does not end in 60 s)."""
        if not self._lock.acquire(timeout=60):
            proc = self._proc
            if proc is not None:
                log.warning("the index worker did not finish its run; killing it")
                proc.popen.kill()
            return
        try:
            proc, self._proc = self._proc, None
        finally:
            self._lock.release()
        if proc is not None:
            proc.close()
