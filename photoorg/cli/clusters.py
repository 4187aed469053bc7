"""Clusters, names, tags and albums on the command line.

Contracts (scripted by other tools; keep them):
``clusters people|pets|places|scenes --json`` prints
``[{"id", "kind", "name", "auto_name", "named_by", "photos": [absolute paths], "size",
"suggestion"}]`` biggest first (people add ``"times"``: ``{video path: second}``, where
each of their videos shows them); ``name`` is the user's name (for places the automatic
"City, Country" until the user renames it; ``named_by`` says "user", "auto" or null);
``suggestion`` is ``{"name", "confidence"}`` for an unnamed pet, scene or place group the
model can name (:mod:`photoorg.core.groups.suggest`), else null. Nothing is named until the user
runs ``name``.
``tags PATH --json`` prints a list of tag names; ``album list --json`` prints
``[{"name", "tags", "match", "query", "filters"}]``; ``album show NAME --json`` prints a
list of absolute paths.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from photoorg.cli import CliError, emit_json, open_library
from photoorg.core.app import api as cl
from photoorg.core.app.library import Library


def _cluster_json(lib: Library, info: cl.ClusterInfo,
                  suggestions: dict[int, Any] | None = None,
                  moments: dict[int, dict[int, float]] | None = None) -> dict[str, Any]:
    found = (suggestions or {}).get(info.id)
    extra: dict[str, Any] = {}
    if info.kind == "people":
        seen = (moments or {}).get(info.id, {})
        extra["times"] = {path: t for pid, t in seen.items() for path in lib.paths([pid])}
    return {
        "id": info.id,
        "kind": info.kind,
        "name": info.display_name,
        "auto_name": info.auto_name,
        "named_by": info.named_by,
        "photos": lib.paths(info.photo_ids),
        "size": info.size,
        "suggestion": None if found is None else found.as_json(),
        **extra,
    }


def cmd_clusters(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        # grouped again only if photos, faces or places changed since the last time
        infos = lib.clusters(args.kind, include_hidden=args.hidden, refresh=not args.no_refresh)
        suggestions = lib.name_suggestions(infos)
        if args.json:
            moments = lib.video_moments([i.id for i in infos]) if args.kind == "people" else {}
            emit_json([_cluster_json(lib, info, suggestions, moments) for info in infos])
            return 0
        if not infos:
            print(f"no {args.kind} clusters", file=sys.stderr)
        for info in infos:
            label = info.display_name or "(unnamed)"
            if info.named_by == "auto":
                label += " (automatic)"
            elif info.name is None and info.auto_name:
                label += f" (looks like: {info.auto_name})"
            if (found := suggestions.get(info.id)) is not None:
                label += (f"  suggested name: {found.name!r} ({found.confidence:.0%}; "
                          f"`photoorg name {info.id} {found.name!r}` to use it)")
            hidden = " [hidden]" if info.hidden else ""
            print(f"#{info.id:<5} {label}{hidden}  {info.size} photos")
            for path in lib.paths(info.photo_ids[: args.show]):
                print(f"         {path}")
    return 0


def cmd_name(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        info = lib.name_cluster(args.id, args.name)
        if info.name is None:
            print(f"cluster {info.id} is unnamed now")
            return 0
        print(f"cluster {info.id} named {info.name!r}: {info.size} photos tagged {info.tag}")
        twins = [c for c in lib.clusters_named(info.kind, info.name) if c != info.id]
        if twins:
            print(
                f"another {info.kind} cluster has this name ({', '.join(map(str, twins))}): "
                f"`photoorg merge {twins[0]} {info.id}` to make them one",
                file=sys.stderr,
            )
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        info = lib.merge_clusters(args.keep, [args.other])
        name = info.display_name or "(unnamed)"
        print(f"merged {args.other} into {info.id} {name}: {info.size} photos")
    return 0


def cmd_hide(args: argparse.Namespace, hidden: bool = True) -> int:
    with open_library(args) as lib:
        lib.hide_cluster(args.id, hidden=hidden)
        print(f"cluster {args.id} {'hidden' if hidden else 'shown again'}")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    """"Not this person" (place, scene) for photos: one undo step."""
    with open_library(args) as lib:
        lib.reject_photos(args.id, lib.photo_ids(args.paths))
        print(f"{len(args.paths)} photo(s) taken out of cluster {args.id} for good")
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    """"Yes, this is ...": re-clustering keeps these photos in the cluster."""
    with open_library(args) as lib:
        lib.confirm_photos(args.id, lib.photo_ids(args.paths))
        print(f"{len(args.paths)} photo(s) confirmed in cluster {args.id}")
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        (pid,) = lib.photo_ids([args.path])
        tags = lib.tags(pid)
    if args.json:
        emit_json(tags)
    elif not tags:
        print("no tags", file=sys.stderr)
    else:
        for tag in tags:
            print(tag)
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    if not args.add and not args.remove:
        raise CliError("say what to do: --add NAME and/or --remove NAME")
    with open_library(args) as lib:
        ids = lib.photo_ids(args.paths)
        for name in args.add or []:
            n = lib.add_tag(ids, name)
            print(f"tagged {n} photo(s) {cl.clean_name(name)!r}")
        for name in args.remove or []:
            n = lib.remove_tag(ids, name)
            print(f"removed {name!r} from {n} photo(s)")
    return 0


def _album_json(album: cl.Album) -> dict[str, Any]:
    return {
        "name": album.name,
        "tags": list(album.tags),
        "match": album.match,
        "query": album.query,
        "filters": album.filters,
    }


def cmd_album(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.album_command == "create":
            album = lib.create_album(args.name, tags=args.tag or [], query=args.query,
                                     match="any" if args.any else "all")
            what = f"search {album.query!r}" if album.query else "tags " + (
                f" {album.match.upper()} ".join(album.tags))
            print(f"album {album.name!r} created ({what})")
        elif args.album_command == "list":
            albums = lib.albums()
            if args.json:
                emit_json([_album_json(a) for a in albums])
            elif not albums:
                print("no albums", file=sys.stderr)
            for album in albums if not args.json else []:
                what = f"search: {album.query}" if album.query else "tags: " + ", ".join(
                    album.tags)
                if album.similar:
                    what = (f"more like {len(album.similar.get('positive') or [])} photos, "
                            f"less like {len(album.similar.get('negative') or [])}")
                print(f"{album.name}\t{what}")
        elif args.album_command == "show":
            paths = lib.paths(lib.album_photos(args.name))
            if args.json:
                emit_json(paths)
            else:
                if not paths:
                    print("the album is empty", file=sys.stderr)
                for path in paths:
                    print(path)
        elif args.album_command == "add":
            n = lib.add_to_album(args.name, lib.photo_ids(args.paths))
            print(f"added {n} photo(s) to the album {args.name!r}")
        elif args.album_command == "delete":
            if not lib.delete_album(args.name):
                raise CliError(f"no album named {args.name!r}")
            print(f"album {args.name!r} deleted (photos untouched)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("clusters", help="find and list people, pets, places or scenes")
    p.add_argument("kind", choices=cl.KINDS)
    p.add_argument("--json", action="store_true")
    p.add_argument("--hidden", action="store_true", help="list hidden clusters too")
    p.add_argument("--no-refresh", action="store_true", help="list without re-clustering")
    p.add_argument("--show", type=int, default=3, metavar="N",
                   help="photos shown per cluster (text output)")
    p.set_defaults(func=cmd_clusters)

    p = sub.add_parser("name", help="name a cluster (its photos get the tag)")
    p.add_argument("id", type=int)
    p.add_argument("name", help='the name; "" removes it')
    p.set_defaults(func=cmd_name)

    p = sub.add_parser("merge", help="merge the second cluster into the first")
    p.add_argument("keep", type=int, metavar="ID")
    p.add_argument("other", type=int, metavar="ID")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("hide", help="hide a cluster from the lists")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_hide)

    p = sub.add_parser("unhide", help="show a hidden cluster again")
    p.add_argument("id", type=int)
    p.set_defaults(func=lambda args: cmd_hide(args, hidden=False))

    p = sub.add_parser("reject", help="take photos out of a cluster for good "
                       "(not this person)")
    p.add_argument("id", type=int)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_reject)

    p = sub.add_parser("confirm", help="keep photos in a cluster when it is grouped again")
    p.add_argument("id", type=int)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_confirm)

    p = sub.add_parser("tags", help="a photo's tags")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tags)

    p = sub.add_parser("tag", help="add or remove a tag on photos")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--add", action="append", metavar="NAME", help="tag to add (repeatable)")
    p.add_argument("--remove", action="append", metavar="NAME", help="tag to remove")
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser("album", help="albums: saved tag sets or saved searches")
    albums = p.add_subparsers(dest="album_command", metavar="ACTION", required=True)
    a = albums.add_parser("create", help="save an album")
    a.add_argument("name")
    a.add_argument("--tag", action="append", metavar="TAG",
                   help="photos with this tag (repeatable: all of them)")
    a.add_argument("--any", action="store_true", help="photos with any of the tags")
    a.add_argument("--query", metavar="TEXT", help="a saved search instead")
    a = albums.add_parser("list", help="list albums")
    a.add_argument("--json", action="store_true")
    a = albums.add_parser("show", help="an album's photos")
    a.add_argument("name")
    a.add_argument("--json", action="store_true")
    a = albums.add_parser("add", help="put photos in an album made by hand (made when new)")
    a.add_argument("name")
    a.add_argument("paths", nargs="+", metavar="PATH")
    a = albums.add_parser("delete", help="forget an album (photos untouched)")
    a.add_argument("name")
    p.set_defaults(func=cmd_album)
