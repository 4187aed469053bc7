"""``events``: the library split into outings and trips, as albums to keep or dismiss.

Contract: ``events --json`` prints ``[{"id", "title", "start", "end", "photos"}]``, newest
first: the suggestions (not yet kept or dismissed); ``start``/``end`` are local ISO times
(with the UTC offset when the photos recorded one); ``photos`` are absolute paths by date.
``--all`` lists kept and dismissed events too, each with a ``"state"``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from photoorg.cli import emit_json, open_library
from photoorg.core.app import api as ev
from photoorg.core.app.library import Library


def _event_json(lib: Library, event: ev.Event, with_state: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": event.id,
        "title": event.title,
        "start": event.start_iso(),
        "end": event.end_iso(),
        "photos": lib.paths(event.photo_ids),
    }
    if with_state:
        out["state"] = event.state
    return out


def cmd_events(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.event_command == "keep":
            lib.events(min_photos=args.min_photos)  # ids as the user last saw them
            album = lib.keep_event(args.id, name=args.name)
            print(f"event {args.id} kept as album {album.name!r} "
                  f"(its photos are tagged {album.tags[0]})")
            return 0
        if args.event_command == "dismiss":
            lib.dismiss_event(args.id)
            print(f"event {args.id} dismissed (it will not be suggested again)")
            return 0
        events = lib.events(include_all=args.all, min_photos=args.min_photos)
        undated = lib.undated_photos()
        if args.json:
            emit_json([_event_json(lib, e, args.all) for e in events])
            return 0
        if not events:
            print("no events to suggest", file=sys.stderr)
        for event in events:
            state = "" if event.state == ev.STATE_SUGGESTED else f" [{event.state}]"
            print(f"#{event.id:<5} {event.title}{state}  {event.size} photos")
        if undated:
            print(f"{undated} photos have no capture date and are in no event", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("events", help="outings and trips found by date and place, as albums "
                       "to keep or dismiss")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="also kept and dismissed events")
    p.add_argument("--min-photos", type=int, default=ev.MIN_PHOTOS, metavar="N",
                   help=f"smallest event suggested (default {ev.MIN_PHOTOS})")
    actions = p.add_subparsers(dest="event_command", metavar="ACTION")
    a = actions.add_parser("keep", help="keep an event as an album")
    a.add_argument("id", type=int)
    a.add_argument("--name", help="album name (default: the event's title)")
    a = actions.add_parser("dismiss", help="never suggest this event again")
    a.add_argument("id", type=int)
    p.set_defaults(func=cmd_events)
