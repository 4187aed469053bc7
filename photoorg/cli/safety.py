"""Commands that keep the user's work safe: forget-missing, undo, backup, export, import."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys

from photoorg.cli import EXIT_OK, CliError, emit_json, open_library


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise CliError(f"{question} Run again with --yes to confirm.")
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def cmd_forget_missing(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        count, folders = lib.missing_photos()
        if args.json and not args.yes:
            emit_json({"missing": count, "missing_folders": [
                {"path": str(f.path), "photos": f.photos} for f in folders]})
            return EXIT_OK
        if not count:
            print("no missing photos", file=sys.stderr)
            return EXIT_OK
        for folder in folders:
            print(f"missing folder: {folder.path} ({folder.photos} photos)", file=sys.stderr)
        question = (f"Forget {count} missing photo(s) for good, with their tags, names and "
                    "faces?")
        if not _confirm(question, args.yes):
            print("nothing forgotten", file=sys.stderr)
            return EXIT_OK
        gone = lib.forget_missing()
    if args.json:
        emit_json({"forgotten": gone})
    else:
        print(f"forgot {gone} missing photo(s)")
    return EXIT_OK


def cmd_undo(args: argparse.Namespace) -> int:
    from photoorg.core.app.library import LibraryError

    with open_library(args) as lib:
        if args.list:
            entries = lib.history(limit=args.steps or 20, include_undone=True)
            if args.json:
                emit_json([{"step": e.batch, "at": e.at, "action": e.action,
                            "summary": e.summary, "undone": e.undone} for e in entries])
                return EXIT_OK
            for e in entries:
                when = _dt.datetime.fromtimestamp(e.at).strftime("%Y-%m-%d %H:%M")
                print(f"{e.batch:6d}  {when}  {e.summary}{'  (undone)' if e.undone else ''}")
            return EXIT_OK
        try:
            done = lib.undo(args.steps or 1)
        except LibraryError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        emit_json([{"step": e.batch, "action": e.action, "summary": e.summary} for e in done])
        return EXIT_OK
    if not done:
        print("nothing to undo", file=sys.stderr)
    for e in done:
        print(f"undone: {e.summary}")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from photoorg import config
    from photoorg.core.app import api as backup

    data = config.data_dir(args.data_dir)
    catalog = config.catalog_path(data)
    if args.action == "now":
        made = backup.make_backup(catalog, data)
        backup.prune(data)
        print(f"backed up to {made.path}")
        return EXIT_OK
    if args.action == "restore":
        found = backup.list_backups(data)
        if args.name:
            found = [b for b in found if args.name in (b.path.name, b.path.stem, str(b.path))]
        if not found:
            raise CliError("no such backup (see `photoorg backup list`)")
        chosen = found[0]
        question = (f"Replace the catalog with the backup of {chosen.label}? Changes made "
                    "since then are lost (the current file is kept beside it).")
        if not _confirm(question, args.yes):
            print("nothing restored", file=sys.stderr)
            return EXIT_OK
        try:
            kept = backup.restore(catalog, chosen.path)
        except backup.BackupError as exc:
            raise CliError(str(exc)) from exc
        print(f"restored the backup of {chosen.label}"
              + (f"; the replaced catalog is kept as {kept}" if kept else ""))
        return EXIT_OK
    items = backup.list_backups(data)
    if args.json:
        emit_json([{"path": str(b.path), "at": b.at, "size": b.size} for b in items])
        return EXIT_OK
    if not items:
        print("no backups yet", file=sys.stderr)
    for b in items:
        print(f"{b.label}\t{b.size / 1e6:.1f} MB\t{b.path.name}")
    problem = backup.check_catalog(catalog)
    if problem:
        print(f"the catalog is damaged: {problem}; `photoorg backup restore` puts the newest "
              "backup back", file=sys.stderr)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    import json

    with open_library(args) as lib:
        doc = lib.export_decisions()
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote the decisions of {len(doc['photos'])} photos to {args.output}",
              file=sys.stderr)
    else:
        sys.stdout.write(text + "\n")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from photoorg.core.app.library import LibraryError

    try:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from exc
    with open_library(args) as lib:
        try:
            report = lib.import_decisions(doc)
        except LibraryError as exc:
            raise CliError(str(exc)) from exc
    result = {"photos": report.photos, "not_found": report.not_found, "tags": report.tags,
              "faces": report.faces, "faces_not_found": len(report.faces_not_found),
              "groups": report.groups, "albums": report.albums}
    if args.json:
        emit_json(result)
        return EXIT_OK
    print(f"imported the decisions of {report.photos} photos: {report.tags} tags, "
          f"{report.faces} faces, {report.groups} groups, {report.albums} albums")
    if report.not_found:
        print(f"{len(report.not_found)} photos of the file are not in this library "
              "(index them first)", file=sys.stderr)
    if report.faces_not_found:
        print(f"{len(report.faces_not_found)} faces were not found here: run the face pass "
              "(index) first, then import again", file=sys.stderr)
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forget-missing",
        help="forget photos whose files are gone (kept until then, see `status`)",
        description="Photos whose files disappeared keep their tags, names, faces and vectors "
        "for a grace period (settings: missing_grace_days, default 90), so a file that comes "
        "back anywhere in the library takes them back. This forgets them now.",
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true",
                   help="print counts as JSON (without --yes: only report)")
    p.set_defaults(func=cmd_forget_missing)

    p = sub.add_parser("undo", help="undo the last decisions (names, merges, tags, ...)")
    p.add_argument("steps", nargs="?", type=int, metavar="N", help="how many (default 1)")
    p.add_argument("--list", action="store_true", help="show the history instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser(
        "backup", help="list, make or restore catalog backups",
        description="The catalog is backed up once a day (the newest seven are kept) in "
        "<data>/backups. `restore` puts the newest (or the NAME given) back.")
    p.add_argument("action", nargs="?", choices=("list", "now", "restore"), default="list")
    p.add_argument("name", nargs="?", help="which backup to restore (file name)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "export", help="write every decision (tags, names, faces, groups, albums) as JSON",
        description="Everything the user decided, keyed by content hash and relative path, "
        "so it can be read into another library with `photoorg import`.")
    p.add_argument("--json", action="store_true", help="JSON (the only format; the default)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import", help="read an `export --json` file into this library",
        description="Index the same photos first (with faces); then each photo is found by "
        "content hash, each face by its box. One undo step.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)
