"""The command-line face of photoorg: the same core the GUI uses, scriptable.

Output contracts (other tools script these; keep them): ``status --json`` prints one
object; ``search``/``similar`` ``--json`` print ``[{"path", "score"}]`` best first.
Human-readable progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import apsw

from photoorg import __version__, config
from photoorg.core.catalog import Catalog, CatalogError
from photoorg.core.indexer import IndexListener, Progress
from photoorg.core.library import Library, LibraryError

log = logging.getLogger("photoorg")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

CommandFn = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """An error to show the user as one clear line (exit code 1)."""


def open_catalog(args: argparse.Namespace) -> Catalog:
    data = config.data_dir(args.data_dir)
    return Catalog(config.catalog_path(data))


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
    from photoorg.core.models import Encoders

    encoders = Encoders(download=True, progress_for=download_progress)
    return Library(args.data_dir, encoders=encoders, **options)


def cmd_index(args: argparse.Namespace) -> int:
    from photoorg.core.embedder import ModelUnavailableError

    with open_library(args, model=args.model) as lib:
        try:
            lib.add_folders(args.paths)
        except LibraryError as exc:
            raise CliError(str(exc)) from exc
        lib.exclude(args.exclude or [])
        if args.read_text is not None:
            from photoorg.core import ocr

            ocr.set_enabled(lib.writer, args.read_text == "on")
        if args.model:  # asked for by name: it must be there (and becomes the target)
            try:
                lib.require_target_model()
            except ModelUnavailableError as exc:
                raise CliError(str(exc)) from exc
        report = lib.scan()
        print(
            f"scanned: {report.added} new, {report.changed} changed, {report.moved} moved, "
            f"{report.removed} removed, {len(report.offline_roots)} offline folders",
            file=sys.stderr,
        )
        for path, why in report.errors[:20]:
            print(f"  cannot read {path}: {why}", file=sys.stderr)
        ctx = lib.run_pipeline(listener=ConsoleProgress(quiet=args.quiet),
                               faces=not args.no_faces, batch_size=args.batch_size)
        summary = ctx.summary
        if summary.embedded:
            lib.save_search_cache()
        counts = lib.writer.status_counts()
        missing = lib.embedding_pending()
        spec = lib.models.target_spec(lib.writer)
        why = lib.encoders.failed.get(spec)
    print(
        f"indexed {summary.embedded} photos in {summary.seconds:.1f}s, "
        f"skipped {summary.skipped}; library: {counts['indexed']} indexed, "
        f"{counts['pending']} pending, {counts['skipped']} skipped, {counts['offline']} offline",
    )
    for reason, n in sorted(summary.skipped_reasons.items(), key=lambda kv: -kv[1]):
        print(f"  skipped {n}: {reason}")
    if missing and why is not None:
        # faces, places and people were found anyway; search waits for the model
        raise CliError(f"model {spec} is not available: {why}")
    return EXIT_OK


def _refresh_search_cache(cat: Catalog) -> None:
    """Write the search index's start-up file now, so the next search starts fast."""
    from photoorg.core.search import SearchIndex

    try:
        SearchIndex(cat).close(save=True)
    except Exception:  # an optimisation only: search rebuilds it when missing
        log.exception("could not write the search cache")


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


def cmd_status(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        result = lib.status()
        skipped = lib.skipped(limit=50) if args.verbose_skipped else []
    if args.json:
        if skipped:
            result["skipped_files"] = [
                {"path": str(p), "reason": r, "detail": d} for p, r, d in skipped
            ]
        emit_json(result)
        return EXIT_OK
    print(f"model:    {result['model'] or '(none yet)'}")
    if "searching_with" in result:
        print(f"searching with: {result['searching_with']} (switching models)")
    print(f"indexed:  {result['indexed']}")
    print(f"pending:  {result['pending']}")
    print(f"skipped:  {result['skipped']}")
    for reason, n in result["skipped_reasons"].items():
        print(f"  {n:6d}  {reason}")
    print(f"offline:  {result['offline']}")
    if result["missing"]:
        print(f"missing:  {result['missing']} (files gone, kept until they come back or "
              "`photoorg forget-missing`)")
    if result.get("not_searchable"):
        print(f"not searchable yet: {result['not_searchable']}")
    for folder in result["folders"]:
        state = "online" if folder["online"] else "OFFLINE"
        print(f"folder:   {folder['path']} ({state}, watch {folder['watch_mode']})")
    for item in result.get("missing_folders", []):
        print(f"missing folder: {item['path']} ({item['photos']} photos)")
    for item in result.get("unreadable_folders", []):
        print(f"unreadable folder: {item['path']}: {item['reason']}")
    for path, reason, detail in skipped:
        print(f"skipped:  {path}: {reason} {detail}")
    return EXIT_OK


def print_results(results: Sequence[tuple[Path, float]], as_json: bool) -> None:
    if as_json:
        emit_json([{"path": str(path), "score": round(float(score), 6)} for path, score in results])
        return
    if not results:
        print("no results", file=sys.stderr)
    for path, score in results:
        print(f"{score:.3f}  {path}")


def cmd_folders(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        try:
            if args.remove:
                gone = lib.remove_folder(args.remove)
                print(f"forgot {gone} (files on disk untouched)", file=sys.stderr)
            if args.relocate:
                lib.relocate_folder(*args.relocate)
        except LibraryError as exc:
            raise CliError(str(exc)) from exc
        cat = lib.writer
        for root in cat.roots():
            print(f"{root.path}\t{'online' if root.online else 'offline'}\t{root.watch_mode}")
            if not root.online:
                from photoorg.core.relocation import find_relocated_root

                moved_to = find_relocated_root(cat, root)  # a drive back under another letter
                if moved_to is not None:
                    print(f"{root.path} seems to be at {moved_to} now: photoorg folders "
                          f'--relocate "{root.path}" "{moved_to}"', file=sys.stderr)
        from photoorg.core.missing import missing_folders

        for gone in missing_folders(cat):
            print(f"{gone.path}\tmissing folder\t{gone.photos} photos")
    return EXIT_OK


# -- parser ----------------------------------------------------------------------------

CommandAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

_EXTRA_COMMANDS: list[str] = [
    "photoorg.cli_search",
    "photoorg.cli_clusters",
    "photoorg.cli_watch",
    "photoorg.cli_metadata",
    "photoorg.cli_safety",
    "photoorg.cli_events",
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

    p = sub.add_parser("index", help="add folders to the library and index them")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--model", metavar="SPEC", help="ARCH/PRETRAINED, ARCH/path/to/weights, "
                   "or ARCH/random (default: the library's model)")
    p.add_argument("--exclude", action="append", metavar="PATTERN",
                   help="glob of files/folders to leave out (repeatable; persisted)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--no-faces", action="store_true", help="skip face detection")
    p.add_argument("--read-text", choices=("on", "off"),
                   help="read the words in photos so search finds them (persisted; default on)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("status", help="library counts")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verbose-skipped", action="store_true", help="list skipped files")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("folders", help="list, forget or re-point library folders")
    p.add_argument("--remove", metavar="PATH", help="forget a folder (never deletes files)")
    p.add_argument("--relocate", nargs=2, metavar=("OLD", "NEW"),
                   help="the folder moved (drive letter, mount point): re-point it")
    p.set_defaults(func=cmd_folders)

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
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


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
        from photoorg.core.backup import check_catalog

        problem = check_catalog(config.catalog_path(config.data_dir(args.data_dir)))
        if problem is not None:  # a damaged file: say how to get the work back
            print(f"photoorg: the catalog is damaged ({problem}); `photoorg backup restore` "
                  "puts the newest backup back", file=sys.stderr)
        else:
            print(f"photoorg: catalog error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted; work so far is saved", file=sys.stderr)
        return 130


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
