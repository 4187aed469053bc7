"""``search``, ``similar`` and ``duplicates``: queries over the library's vectors.

``search`` and ``similar`` go through :mod:`photoorg.core.search.library_search` (word matches on
names, places, tags, file names and text read in photos first, then CLIP similarity down to
a relevance cut-off; ``--all`` lifts it), ``duplicates`` through
:class:`photoorg.core.search.engine.SearchIndex` -- the same APIs the GUI uses.
``--json`` output: ``search`` / ``similar`` print ``[{"path", "score", "matched"}]`` best
first (``matched``: the kinds of what the words matched, e.g. ``["person", "place"]``; empty
for similarity-only results; a video's result adds ``"time"``, the second of the moment that
matched; ``similar VIDEO --time SECONDS`` looks like that video's frame at that second);
``duplicates`` prints a list of groups, each a list of
``{"path", "score", "keep"}`` (plus ``"why"`` on the photo to keep): the keeper first, score
1.0, the others with their cosine to it -- each at least ``--threshold`` (groups form around
keepers, they never chain); pairs marked "Not duplicates" in the window are left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photoorg.cli import CliError, emit_json, open_library
from photoorg.core.app.api import (
    DEFAULT_DUPLICATE_THRESHOLD,
    Filters,
    Query,
    QueryError,
    QueryPart,
    SearchPage,
    parse_query,
    to_timestamp,
)
from photoorg.core.app.library import Library, LibraryError


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


def _search_page(lib: Library, args: argparse.Namespace, query: Query,
                 exclude: tuple[int, ...] = ()) -> SearchPage:
    filters = _filters(args)  # bad options fail before the model loads
    try:
        outcome = lib.search(query, filters=filters, k=args.k, offset=args.offset,
                             min_score=args.min_score, exclude=exclude, show_all=args.all)
    except QueryError as exc:
        raise CliError(str(exc)) from exc
    if outcome.note:
        print(outcome.note, file=sys.stderr)
    if outcome.not_searchable:
        print(f"note: {outcome.not_searchable} photos are not searchable by looks yet "
              "(offline without a vector of this model, or waiting to be embedded)",
              file=sys.stderr)
    return outcome.page


def _show(page: SearchPage, as_json: bool, show_all: bool) -> None:
    if as_json:
        emit_json([{"path": str(h.path), "score": round(float(h.score), 6),
                    "matched": list(h.matched),
                    # a video: the second of the moment that matched (an added key)
                    **({"time": round(h.time, 3)} if h.time is not None else {})}
                   for h in page.hits])
        return
    if not page.hits:
        print("no results", file=sys.stderr)
    for hit in page.hits:
        why = f"  [{', '.join(hit.matched)}]" if hit.matched else ""
        at = f"  at {hit.time:.1f} s" if hit.time is not None else ""
        print(f"{hit.score:.3f}  {hit.path}{at}{why}")
    more = "" if show_all or not page.weaker_hidden else " (--all shows weaker matches)"
    print(f"{page.total} results{more}", file=sys.stderr)


def cmd_search(args: argparse.Namespace) -> int:
    try:
        query = parse_query(args.text) + _extra_parts(args)
    except QueryError as exc:
        raise CliError(str(exc)) from exc
    with open_library(args) as lib:
        _show(_search_page(lib, args, query), args.json, args.all)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from photoorg.core.app.api import Feedback

    if args.time is not None:
        return _similar_moment(args)
    with open_library(args) as lib:
        # --not PHOTO: less like that photo (Rocchio); --not TEXT: steer away from a phrase
        not_photos = [t for t in args.not_ or () if Path(t).expanduser().is_file()
                      or lib.in_library(t)]
        args.not_ = [t for t in args.not_ or () if t not in not_photos]
        try:
            positive = lib.similar_items(args.paths)
            negative = lib.similar_items(not_photos)
        except LibraryError as exc:
            raise CliError(str(exc)) from exc
        query = Feedback(tuple(positive), tuple(negative)).to_query() + _extra_parts(args)
        # photos marked "less like these" are left out, as in the window
        left_out = tuple(n for n in negative if isinstance(n, int))
        _show(_search_page(lib, args, query, exclude=left_out), args.json, args.all)
    return 0


def _similar_moment(args: argparse.Namespace) -> int:
    """``similar VIDEO --time SECONDS``: like the frame shown at that second."""
    if len(args.paths) != 1:
        raise CliError("--time goes with one video")
    if args.time < 0:
        raise CliError("--time must be 0 or more seconds")
    with open_library(args) as lib:
        try:
            vector = lib.moment_vector(args.paths[0], args.time)
        except LibraryError as exc:
            raise CliError(str(exc)) from exc
        query = Query((QueryPart("vector", vector),)) + _extra_parts(args)
        _show(_search_page(lib, args, query), args.json, args.all)
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    if not 0.0 < args.threshold <= 1.0:
        raise CliError("--threshold must be in (0, 1]")
    with open_library(args) as lib:
        groups = lib.duplicates(args.threshold, filters=_filters(args))
    if args.json:  # "keep" / "why": the suggestion, "kind": keeper / exact / edited (the
        # pixel check's verdict); extra keys, the shape is unchanged
        emit_json([[{"path": str(m.path), "score": round(m.similarity, 6),
                     "keep": m.id == g.keep, "kind": m.kind,
                     **({"why": g.why} if m.id == g.keep else {})}
                    for m in g.members] for g in groups])
        return 0
    if not groups:
        print("no duplicates", file=sys.stderr)
    for number, group in enumerate(groups, 1):
        print(f"group {number} ({len(group.members)} photos)")
        for m in group.members:
            mark = (f"  keep: {group.why}" if m.id == group.keep
                    else f"  {m.kind} copy ({m.how})")
            print(f"  {m.similarity:.3f}  {m.path}{mark}")
    return 0


def cmd_not_duplicates(args: argparse.Namespace) -> int:
    """"Not duplicates": these photos are different; never grouped together again."""
    if len(args.paths) < 2:
        raise CliError("name at least two photos")
    with open_library(args) as lib:
        lib.not_duplicates(lib.photo_ids(args.paths))
    print(f"{len(args.paths)} photos marked as not duplicates of one another")
    return 0


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

    p = sub.add_parser(
        "similar",
        help="find photos similar to photos (library or any file)",
        description="Photos like the given ones (library photos or any image files). Several "
        "photos: more like all of them; --not PHOTO: less like that one (Rocchio: "
        "mean of the photos - 1/3 of the mean of the --not photos; --not photos are left "
        "out); --not TEXT steers away from a phrase.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--time", type=float, metavar="SECONDS",
                   help="PATH is a video: like the frame at this second")
    _add_query_options(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("duplicates", help="groups of copies of the same photo",
                       description="Copies of the same photo, decided by their pixels: exact "
                       "copies (resized, recompressed, converted, turned) and edited copies "
                       "(crop, brightness). CLIP only proposes pairs to check.")
    p.add_argument("--threshold", type=float, default=DEFAULT_DUPLICATE_THRESHOLD,
                   help="CLIP cosine at which a pair is proposed for the pixel check "
                   f"(default {DEFAULT_DUPLICATE_THRESHOLD})")
    _add_filter_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser("not-duplicates", help="remember that photos are not duplicates")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_not_duplicates)
