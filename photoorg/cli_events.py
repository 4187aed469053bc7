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

from photoorg.cli import CliError, emit_json, open_catalog
from photoorg.core import events as ev
from photoorg.core.catalog import Catalog


def _event_json(cat: Catalog, event: ev.Event, with_state: bool) -> dict[str, Any]:
    paths = cat.paths_for_ids(event.photo_ids)
    out: dict[str, Any] = {
        "id": event.id,
        "title": event.title,
        "start": event.start_iso(),
        "end": event.end_iso(),
        "photos": [str(paths[p]) for p in event.photo_ids if p in paths],
    }
    if with_state:
        out["state"] = event.state
    return out


def cmd_events(args: argparse.Namespace) -> int:
    with open_catalog(args) as cat:
        try:
            if args.event_command == "keep":
                ev.refresh_events(cat, min_photos=args.min_photos)
                album = ev.keep_event(cat, args.id, name=args.name)
                print(f"event {args.id} kept as album {album.name!r} "
                      f"(its photos are tagged {album.tags[0]})")
                return 0
            if args.event_command == "dismiss":
                ev.dismiss_event(cat, args.id)
                print(f"event {args.id} dismissed (it will not be suggested again)")
                return 0
        except ev.EventError as exc:
            raise CliError(str(exc)) from exc
        events = ev.list_events(ev.refresh_events(cat, min_photos=args.min_photos),
                                include_all=args.all)
        undated = int(cat.scalar(
            "SELECT COUNT(*) FROM photos WHERE taken_at IS NULL AND status = 'indexed'"))
        if args.json:
            emit_json([_event_json(cat, e, args.all) for e in events])
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
