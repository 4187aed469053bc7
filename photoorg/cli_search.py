"""``search`` and ``similar``: text-to-image and image-to-image queries."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from photoorg.cli import CliError, open_catalog, print_results
from photoorg.core.catalog import Catalog


def _embedder_for(cat: Catalog):  # noqa: ANN202 - Embedder is imported lazily (torch)
    from photoorg.core.embedder import ModelUnavailableError, load_embedder

    model = cat.active_model()
    if model is None:
        raise CliError("the library is empty: run `photoorg index FOLDER` first")
    try:
        return model, load_embedder(model.spec)
    except ModelUnavailableError as exc:
        raise CliError(str(exc)) from exc


def _rank(cat: Catalog, model_id: int, query: np.ndarray, k: int) -> list[tuple[Path, float]]:
    ids, mat = cat.load_vectors(model_id)
    if not len(ids):
        return []
    scores = mat @ query
    order = np.argsort(-scores)[:k]
    paths = cat.paths_for_ids(ids[order].tolist())
    return [(paths[int(ids[i])], float(scores[i])) for i in order if int(ids[i]) in paths]


def cmd_search(args: argparse.Namespace) -> int:
    with open_catalog(args) as cat:
        model, embedder = _embedder_for(cat)
        query = embedder.encode_texts([args.text])[0]
        print_results(_rank(cat, model.id, query, args.k), args.json)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from photoorg.core.imaging import DecodeError, decode_photo

    with open_catalog(args) as cat:
        model, embedder = _embedder_for(cat)
        pid = cat.photo_id_for_path(args.path)
        query = cat.vector(pid, model.id) if pid is not None else None
        if query is None:
            try:
                image = decode_photo(args.path, min_side=embedder.image_size).image
            except DecodeError as exc:
                raise CliError(f"cannot read {args.path}: {exc}") from exc
            query = embedder.encode_images([image])[0]
        print_results(_rank(cat, model.id, query, args.k), args.json)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="find photos matching a text")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=20, help="number of results")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("similar", help="find photos similar to a photo (library or any file)")
    p.add_argument("path")
    p.add_argument("-k", type=int, default=20, help="number of results")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)
