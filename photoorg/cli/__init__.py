"""The command-line face of photoorg: the same core the GUI uses, scriptable.

Output contracts (other tools script these; keep them): ``status --json`` prints one
object; ``search``/``similar`` ``--json`` print ``[{"path", "score"}]`` best first.
Human-readable progress goes to stderr, results to stdout.

Exit status: 0 done; 1 an error (one line on stderr); 2 a usage error; 3 the command
finished but some work failed (``index``: listed on stderr, tried again on the next run);
130 interrupted (Ctrl+C); 141 stdout was closed by its reader (``| head``), quietly.

A package of thin commands: this module holds what they share (errors, JSON output,
progress, the parser and :func:`main`); each command module (``library``: index, status,
folders; ``search``; ``clusters``; ``watch``; and ``photoorg.cli_<topic>`` modules) parses
its options and calls :class:`photoorg.core.app.library.Library` -- none of them composes the
pipeline or chooses a model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import apsw

from photoorg import __version__, config
from photoorg.core.app.api import CatalogError, IndexListener, Progress
from photoorg.core.app.library import Library, LibraryError

log = logging.getLogger("photoorg")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3  # the command finished, but some work failed (listed on stderr)
EXIT_INTERRUPTED = 130  # Ctrl+C (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # the reader went away (``| head``): 128 + SIGPIPE, like Unix tools

CommandFn = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """An error to show the user as one clear line (exit code 1)."""


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


class ConsoleProgress(IndexListener):
    """A one-line progress bar on stderr (plain periodic lines when not a terminal)."""

    def __init__(self, stream: Any = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._phase = ""

    def on_progress(self, p: Progress) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        final = p.phase == "done" or (p.total and p.done >= p.total)
        if not final and p.phase == self._phase and now - self._last < (0.2 if self.tty else 5):
            return
        self._last, self._phase = now, p.phase
        line = format_progress(p)
        if self.tty:
            self.stream.write("\r\x1b[2K" + line + ("\n" if p.phase == "done" else ""))
        elif p.phase != "done":
            self.stream.write(line + "\n")
        self.stream.flush()

    def on_skipped(self, path: Path, reason: str, detail: str) -> None:
        log.info("skipped %s: %s", path, reason)


def format_progress(p: Progress) -> str:
    if p.phase == "done":
        return f"done: {p.done} photos"
    width = 30
    frac = p.done / p.total if p.total else 1.0
    bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
    eta = f" ETA {format_seconds(p.eta_s)}" if p.eta_s is not None else ""
    rate = f" {p.rate:.1f}/s" if p.rate else ""
    paused = " (paused)" if p.paused else ""
    return f"{p.phase:9} [{bar}] {p.done}/{p.total}{rate}{eta}{paused}"


def format_seconds(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


# -- commands --------------------------------------------------------------------------


def open_library(args: argparse.Namespace, **options: Any) -> Library:
    """The library of ``--data-dir`` (the core layer every command goes through)."""
    from photoorg.core.app.api import Encoders

    encoders = Encoders(download=True, progress_for=download_progress)
    return Library(args.data_dir, encoders=encoders, **options)


def download_progress(spec: str) -> Callable[[int, int | None], None]:
    state = {"last": 0.0}

    def report(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - state["last"] < 0.5 and done != total:
            return
        state["last"] = now
        size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        print(f"downloading {spec}: {size}", file=sys.stderr)

    return report


def print_results(results: Sequence[tuple[Path, float]], as_json: bool) -> None:
    if as_json:
        emit_json([{"path": str(path), "score": round(float(score), 6)} for path, score in results])
        return
    if not results:
        print("no results", file=sys.stderr)
    for path, score in results:
        print(f"{score:.3f}  {path}")


# -- parser ----------------------------------------------------------------------------

CommandAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# Command modules, in --help order: each has ``add_commands(sub)``. The package holds the
# library's own commands; other topics may live in ``photoorg.cli_<topic>`` modules.
_EXTRA_COMMANDS: list[str] = [
    "photoorg.cli.library",
    "photoorg.cli.search",
    "photoorg.cli.clusters",
    "photoorg.cli.faces",
    "photoorg.cli.watch",
    "photoorg.cli.metadata",
    "photoorg.cli.safety",
    "photoorg.cli.events",
    "photoorg.cli.stacks",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photoorg",
        description="Organize a photo library: CLIP search, find similar, named clusters.",
    )
    parser.add_argument("--version", action="version", version=f"photoorg {__version__}")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"library data folder (default: ${config.ENV_DATA_DIR} or the user data folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument(
        "--self-test", action="store_true", help="run the built-in self-test and exit"
    )
    window = parser.add_argument_group("the window (no COMMAND)")
    window.add_argument("--model", dest="window_model", metavar="SPEC",
                        help="search model to use (default: the library's)")
    window.add_argument("--no-watch", action="store_true",
                        help="index the folders once at start, without watching them")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    import importlib

    for module_name in _EXTRA_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.add_commands(sub)
    return parser


def setup_logging(verbose: bool) -> None:
    from photoorg.logsetup import RepeatFilter

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:  # repeats summarised, rate-limited
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.self_test:
        from photoorg.selftest import run_self_test

        return run_self_test()
    if args.command is None:
        return launch_gui(args)
    try:
        return int(args.func(args) or 0)
    except (CliError, LibraryError) as exc:
        print(f"photoorg: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (CatalogError, apsw.Error) as exc:
        from photoorg.core.app.api import check_catalog

        problem = check_catalog(config.catalog_path(config.data_dir(args.data_dir)))
        if problem is not None:  # a damaged file: say how to get the work back
            print(f"photoorg: the catalog is damaged ({problem}); `photoorg backup restore` "
                  "puts the newest backup back", file=sys.stderr)
        else:
            print(f"photoorg: catalog error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted; work so far is saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return closed_pipe()
    except OSError as exc:  # a full disk, a folder gone: one clear line, not a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"photoorg: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILURE


def closed_pipe() -> int:
    """The reader of stdout went away (``photoorg search ... | head``): stop quietly, as
    Unix tools do. What is still buffered goes nowhere, so exiting raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (embedded): nothing left to quiet
        pass
    return EXIT_BROKEN_PIPE


def launch_gui(args: argparse.Namespace) -> int:
    try:
        from photoorg.ui.app import run_app
    except ImportError as exc:
        print(f"photoorg: the desktop app is not available here ({exc}).\n"
              "Use a command instead; see `photoorg --help`.", file=sys.stderr)
        return EXIT_FAILURE
    argv = ["--model", args.window_model] if args.window_model else []
    if args.no_watch:
        argv.append("--no-watch")
    return run_app(data_dir=args.data_dir, argv=argv)
