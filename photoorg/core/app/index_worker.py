"""The pipeline in a child process that exits when idle, so a long-running ``watch`` lets its
models go.

A process that has imported torch cannot get back under a few hundred MB by releasing
tensors (the import alone costs ~0.5 GB), so ``photoorg watch`` keeps only the light part —
watchdog, reconciling the catalog — in its own process, and runs the library's pipeline
(:meth:`Library.run_pipeline`, the same stages ``photoorg index`` runs) in a worker::

    python -m photoorg.core.app.index_worker --data-dir D [--model M] [--no-faces]
                                             [--batch-size N] [--idle-release S]

The worker loads its models on the first run, keeps them between runs, and exits (saying
``released``) after ``S`` seconds without a command; the parent's side
(:class:`~photoorg.core.app.worker_client.IndexWorker`) starts a fresh one on the next
change. Both processes write the catalog, never at the same time: the parent waits while
the worker runs (WAL, SQLite's lock in between).

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
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from photoorg.core.app.worker_client import DEFAULT_IDLE_RELEASE_S
from photoorg.core.ingest.indexer import IndexControl, IndexListener, Progress

log = logging.getLogger(__name__)


# -- the worker process -------------------------------------------------------------------


class _Emitter(IndexListener):
    """Events to the parent; when it has gone away (a closed pipe) the run in progress is
    cancelled after its batch, so what was done is kept and the rest resumes next time."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.control: IndexControl | None = None

    def emit(self, name: str, **payload: Any) -> None:
        line = json.dumps({"event": name, **payload}, default=str)
        with self.lock:
            try:
                self.out.write(line + "\n")
                self.out.flush()
            except (OSError, ValueError):
                if self.control is not None:
                    self.control.cancel()

    def on_progress(self, progress: Progress) -> None:
        self.emit("progress", **asdict(progress))

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:
        self.emit("skipped", path=str(path), reason=reason, detail=detail)


def _download_progress(spec: str) -> Callable[[int, int | None], None]:
    """Download progress on stderr (the watch command's terminal), twice a second."""
    last = [0.0]

    def report(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or done == total:
            last[0] = now
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"downloading {spec}: {size}", file=sys.stderr, flush=True)

    return report


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
                if word == "run":  # a cancel right behind it must reach this run
                    current[0] = IndexControl()
                requests.put(word)
        requests.put(None)

    threading.Thread(target=read, name="index-worker-commands", daemon=True).start()
    encoders = Encoders(download=True, progress_for=_download_progress)
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
                except Exception as exc:  # said, not a dead worker
                    log.exception("loading the model failed")
                    emitter.emit("required", error=f"{type(exc).__name__}: {exc}")
            elif word == "run":
                control = emitter.control = current[0]
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
    # Ctrl+C in a terminal reaches the whole process group: the parent decides when to stop
    # (it finishes the batch first), so the worker does not die mid-batch
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but events on the pipe
    code = serve(args, out, sys.stdin)
    out.flush()
    os._exit(code)  # daemon threads (decode pool, reader) must not hold the exit


if __name__ == "__main__":
    sys.exit(main())
