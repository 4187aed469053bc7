"""Clusters, names, tags and albums on the command line.

Contracts (scripted by other tools; keep them):
``clusters people|pets|places|scenes --json`` prints
``[{"id", "kind", "name", "auto_name", "named_by", "photos": [absolute paths], "size",
"suggestion"}]`` biggest first; ``name`` is the user's name (for places the automatic
"City, Country" until the user renames it; ``named_by`` says "user", "auto" or null);
``suggestion`` is ``{"name", "confidence"}`` for an unnamed pet, scene or place group the
model can name (:mod:`photoorg.core.suggest`), else null. Nothing is named until the user
runs ``name``.
``tags PATH --json`` prints a list of tag names; ``album list --json`` prints
``[{"name", "tags", "match", "query", "filters"}]``; ``album show NAME --json`` prints a
list of absolute paths.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from photoorg import config
from photoorg.cli import CliError, emit_json, open_catalog
from photoorg.core import clusters as cl
from photoorg.core.catalog import Catalog


def _text_encoder(cat: Catalog) -> Any:
    """The library's CLIP model (its text side finds pets); None for an empty library."""
    model = cat.active_model()
    if model is None:
        return None
    try:
        from photoorg.core.embedder import ModelUnavailableError, load_embedder
    except ImportError as exc:
        raise CliError(f"the CLIP model cannot be loaded here: {exc}") from exc
    try:
        return load_embedder(model.spec)
    except ModelUnavailableError as exc:
        raise CliError(str(exc)) from exc


def _paths(cat: Catalog, ids: Iterable[int]) -> list[str]:
    id_list = list(ids)
    paths = cat.paths_for_ids(id_list)
    return [str(paths[i]) for i in id_list if i in paths]


def _cluster_json(cat: Catalog, info: cl.ClusterInfo,
                  suggestions: dict[int, Any] | None = None) -> dict[str, Any]:
    found = (suggestions or {}).get(info.id)
    return {
        "id": info.id,
        "kind": info.kind,
        "name": info.display_name,
        "auto_name": info.auto_name,
        "named_by": info.named_by,
        "photos": _paths(cat, info.photo_ids),
        "size": info.size,
        "suggestion": None if found is None else found.as_json(),
    }


def _suggestions(cat: Catalog, infos: list[cl.ClusterInfo], encoder: Any) -> dict[int, Any]:
    """Suggested names of the unnamed groups (the prompt vectors are made once per model;
    without the model, none)."""
    from photoorg.core import suggest

    if not any(i.kind in suggest.BUILTIN and i.name is None for i in infos):
        return {}
    if not suggest.is_prepared(cat):
        try:
            encoder = encoder or _text_encoder(cat)
        except CliError as exc:
            print(f"no name suggestions: {exc}", file=sys.stderr)
            return {}
        if encoder is None:
            return {}
        print("preparing name suggestions for this model (once)...", file=sys.stderr)
        suggest.prepare(cat, encoder)
    return suggest.suggest_names(cat, infos)


def _sync_sidecars(args: argparse.Namespace, cat: Catalog, photo_ids: Iterable[int]) -> None:
    """Portable tags (opt-in): rewrite the sidecars of photos whose tags changed."""
    if not config.Settings.load(config.data_dir(args.data_dir)).write_sidecars:
        return
    from photoorg.core.sidecar import sync_sidecars

    sync_sidecars(cat, photo_ids)


def cmd_clusters(args: argparse.Namespace) -> int:
    with open_catalog(args) as cat:
        encoder = None
        if not args.no_refresh:
            encoder = _text_encoder(cat) if args.kind == "pets" else None
            if args.kind != "pets" or encoder is not None:
                cl.refresh_clusters(cat, args.kind, encode_texts=encoder)
        infos = cl.list_clusters(cat, args.kind, include_hidden=args.hidden)
        suggestions = _suggestions(cat, infos, encoder)
        if args.json:
            emit_json([_cluster_json(cat, info, suggestions) for info in infos])
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
            for path in _paths(cat, info.photo_ids[: args.show]):
                print(f"         {path}")
    return 0


def cmd_name(args: argparse.Namespace) -> int:
    with open_catalog(args) as cat:
        try:
            info = cl.name_cluster(cat, args.id, args.name)
        except cl.ClusterError as exc:
            raise CliError(str(exc)) from exc
        _sync_sidecars(args, cat, info.photo_ids)
        if info.name is None:
            print(f"cluster {info.id} is unnamed now")
            return 0
        print(f"cluster {info.id} named {info.name!r}: {info.size} photos tagged {info.tag}")
        twins = [c for c in cl.clusters_named(cat, info.kind, info.name) if c != info.id]
        if twins:
            print(
                f"another {info.kind} cluster has this name ({', '.join(map(str, twins))}): "
                f"`photoorg merge {twins[0]} {info.id}` to make them one",
                file=sys.stderr,
            )
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    with open_catalog(args) as cat:
        try:
            info = cl.merge_clusters(cat, args.keep, args.other)
        except cl.ClusterError as exc:
            raise CliError(str(exc)) from exc
        _sync_sidecars(args, cat, info.photo_ids)
        name = info.display_name or "(unnamed)"
        print(f"merged {args.other} into {info.id} {name}: {info.size} photos")
    return 0


def cmd_hide(args: argparse.Namespace, hidden: bool = True) -> int:
    with open_catalog(args) as cat:
        try:
            cl.hide_cluster(cat, args.id, hidden=hidden)
        except cl.ClusterError as exc:
            raise CliError(str(exc)) from exc
        print(f"cluster {args.id} {'hidden' if hidden else 'shown again'}")
    return 0


def _photo_ids(cat: Catalog, raw_paths: Iterable[str]) -> list[int]:
    ids = []
    for raw in raw_paths:
        pid = cat.photo_id_for_path(Path(raw).expanduser().absolute())
        if pid is None:
            pid = cat.photo_id_for_path(Path(raw).expanduser().resolve())
        if pid is None:
            raise CliError(f"not in the library: {raw}")
        ids.append(pid)
    return ids


def cmd_tags(args: argparse.Namespace) -> int:
    with open_catalog(args) as cat:
        (pid,) = _photo_ids(cat, [args.path])
        tags = cl.tags_for_photo(cat, pid)
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
    with open_catalog(args) as cat:
        ids = _photo_ids(cat, args.paths)
        for name in args.add or []:
            try:
                n = cl.add_tag(cat, ids, name)
            except ValueError as exc:
                raise CliError(str(exc)) from exc
            print(f"tagged {n} photo(s) {cl.clean_name(name)!r}")
        for name in args.remove or []:
            n = cl.remove_tag(cat, ids, name)
            print(f"removed {name!r} from {n} photo(s)")
        _sync_sidecars(args, cat, ids)
    return 0


def _album_resolver() -> Callable[[Catalog, cl.Album], Any] | None:
    """Saved-search albums: "more like these" ones through the feedback module, the others
    through the search module's resolver, if it has one."""
    try:
        from photoorg.core import feedback, search
    except ImportError:
        return None
    return feedback.album_resolver(getattr(search, "resolve_album", None))


def _album_json(album: cl.Album) -> dict[str, Any]:
    return {
        "name": album.name,
        "tags": list(album.tags),
        "match": album.match,
        "query": album.query,
        "filters": album.filters,
    }


def cmd_album(args: argparse.Namespace) -> int:
    with open_catalog(args) as cat:
        if args.album_command == "create":
            try:
                album = cl.create_album(
                    cat, args.name, tags=args.tag or [], query=args.query,
                    match="any" if args.any else "all",
                )
            except cl.AlbumError as exc:
                raise CliError(str(exc)) from exc
            what = f"search {album.query!r}" if album.query else "tags " + (
                f" {album.match.upper()} ".join(album.tags))
            print(f"album {album.name!r} created ({what})")
        elif args.album_command == "list":
            albums = cl.list_albums(cat)
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
            try:
                ids = cl.album_photos(cat, args.name, resolver=_album_resolver())
            except cl.AlbumError as exc:
                raise CliError(str(exc)) from exc
            paths = _paths(cat, ids)
            if args.json:
                emit_json(paths)
            else:
                if not paths:
                    print("the album is empty", file=sys.stderr)
                for path in paths:
                    print(path)
        elif args.album_command == "delete":
            if not cl.delete_album(cat, args.name):
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
    a = albums.add_parser("delete", help="forget an album (photos untouched)")
    a.add_argument("name")
    p.set_defaults(func=cmd_album)
