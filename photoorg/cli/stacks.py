"""``stacks``: RAW+JPEG pairs, Live Photos and bursts, each shown as one picture.

Contract: ``stacks --json`` prints ``[{"id", "kind", "state", "cover", "photos"}]``
(``kind``: ``raw_jpeg`` | ``live`` | ``burst``; ``state``: ``stacked`` | ``unstacked``;
``cover`` and ``photos``: absolute paths, the cover first). ``stacks unstack ID`` and
``stacks restack ID`` change one (``undo`` takes it back).
"""

from __future__ import annotations

import argparse
import sys

from photoorg.cli import CliError, emit_json, open_library
from photoorg.core.app.library import LibraryError


def cmd_stacks(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.stack_command in ("unstack", "restack"):
            try:
                getattr(lib, args.stack_command)(args.id)
            except LibraryError as exc:
                raise CliError(str(exc)) from exc
            print(f"stack {args.id} {args.stack_command}ed", file=sys.stderr)
            return 0
        found = lib.stacks()
    if args.json:
        emit_json([{"id": s.id, "kind": s.kind, "state": s.state, "cover": str(s.paths[0]),
                    "photos": [str(p) for p in s.paths]} for s in found])
        return 0
    if not found:
        print("no stacks", file=sys.stderr)
    for s in found:
        state = "" if s.state == "stacked" else " [unstacked]"
        print(f"#{s.id:<5} {s.kind:<8} {len(s.paths)} files  {s.paths[0]}{state}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stacks", help="RAW+JPEG pairs, Live Photos and bursts shown as one")
    p.add_argument("--json", action="store_true")
    actions = p.add_subparsers(dest="stack_command", metavar="ACTION")
    for verb, text in (("unstack", "show a stack's files one by one"),
                       ("restack", "stack them again")):
        a = actions.add_parser(verb, help=text)
        a.add_argument("id", type=int)
    p.set_defaults(func=cmd_stacks)
