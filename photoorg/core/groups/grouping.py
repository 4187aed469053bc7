"""One entry point for re-grouping people, pets, places and scenes.

:mod:`photoorg.core.groups.clusters` holds what every kind shares (names, tags, albums, the
reconciliation that keeps ids and corrections); each kind's grouping lives in its module
(people: :mod:`~photoorg.core.people.faces`, places: :mod:`~photoorg.core.groups.places`, pets and
scenes: :mod:`~photoorg.core.groups.clusters`). This module sits above them all, so none of them
imports another kind's module (no clusters <-> places cycle).

The pipeline refreshes a kind only when its input changed since the last refresh
(:func:`input_fingerprint`), so listing clusters never re-clusters for nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from photoorg.core.groups import regroup
from photoorg.core.groups.clusters import KINDS, ClusterError, TextEncoder
from photoorg.core.groups.regroup import assign_to_nearest
from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)

_META = "grouping.{kind}.input"


def refresh_clusters(
    cat: Catalog, kind: str, encode_texts: TextEncoder | Any | None = None
) -> Any:
    """Recompute the clusters of a kind (names and corrections kept). People go through
    :func:`photoorg.core.people.faces.update_people` (what the face pass runs: the same people
    whichever adapter refreshes them); pets need ``encode_texts`` of the
    library's active model. Records the input it grouped (see :func:`is_stale`)."""
    if kind not in KINDS:
        raise ClusterError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    fingerprint = input_fingerprint(cat, kind)
    if kind == "people":
        try:
            from photoorg.core.people import faces
        except ImportError as exc:  # dlib missing: list what exists
            log.info("people clustering unavailable: %s", exc)
            return None
        from photoorg.core.store.staged import run_staged

        # computed on a snapshot, written in one short step: a rename never waits for it
        result = run_staged(cat, faces.update_people)
    elif kind == "pets":
        if encode_texts is None:
            raise ClusterError("finding pets needs the library's CLIP text encoder")
        result = regroup.recluster_pets(cat, encode_texts)
    elif kind == "places":
        from photoorg.core.groups.places import recluster_places

        result = recluster_places(cat)
    else:
        result = regroup.recluster_scenes(cat)
    cat.set_meta(_META.format(kind=kind), fingerprint)
    return result


def input_fingerprint(cat: Catalog, kind: str) -> str:
    """A cheap summary of what grouping ``kind`` reads: it changes when faces, GPS
    positions or the active model's vectors do."""
    if kind == "people":
        # stacks too: a RAW's faces follow its JPEG's once the pair is stacked
        row = cat.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), (SELECT TOTAL(id * (state = 'stacked')) "
            "FROM stacks) FROM faces").fetchone()
    elif kind == "places":
        row = cat.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(latitude + longitude), 0) "
            "FROM photos WHERE status != 'skipped' AND latitude IS NOT NULL"
        ).fetchone()
    else:
        model = cat.active_model()
        if model is None:
            return "none"
        seq = cat.scalar(
            "SELECT COALESCE(MAX(seq), 0) FROM vec_log WHERE model_id = ?", (model.id,)
        )
        row = (model.id, cat.vector_count(model.id), seq, cat.vec_log_floor())
    return ":".join(str(round(v, 6) if isinstance(v, float) else v) for v in row)


def is_stale(cat: Catalog, kind: str) -> bool:
    """Whether ``kind``'s input changed since it was last grouped."""
    return cat.get_meta(_META.format(kind=kind)) != input_fingerprint(cat, kind)


def after_index(
    cat: Catalog, photo_ids: Iterable[int], encode_texts: TextEncoder | Any | None = None
) -> dict[str, dict[int, int]]:
    """Incremental step for the indexer: new photos join the nearest existing place,
    scene and (with ``encode_texts`` of the active model) pet cluster within its radius.
    The rest wait for the next full refresh. Returns {kind: {photo id: cluster id}}."""
    from photoorg.core.groups.places import assign_new_places

    ids = [int(p) for p in photo_ids]
    out = {"places": assign_new_places(cat, ids), "scenes": assign_to_nearest(cat, "scenes", ids)}
    if encode_texts is not None:
        out["pets"] = assign_to_nearest(cat, "pets", ids, encode_texts=encode_texts)
    return out
