"""``search``, ``similar`` and ``duplicates``: queries over the library's vectors.

``search`` and ``similar`` go through :mod:`photoorg.core.library_search` (word matches on
names, places, tags, file names and text read in photos first, then CLIP similarity down to
a relevance cut-off; ``--all`` lifts it), ``duplicates`` through
:class:`photoorg.core.search.SearchIndex` -- the same APIs the GUI uses.
``--json`` output: ``search`` / ``similar`` print ``[{"path", "score", "matched"}]`` best
first (``matched``: the kinds of what the words matched, e.g. ``["person", "place"]``; empty
for similarity-only results); ``duplicates`` prints a list of groups, each a list of
``{"path", "score"}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photoorg.cli import CliError, emit_json, open_library
from photoorg.core.catalog import Catalog
from photoorg.core.library_search import SearchPage
from photoorg.core.search import (
    DEFAULT_DUPLICATE_THRESHOLD,
    Filters,
    Query,
    QueryError,
    QueryPart,
    SearchResult,
    parse_query,
    to_timestamp,
)


def _filters(args: argparse.Namespace) -> Filters:
    try:
        for bound in (args.after, args.before):
            if bound is not None:
                to_timestamp(bound)
    except QueryError as exc:
        raise CliError(str(exc)) from exc
    return Filters(
        folder=Path(args.folder).expanduser().resolve() if args.folder else None,
        after=args.after,
        before=args.before,
        exts=tuple(args.type or ()),
        tags=tuple(args.tag or ()),
        has_text=bool(getattr(args, "has_text", False)),
        min_rating=_rating(args),
    )


def _rating(args: argparse.Namespace) -> int | None:
    rating = getattr(args, "rating", None)
    if rating is not None and not -1 <= rating <= 5:
        raise CliError("--rating takes -1..5 stars")
    return rating


def _extra_parts(args: argparse.Namespace) -> Query:
    """``--and`` / ``--not`` phrases (each may itself use ``+`` / ``-`` / ``2:``)."""
    query = Query(())
    try:
        for text in args.and_ or ():
            query = query + parse_query(text)
        for text in args.not_ or ():
            negated = parse_query(text).parts
            query = query + Query(tuple(QueryPart(p.kind, p.value, -p.weight) for p in negated))
    except QueryError as exc:
        raise CliError(str(exc)) from exc
    return query


def _show(page: SearchPage, as_json: bool, show_all: bool) -> None:
    if as_json:
        emit_json([{"path": str(h.path), "score": round(float(h.score), 6),
                    "matched": list(h.matched)} for h in page.hits])
        return
    if not page.hits:
        print("no results", file=sys.stderr)
    for hit in page.hits:
        why = f"  [{', '.join(hit.matched)}]" if hit.matched else ""
        print(f"{hit.score:.3f}  {hit.path}{why}")
    more = "" if show_all or not page.weaker_hidden else " (--all shows weaker matches)"
    print(f"{page.total} results{more}", file=sys.stderr)


def cmd_search(args: argparse.Namespace) -> int:
    try:
        query = parse_query(args.text) + _extra_parts(args)
    except QueryError as exc:
        raise CliError(str(exc)) from exc
    with open_library(args) as lib:
        filters = _filters(args)  # bad options fail before the model loads
        try:
            outcome = lib.search(query, filters=filters, k=args.k, offset=args.offset,
                                 min_score=args.min_score, show_all=args.all)
        except QueryError as exc:
            raise CliError(str(exc)) from exc
        if outcome.note:
            print(outcome.note, file=sys.stderr)
        if outcome.not_searchable:
            print(f"note: {outcome.not_searchable} photos are not searchable by looks yet "
                  "(offline without a vector of this model, or waiting to be embedded)",
                  file=sys.stderr)
        _show(outcome.page, args.json, args.all)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser().absolute()
    extra = _extra_parts(args)
    with open_library(args) as lib:
        cat = lib.reader()
        model = cat.active_model()
        if model is None:
            raise CliError("the library is empty: run `photoorg index FOLDER` first")
        pid = cat.photo_id_for_path(path)
        # its stored vector answers, even from an offline drive
        in_library = pid is not None and cat.vector(pid, model.id) is not None
        if not in_library and not path.is_file():
            raise CliError(f"not a file: {path}")
        filters = _filters(args)
        try:
            if in_library:
                page = lib.similar([pid], k=args.k, offset=args.offset, include_self=True,
                                   show_all=args.all, filters=filters, extra=extra)
            else:
                query = Query((QueryPart("image", path),)) + extra
                page = lib.search(query, filters=filters, k=args.k, offset=args.offset,
                                  min_score=args.min_score, show_all=args.all).page
        except QueryError as exc:
            raise CliError(str(exc)) from exc
        _show(page, args.json, args.all)
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    if not 0.0 < args.threshold <= 1.0:
        raise CliError("--threshold must be in (0, 1]")
    with open_library(args) as lib:
        groups = lib.duplicates(args.threshold, filters=_filters(args))
        keep = _keepers(lib.reader(), groups)
    if args.json:  # "keep" / "why": the suggestion (extra keys; the shape is unchanged)
        emit_json([[{"path": str(h.path), "score": round(h.score, 6),
                     "keep": h.photo_id in keep, **({"why": keep[h.photo_id]}
                                                    if h.photo_id in keep else {})}
                    for h in g] for g in groups])
        return 0
    if not groups:
        print("no duplicates", file=sys.stderr)
    for number, group in enumerate(groups, 1):
        print(f"group {number} ({len(group)} photos)")
        for hit in group:
            mark = f"  keep: {keep[hit.photo_id]}" if hit.photo_id in keep else ""
            print(f"  {hit.score:.3f}  {hit.path}{mark}")
    return 0


def _keepers(cat: Catalog, groups: list[list[SearchResult]]) -> dict[int, str]:
    """The photo to keep in each group (photo id -> why), as the window suggests it."""
    from photoorg.core.duplicates import groups_from

    reviewed = groups_from(cat, [[(h.photo_id, h.score) for h in g] for g in groups],
                           skip_dismissed=False)
    return {g.keep: g.why for g in reviewed}


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", metavar="DIR", help="only photos in this folder (and below)")
    p.add_argument("--after", metavar="YYYY-MM-DD", help="taken on or after this day (UTC)")
    p.add_argument("--before", metavar="YYYY-MM-DD", help="taken before this day (UTC)")
    p.add_argument("--type", action="append", metavar="EXT",
                   help="file type, e.g. jpg (repeatable: any of them)")
    p.add_argument("--tag", action="append", metavar="TAG",
                   help="only photos with this tag (repeatable: all of them)")
    p.add_argument("--has-text", action="store_true",
                   help="only photos with text read in them (signs, documents, ...)")
    p.add_argument("--rating", type=int, metavar="N",
                   help="only photos rated N stars or more (ratings other tools wrote too)")


def _add_query_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=20, help="number of results")
    p.add_argument("--offset", type=int, default=0, help="skip this many results (paging)")
    p.add_argument("--min-score", type=float, metavar="S", help="drop results scoring below S")
    p.add_argument("--all", action="store_true",
                   help="show weaker matches too (no relevance cut-off)")
    p.add_argument("--and", dest="and_", action="append", metavar="TEXT",
                   help="also match this (repeatable)")
    p.add_argument("--not", dest="not_", action="append", metavar="TEXT",
                   help="steer away from this (repeatable)")
    _add_filter_options(p)
    p.add_argument("--json", action="store_true")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="find photos matching a text",
        description='Find photos matching a text. Combine parts rclip-style: '
        '"beach + sunset - people", weights "2:cat + dog", image files as parts.',
    )
    p.add_argument("text")
    _add_query_options(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("similar", help="find photos similar to a photo (library or any file)")
    p.add_argument("path")
    _add_query_options(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("duplicates", help="groups of near-identical photos")
    p.add_argument("--threshold", type=float, default=DEFAULT_DUPLICATE_THRESHOLD,
                   help=f"cosine similarity (default {DEFAULT_DUPLICATE_THRESHOLD})")
    _add_filter_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)
