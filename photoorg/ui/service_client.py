"""Runs the :mod:`~photoorg.ui.service` for the window and turns its events into Qt signals
on the GUI thread.

``mode="process"`` (the default) runs it as a child process: the window never imports torch
and never waits for Python's GIL while photos are decoded and embedded (measured: see
``benchmarks/gui_stall.py``), and a crash in a decoder cannot take the window down.
``mode="thread"`` runs the same loop on threads of this process (tests).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal, Slot

from photoorg.core.app.api import Progress

log = logging.getLogger(__name__)


def service_command() -> list[str]:
    """How to start the service: the same interpreter, or the frozen app itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--library-service"]
    return [sys.executable, "-m", "photoorg.core.app.service"]


class ServiceClient(QObject):
    progress = Signal(object)  # Progress
    changed = Signal()  # new rows or vectors in the catalog
    idle = Signal()
    model_state = Signal(str, str, str)  # state, spec, message
    watch_state = Signal(str, str, int)  # state, mode, folders
    paused_changed = Signal(bool)
    scanned = Signal(object)  # dict: added, changed, moved, removed, offline, errors
    # generation, ids, scores, error, {"matched": [[kind, ...]], "total": n, "weaker": bool}
    results = Signal(int, list, list, str, object)
    download_progress = Signal(int, int)  # done, total (0: unknown)
    # state, spec: "released" / "text_released" (let go when idle), "text_loading" /
    # "text_ready" (a search brings the text tower back)
    memory = Signal(str, str)
    failed = Signal(str, str)  # message, details
    stopped = Signal()
    _event = Signal(object)

    def __init__(
        self,
        data: Path,
        *,
        mode: str = "process",
        model: str | None = None,
        faces: bool = True,
        watch: bool = False,
        watch_mode: str = "auto",
        batch_size: int = 16,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.data = data
        self.mode = mode
        self.model = model
        self.faces = faces
        self.watch = watch
        self.watch_mode = watch_mode
        self.batch_size = batch_size
        self.nice = os.environ.get("PHOTOORG_SERVICE_NICE", "1") != "0"
        self.paused = False
        self.busy = False
        self.last_progress: Progress | None = None
        self._process: QProcess | None = None
        self._buffer = b""
        self._service: Any = None
        self._thread: threading.Thread | None = None
        self._unsent: list[str] = []
        self._event.connect(self._on_event)

    @property
    def running(self) -> bool:
        if self._process is not None:
            return self._process.state() != QProcess.ProcessState.NotRunning
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            self.send("rescan")
            return
        self.busy = True
        if self.mode == "thread":
            self._start_thread()
        else:
            self._start_process()
        if self.paused:
            self.send("pause")

    def _args(self) -> list[str]:
        args = ["--data-dir", str(self.data), "--batch-size", str(self.batch_size),
                "--watch-mode", self.watch_mode]
        if self.nice:
            args.append("--nice")
        if self.model:
            args += ["--model", self.model]
        if not self.faces:
            args.append("--no-faces")
        if self.watch:
            args.append("--watch")
        return args

    def _start_process(self) -> None:
        program, *pre = service_command()
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._process_finished)
        process.errorOccurred.connect(self._process_error)
        process.started.connect(self._flush_unsent)
        self._process = process
        self._buffer = b""
        process.start(program, pre + self._args())

    def _start_thread(self) -> None:
        from photoorg.core.app.service import LibraryService

        self._service = LibraryService(
            self.data, self._event.emit, model=self.model, faces=self.faces, watch=self.watch,
            watch_mode=self.watch_mode, batch_size=self.batch_size,
        )

        def run() -> None:
            try:
                self._service.run()
            except Exception as exc:  # reported, never raised across threads
                log.exception("index service failed")
                self._event.emit({"event": "error", "message": str(exc), "details": ""})
            self._event.emit({"event": "stopped"})

        self._thread = threading.Thread(target=run, name="photoorg-index", daemon=True)
        self._thread.start()

    def send(self, word: str) -> None:
        if self._process is not None:
            state = self._process.state()
            if state == QProcess.ProcessState.Running:
                self._process.write(f"{word}\n".encode())
            elif state == QProcess.ProcessState.Starting:
                self._unsent.append(word)
        elif self._service is not None:
            self._service.command(word)

    def send_json(self, command: dict[str, Any]) -> None:
        self.send(json.dumps(command))

    def search(self, generation: int, text: str, k: int, show_all: bool = False) -> None:
        self.send_json({"cmd": "search", "gen": generation, "text": text, "k": k,
                        "all": show_all})

    def similar(self, generation: int, photo_ids: list[int], k: int,
                negative: list[int] | None = None, show_all: bool = False,
                at_seconds: float | None = None) -> None:
        """More like ``photo_ids`` (less like ``negative``: Rocchio in the core); ``show_all``:
        no relevance cut-off; ``at_seconds``: like that video's frame at that second."""
        command = {"cmd": "similar", "gen": generation, "ids": photo_ids, "k": k,
                   "all": show_all}
        if negative:
            command["not"] = list(negative)
        if at_seconds is not None:
            command["time"] = float(at_seconds)
        self.send_json(command)

    def album(self, generation: int, name: str) -> None:
        """A saved-search album's photos (answered like a search)."""
        self.send_json({"cmd": "album", "gen": generation, "name": name})

    def download(self, spec: str) -> None:
        self.send_json({"cmd": "download", "spec": spec})

    def cancel_download(self) -> None:
        self.send_json({"cmd": "cancel_download"})

    def pause(self) -> None:
        self.paused = True
        self.send("pause")
        self.paused_changed.emit(True)

    def resume(self) -> None:
        self.paused = False
        self.send("resume")
        self.paused_changed.emit(False)

    def rescan(self) -> None:
        if self.running:
            self.busy = True
            self.send("rescan")
        else:
            self.start()

    def stop(self, wait_ms: int = 5000) -> None:
        """Ask the service to finish its batch and quit; kill it if it does not."""
        if self._process is not None:
            process, self._process = self._process, None
            process.finished.disconnect(self._process_finished)
            if process.state() != QProcess.ProcessState.NotRunning:
                process.write(b"quit\n")
                process.closeWriteChannel()
                if not process.waitForFinished(wait_ms):
                    process.kill()
                    process.waitForFinished(1000)
        if self._service is not None:
            self._service.command("quit")
            if self._thread is not None:
                self._thread.join(wait_ms / 1000)
            self._service = None
            self._thread = None
        self.busy = False

    def restart(self) -> None:
        """Stop and start again with the current settings, without waiting on the GUI
        thread: the old process finishes its batch while the window stays responsive."""
        process = self._process
        if process is None or process.state() == QProcess.ProcessState.NotRunning:
            self.stop()
            self.start()
            return
        self._process = None
        process.finished.disconnect(self._process_finished)
        process.finished.connect(lambda *_: (process.deleteLater(), self.start()))
        process.write(b"quit\n")
        process.closeWriteChannel()
        QTimer.singleShot(30_000, process, process.kill)  # stuck: do not wait forever

    # -- process plumbing ------------------------------------------------------------

    @Slot()
    def _flush_unsent(self) -> None:
        unsent, self._unsent = self._unsent, []
        for word in unsent:
            self.send(word)

    @Slot()
    def _read_stdout(self) -> None:
        if self._process is None:
            return
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                log.info("index service: %s", line.decode(errors="replace"))
                continue
            self._on_event(event)

    @Slot()
    def _read_stderr(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardError().data()).decode(errors="replace")
        for line in text.splitlines():
            if line.strip():
                log.warning("index service: %s", line)

    @Slot(int, QProcess.ExitStatus)
    def _process_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.busy = False
        if code != 0 or status != QProcess.ExitStatus.NormalExit:
            self.failed.emit(
                "The background indexer stopped unexpectedly "
                f"(exit code {code}). Your library is safe; indexing resumes on the next start.",
                "See the log file for details.",
            )
        self.stopped.emit()

    @Slot(QProcess.ProcessError)
    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.busy = False
            self.failed.emit("The background indexer could not start.", str(error))

    # -- events --------------------------------------------------------------------------

    @Slot(object)
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "progress":
            fields = {k: event.get(k) for k in Progress.__dataclass_fields__ if k in event}
            progress = Progress(**fields)
            self.last_progress = progress
            self.busy = progress.phase != "done"
            self.progress.emit(progress)
        elif kind == "changed":
            self.changed.emit()
        elif kind == "idle":
            self.busy = False
            self.idle.emit()
        elif kind == "model":
            self.model_state.emit(event.get("state", ""), event.get("spec", ""),
                                  event.get("message", ""))
        elif kind == "watch":
            self.watch_state.emit(event.get("state", ""), event.get("mode", ""),
                                  int(event.get("folders", 0)))
        elif kind == "paused":
            self.paused = bool(event.get("paused"))
            self.paused_changed.emit(self.paused)
        elif kind == "results":
            info = {"matched": list(event.get("matched") or []),
                    "total": event.get("total"), "weaker": bool(event.get("weaker")),
                    "times": list(event.get("times") or [])}
            self.results.emit(int(event.get("gen", 0)), list(event.get("ids") or []),
                              list(event.get("scores") or []), event.get("error") or "", info)
        elif kind == "download":
            self.download_progress.emit(int(event.get("done", 0)), int(event.get("total", 0)))
        elif kind == "scan":
            self.scanned.emit(event)
        elif kind == "memory":
            self.memory.emit(event.get("state", ""), event.get("spec", ""))
        elif kind == "error":
            self.failed.emit(event.get("message", "Indexing failed"), event.get("details", ""))
        elif kind == "stopped":
            self.busy = False
            self.stopped.emit()
