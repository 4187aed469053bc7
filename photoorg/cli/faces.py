"""Faces no person holds, on the command line.

``faces --unnamed --json`` prints ``[{"size", "faces": [{"id", "photo", "box"}]}]``:
groups of look-alike unnamed faces, largest first (``photo``: absolute path; ``box``:
``[x, y, w, h]`` as a fraction of the displayed photo). ``face-name FACE_ID... NAME`` says
who they are (an existing person or a new one); ``not-a-face FACE_ID...`` drops
detections that are no face; ``draw-face PATH --box X,Y,W,H NAME`` adds a face the
detector missed. Each is one undo step (``photoorg undo``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from photoorg.cli import CliError, emit_json, open_library


def cmd_faces(args: argparse.Namespace) -> int:
    if not args.unnamed:
        raise CliError("faces lists the faces no person holds: use `photoorg faces --unnamed`")
    with open_library(args) as lib:
        groups = lib.unnamed_faces()
        paths = dict(zip(
            (ids := sorted({f.photo_id for g in groups for f in g.faces})),
            lib.paths(ids), strict=True))
        if args.json:
            emit_json([{"size": len(g.faces),
                        "faces": [{"id": f.id, "photo": paths[f.photo_id],
                                   "box": [round(v, 4) for v in f.box]} for f in g.faces]}
                       for g in groups])
            return 0
        if not groups:
            print("every face belongs to a person", file=sys.stderr)
        for n, group in enumerate(groups, 1):
            print(f"group {n}: {len(group.faces)} face(s)")
            for face in group.faces:
                print(f"  face {face.id:<6} {paths[face.photo_id]}")
    return 0


def cmd_face_name(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        info = lib.name_faces(args.face_ids, args.name)
        print(f"{len(args.face_ids)} face(s) named {info.name!r} (person {info.id}: "
              f"{info.size} photos)")
    return 0


def cmd_not_a_face(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        n = lib.not_faces(args.face_ids)
        print(f"{n} detection(s) marked as not a face")
    return 0


def cmd_draw_face(args: argparse.Namespace) -> int:
    try:
        box = [float(v) for v in args.box.split(",")]
    except ValueError:
        box = []
    if len(box) != 4:
        raise CliError("--box is X,Y,W,H: fractions of the photo, e.g. 0.4,0.2,0.2,0.3")
    with open_library(args) as lib:
        (pid,) = lib.photo_ids([args.path])
        info = lib.draw_face(pid, box, args.name)
        print(f"a face of {info.name!r} drawn on {args.path} (person {info.id}: "
              f"{info.size} photos)")
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("faces", help="faces no person holds, look-alikes grouped")
    p.add_argument("--unnamed", action="store_true", help="faces no person holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_faces)

    p = sub.add_parser("face-name", help="say who these faces are (a person, maybe new)")
    p.add_argument("face_ids", type=int, nargs="+", metavar="FACE_ID")
    p.add_argument("name")
    p.set_defaults(func=cmd_face_name)

    p = sub.add_parser("draw-face", help="add a face the detector missed, and name it")
    p.add_argument("path")
    p.add_argument("--box", required=True, metavar="X,Y,W,H",
                   help="fractions of the displayed photo")
    p.add_argument("name")
    p.set_defaults(func=cmd_draw_face)

    p = sub.add_parser("not-a-face", help="these detections are not faces")
    p.add_argument("face_ids", type=int, nargs="+", metavar="FACE_ID")
    p.set_defaults(func=cmd_not_a_face)
