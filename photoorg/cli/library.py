"""``index``, ``status`` and ``folders``: the library itself.

Contracts: ``index --json`` prints one object ``{"stages": {stage: {"photos" (clusters:
"kinds", names: "models"), "seconds"}}, "seconds", "peak_rss_mb", "indexed", "skipped",
...}`` (stages that had work, in the order they ran; ``seconds``: the whole command after
start-up); ``status --json`` prints one object ``{"indexed", "pending", "skipped",
"skipped_reasons", "offline", "model", ...}`` (``searching_with`` during a model switch,
``not_searchable``, ``folders``, ``unreadable_folders``, ``failures``: ``{stage: photos
whose last try failed}``; keys are only ever added).

``index`` exits 0 when every stage did its work, 1 on an error (the model missing, the
catalog unusable), 3 when it finished but some stage failed for some photo (listed on
stderr, one line per cause; those photos are tried again on the next run), 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time

from photoorg.cli import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    CliError,
    ConsoleProgress,
    emit_json,
    open_library,
)
from photoorg.core.app.api import peak_rss_mb
from photoorg.core.app.library import Cause, LibraryError

MAX_CAUSES = 10  # lines of problems printed by index (the rest: photoorg status)


def cmd_index(args: argparse.Namespace) -> int:
    from photoorg.core.app.api import ModelUnavailableError

    started = time.monotonic()
    with open_library(args, model=args.model) as lib:
        try:
            lib.add_folders(args.paths)
        except LibraryError as exc:
            raise CliError(str(exc)) from exc
        lib.exclude(args.exclude or [])
        if args.read_text is not None:
            lib.set_read_text(args.read_text == "on")
        if args.model:  # asked for by name: it must be there (and becomes the target)
            try:
                lib.require_target_model()
            except ModelUnavailableError as exc:
                raise CliError(str(exc)) from exc
        scan_start = time.monotonic()
        report = lib.scan()
        scan_s = time.monotonic() - scan_start
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
        problems, notes = ctx.run_failures(), ctx.notes
    if args.json:
        emit_json({
            "stages": {"scan": {"photos": report.added + report.changed + report.moved,
                                "seconds": round(scan_s, 3)}, **summary.stages},
            "seconds": round(time.monotonic() - started, 3),
            "peak_rss_mb": peak_rss_mb(),
            "indexed": summary.embedded, "skipped": summary.skipped,
            "skipped_reasons": summary.skipped_reasons, "faces_photos": summary.faces_photos,
            "text_photos": summary.text_photos, "notes": ctx.notes,
            "library": counts,
            "failures": [{"stage": c.stage, "reason": c.reason, "count": c.count,
                          "examples": c.examples} for c in problems],
        })
    out = sys.stderr if args.json else sys.stdout  # --json: stdout holds the JSON only
    print(
        f"indexed {summary.embedded} photos in {summary.seconds:.1f}s, "
        f"skipped {summary.skipped}; library: {counts['indexed']} indexed, "
        f"{counts['pending']} pending, {counts['skipped']} skipped, {counts['offline']} offline",
        file=out,
    )
    for reason, n in sorted(summary.skipped_reasons.items(), key=lambda kv: -kv[1]):
        print(f"  skipped {n}: {reason}", file=out)
    print_problems(problems, notes)
    if missing and why is not None:
        # faces, places and people were found anyway; search waits for the model
        raise CliError(f"model {spec} is not available: {why}")
    return EXIT_INCOMPLETE if problems else EXIT_OK


def print_problems(problems: list[Cause], notes: list[str]) -> None:
    """What could not be done in this run, one line per stage and cause (stderr)."""
    if not problems and not notes:
        return
    if problems:
        print("not done in this run (tried again on the next one):", file=sys.stderr)
    for cause in problems[:MAX_CAUSES]:
        print(f"  {cause.line()}", file=sys.stderr)
    if len(problems) > MAX_CAUSES:
        rest = sum(c.count for c in problems[MAX_CAUSES:])
        print(f"  ... and {rest} more (photoorg status)", file=sys.stderr)
    for note in notes:
        print(f"  note: {note}", file=sys.stderr)


def cmd_status(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        result = lib.status()
        skipped = lib.skipped(limit=50) if args.verbose_skipped else []
        problems = [] if args.json else lib.failures()
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
    if result.get("videos"):
        print(f"videos:   {result['videos']} (of the readable items)")
    if result["missing"]:
        print(f"missing:  {result['missing']} (files gone, kept until they come back or "
              "`photoorg forget-missing`)")
    for cause in problems:
        print(f"failed:   {cause.line()}")
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
                moved_to = lib.relocated_root(root)  # a drive back under another letter
                if moved_to is not None:
                    print(f"{root.path} seems to be at {moved_to} now: photoorg folders "
                          f'--relocate "{root.path}" "{moved_to}"', file=sys.stderr)
        for gone in lib.missing_photos()[1]:
            print(f"{gone.path}\tmissing folder\t{gone.photos} photos")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--json", action="store_true",
                   help='print {"stages": {name: {"photos", "seconds"}}, "seconds", '
                   '"peak_rss_mb", ...}: where the time went')
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

