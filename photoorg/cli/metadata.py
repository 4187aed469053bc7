"""``meta``: a photo's rating, colour label, title and caption (imported or set here).

``photoorg meta PATH --json`` prints ``{"path", "rating", "label", "title", "caption",
"sources": {field: "imported" | "user"}, "problems": [reasons]}``. Giving ``--rating``,
``--label``, ``--title`` or ``--caption`` sets them on every PATH (the user's value wins
over what other tools wrote from then on; "" clears) and, when sidecar writing is on,
rewrites the photos' sidecars. ``photoorg meta PATH --reread`` reads the files' metadata
again now.
"""

from __future__ import annotations

import argparse
import sys

from photoorg.cli import emit_json, open_library
from photoorg.core.app import api as mi


def cmd_meta(args: argparse.Namespace) -> int:
    changes = {name: getattr(args, name) for name in mi.FIELDS
               if getattr(args, name) is not None}
    with open_library(args) as lib:
        ids = lib.photo_ids(args.paths)
        if args.reread:
            lib.reread_metadata(ids)
        for name, value in changes.items():
            lib.set_photo_meta(ids, name, value)
        metas = lib.photo_metas(ids)
        rows = [
            {
                "path": path,
                "rating": metas[pid].rating,
                "label": metas[pid].label,
                "title": metas[pid].title,
                "caption": metas[pid].caption,
                "sources": dict(metas[pid].sources),
                "problems": lib.metadata_problems(pid),
            }
            for pid, path in zip(ids, lib.paths(ids), strict=True)
        ]
    if args.json:
        emit_json(rows[0] if len(rows) == 1 else rows)
        return 0
    for row in rows:
        print(row["path"])
        for name in mi.FIELDS:
            if row[name] is not None:
                who = row["sources"].get(name)
                print(f"  {name}: {row[name]}" + (" (imported)" if who == mi.SOURCE_IMPORTED
                                                   else ""))
        for problem in row["problems"]:
            print(f"  could not read: {problem}", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("meta", help="a photo's rating, label, title and caption (show or set)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--rating", metavar="N", help="set the rating: -1 (rejected) .. 5 stars")
    p.add_argument("--label", metavar="TEXT", help="set the colour label (e.g. Red)")
    p.add_argument("--title", metavar="TEXT", help="set the title")
    p.add_argument("--caption", metavar="TEXT", help="set the caption")
    p.add_argument("--reread", action="store_true",
                   help="read the files' metadata (and sidecars) again first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_meta)
