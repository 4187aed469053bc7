"""``search``, ``similar`` and ``duplicates``: queries over the library's vectors.

All three go through :class:`photoorg.core.search.SearchIndex` (the same API the GUI uses).
``--json`` output: ``search`` / ``similar`` print ``[{"path", "score"}]`` best first;
``duplicates`` prints a list of groups, each a list of ``{"path", "score"}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from photoorg.cli import CliError, emit_json, open_catalog, print_results
from photoorg.core.catalog import Catalog
from photoorg.core.search import (
    DEFAULT_DUPLICATE_THRESHOLD,
    Filters,
    Query,
    QueryError,
    QueryPart,
    SearchIndex,
    SearchResult,
    parse_query,
    to_timestamp,
)


def _embedder_for(cat: Catalog) -> Any:
    """The active model's embedder (imports torch and open_clip lazily)."""
    from photoorg.core.embedder import ModelUnavailableError, load_embedder

    model = cat.active_model()
    if model is None:
        raise CliError("the library is empty: run `photoorg index FOLDER` first")
    try:
        return load_embedder(model.spec)
    except ModelUnavailableError as exc:
        raise CliError(str(exc)) from exc


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
    )


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


def _run_query(
    cat: Catalog, args: argparse.Namespace, query: Query, needs_encoder: bool,
    exclude: tuple[int, ...] = (),
) -> list[SearchResult]:
    if cat.active_model() is None:
        raise CliError("the library is empty: run `photoorg index FOLDER` first")
    filters = _filters(args)  # bad options fail before the model loads
    encoder = _embedder_for(cat) if needs_encoder else None
    with SearchIndex(cat) as index:
        try:
            return index.search(
                query,
                encoder,
                filters=filters,
                k=args.k,
                offset=args.offset,
                min_score=args.min_score,
                exclude=exclude,
            )
        except QueryError as exc:
            raise CliError(str(exc)) from exc


def _show(hits: list[SearchResult], as_json: bool) -> None:
    print_results([(h.path, h.score) for h in hits], as_json)


def cmd_search(args: argparse.Namespace) -> int:
    try:
        query = parse_query(args.text) + _extra_parts(args)
    except QueryError as exc:
        raise CliError(str(exc)) from exc
    with open_catalog(args) as cat:
        needs = any(p.kind in ("text", "image") for p in query.parts)
        _show(_run_query(cat, args, query, needs), args.json)
    return 0


def _similar_items(cat: Catalog, raw_paths: list[str], model_id: int | None
                   ) -> tuple[list[Any], bool]:
    """Library photos by id (their stored vectors answer, even from an offline drive), other
    files as images to embed. Returns (items, whether an encoder is needed)."""
    items: list[Any] = []
    needs = False
    for raw in raw_paths:
        path = Path(raw).expanduser().absolute()
        pid = cat.photo_id_for_path(path)
        if model_id is not None and pid is not None and cat.vector(pid, model_id) is not None:
            items.append(pid)
            continue
        if not path.is_file():
            raise CliError(f"not a file: {path}")
        items.append(path)
        needs = True
    return items, needs


def cmd_similar(args: argparse.Namespace) -> int:
    from photoorg.core.feedback import Feedback

    with open_catalog(args) as cat:
        model = cat.active_model()
        model_id = model.id if model is not None else None
        # --not: photos (files) are "less like these" (Rocchio); anything else is a phrase
        not_files = [t for t in args.not_ or () if Path(t).expanduser().is_file()
                     or cat.photo_id_for_path(Path(t).expanduser().absolute()) is not None]
        args.not_ = [t for t in args.not_ or () if t not in not_files]
        positive, needs_pos = _similar_items(cat, args.paths, model_id)
        negative, needs_neg = _similar_items(cat, not_files, model_id)
        extra = _extra_parts(args)
        query = Feedback(tuple(positive), tuple(negative)).to_query() + extra
        needs = needs_pos or needs_neg or any(p.kind in ("text", "image") for p in extra.parts)
        # photos marked "less like these" are left out, as in the window
        left_out = tuple(n for n in negative if isinstance(n, int))
        _show(_run_query(cat, args, query, needs, exclude=left_out), args.json)
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    if not 0.0 < args.threshold <= 1.0:
        raise CliError("--threshold must be in (0, 1]")
    with open_catalog(args) as cat:
        if cat.active_model() is None:
            raise CliError("the library is empty: run `photoorg index FOLDER` first")
        with SearchIndex(cat) as index:
            groups = index.find_duplicates(args.threshold, filters=_filters(args))
    if args.json:
        emit_json([[{"path": str(h.path), "score": round(h.score, 6)} for h in g]
                   for g in groups])
        return 0
    if not groups:
        print("no duplicates", file=sys.stderr)
    for number, group in enumerate(groups, 1):
        print(f"group {number} ({len(group)} photos)")
        for hit in group:
            print(f"  {hit.score:.3f}  {hit.path}")
    return 0


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", metavar="DIR", help="only photos in this folder (and below)")
    p.add_argument("--after", metavar="YYYY-MM-DD", help="taken on or after this day (UTC)")
    p.add_argument("--before", metavar="YYYY-MM-DD", help="taken before this day (UTC)")
    p.add_argument("--type", action="append", metavar="EXT",
                   help="file type, e.g. jpg (repeatable: any of them)")
    p.add_argument("--tag", action="append", metavar="TAG",
                   help="only photos with this tag (repeatable: all of them)")


def _add_query_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, default=20, help="number of results")
    p.add_argument("--offset", type=int, default=0, help="skip this many results (paging)")
    p.add_argument("--min-score", type=float, metavar="S", help="drop results scoring below S")
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
        "mean of the photos - 1/3 of the mean of the --not photos); --not TEXT steers away "
        "from a phrase.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    _add_query_options(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("duplicates", help="groups of near-identical photos")
    p.add_argument("--threshold", type=float, default=DEFAULT_DUPLICATE_THRESHOLD,
                   help=f"cosine similarity (default {DEFAULT_DUPLICATE_THRESHOLD})")
    _add_filter_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duplicates)
