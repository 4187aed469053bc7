"""``watch``: keep the library in step with its folders until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from photoorg.cli import (
    EXIT_FAILURE,
    EXIT_OK,
    CliError,
    ConsoleProgress,
    open_library,
)
from photoorg.core.app.api import (
    ModelUnavailableError,
    Progress,
    ScanReport,
    WatchListener,
    WatchStatus,
)
from photoorg.core.app.library import Library


class ConsoleWatchListener(WatchListener):
    """One line on stderr per change of state, per batch of catalog changes."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.progress = ConsoleProgress(quiet=quiet)
        self._last: tuple[Any, ...] | None = None

    def on_status(self, status: WatchStatus) -> None:
        key = (status.state, status.folders, status.error)
        if self.quiet or key == self._last:
            return
        self._last = key
        folders = ", ".join(
            f"{f.path} ({_mode_label(f.mode, f.online)}{': ' + f.note if f.note else ''})"
            for f in status.folders
        )
        if status.state in ("starting", "stopped"):
            folders = f"{len(status.folders)} folders"
        error = f"; error: {status.error}" if status.error else ""
        print(f"watch: {status.state}: {folders}{error}", file=sys.stderr, flush=True)

    def on_changes(self, report: ScanReport) -> None:
        if not self.quiet:
            print(
                f"watch: {report.added} new, {report.changed} changed, {report.moved} moved, "
                f"{report.removed} removed",
                file=sys.stderr,
                flush=True,
            )

    def on_models_released(self, idle_s: float) -> None:
        if not self.quiet:
            print(f"watch: models released after {idle_s:g}s idle; the next photo loads them "
                  "again", file=sys.stderr, flush=True)

    def on_progress(self, progress: Progress) -> None:
        self.progress.on_progress(progress)

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:
        self.progress.on_skipped(path, reason, detail)


def _mode_label(mode: str | None, online: bool) -> str:
    if mode:
        return mode
    return "not watched" if online else "OFFLINE"


def cmd_watch(args: argparse.Namespace) -> int:
    lib = open_library(args)
    try:
        return _watch(args, lib)
    finally:
        lib.close()


def _watch(args: argparse.Namespace, lib: Library) -> int:
    if not lib.writer.roots():
        raise CliError("no library folders yet: run `photoorg index FOLDER` first")
    force_polling = args.poll or lib.settings.watch_mode == "polling"

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    idle_release = lib.settings.idle_release_s if args.idle_release is None else args.idle_release
    try:  # say now, not in the middle of watching, that the model is missing
        watcher = lib.watcher(
            ConsoleWatchListener(quiet=args.quiet),
            embed=not args.no_embed,
            faces=not args.no_faces,
            batch_size=args.batch_size,
            idle_release_s=max(0.0, idle_release),
            check_model=not args.no_embed and bool(lib.embedding_pending()),
            settle_s=args.settle,
            poll_interval_s=args.poll_interval,
            offline_check_s=args.offline_check,
            force_polling=force_polling,
        )
    except ModelUnavailableError as exc:
        raise CliError(str(exc)) from exc
    started = time.monotonic()
    try:
        watcher.start()
        while not stop.is_set() and watcher.running:
            if args.once and watcher.wait_until_idle(timeout=0.5, quiet_s=args.settle):
                break
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
            if not args.once:
                stop.wait(0.5)
    finally:
        watcher.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    totals = watcher.totals
    if totals.embedded and not watcher.running:
        lib.save_search_cache()  # the next search starts fast
    summary = {
        "seconds": round(time.monotonic() - started, 2),
        "events": totals.events,
        "added": totals.added,
        "changed": totals.changed,
        "moved": totals.moved,
        "removed": totals.removed,
        "embedded": totals.embedded,
        "skipped": totals.skipped,
        "overflows": totals.overflows,
        "rescans": totals.rescans,
        "errors": totals.errors,
        "error": watcher.status.error,
    }
    if args.json:
        json.dump(summary, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(
            f"watched {summary['seconds']}s: {totals.added} new, {totals.changed} changed, "
            f"{totals.moved} moved, {totals.removed} removed, {totals.embedded} embedded",
            file=sys.stderr,
        )
    if watcher.running:  # did not stop in time
        return EXIT_FAILURE
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "watch",
        help="watch the library folders and index changes until interrupted",
        description="Watch every library folder; new, changed, moved and deleted photos are "
        "reconciled and indexed as they settle. Stops cleanly on Ctrl+C / SIGTERM.",
    )
    p.add_argument("--poll", action="store_true",
                   help="poll every folder instead of native change notifications")
    p.add_argument("--poll-interval", type=float, default=5.0, metavar="S",
                   help="seconds between polls of polled folders (default 5)")
    p.add_argument("--settle", type=float, default=1.5, metavar="S",
                   help="seconds a path must be quiet before it is reconciled (default 1.5)")
    p.add_argument("--offline-check", type=float, default=3.0, metavar="S",
                   help="seconds between checks for folders that went away or came back")
    p.add_argument("--once", action="store_true",
                   help="catch up (scan + index) and exit when everything is done")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--no-embed", action="store_true",
                   help="keep the catalog in step without embedding (no model loaded)")
    p.add_argument("--no-faces", action="store_true", help="skip face detection")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--idle-release", type=float, metavar="S",
                   help="let the models go after S idle seconds: indexing runs in a worker "
                   "process that exits, started again by the next photo (default: the "
                   "idle_release_s setting, 180; 0 keeps them loaded in this process)")
    p.add_argument("--json", action="store_true", help="print a summary object at exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_watch)
