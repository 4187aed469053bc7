"""Re-grouping by vectors, shared by pets, places and scenes: reconcile a fresh grouping
with the stored clusters (names, hidden, the user's moves kept), k-means with a silhouette
choice of k, zero-shot pets, scenes, and new photos joining the nearest cluster.

:mod:`photoorg.core.groups.clusters` holds what every kind shares and the user decides
(names, tags, albums, membership); this module computes groups and writes them through it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photoorg.core.groups.clusters import ClusterError, TextEncoder, create_cluster
from photoorg.core.store.catalog import Catalog, vector_blob

# -- re-clustering (shared by pets, places, scenes) ---------------------------------------


@dataclass
class Group:
    """One cluster found by a clustering pass (before it is matched to stored clusters)."""

    members: set[int]
    centroid: np.ndarray | None = None  # L2-normalised (vector kinds)
    latitude: float | None = None  # places
    longitude: float | None = None
    auto_name: str | None = None


@dataclass
class _Stored:
    id: int
    name: str | None
    auto_name: str | None
    hidden: bool
    centroid: np.ndarray | None
    latitude: float | None
    longitude: float | None
    auto: set[int]
    confirmed: set[int]
    rejected: set[int]

    @property
    def user_known(self) -> bool:
        """Named, hidden or corrected by the user: kept (with its id) whatever happens."""
        return bool(self.name) or self.hidden or bool(self.confirmed) or bool(self.rejected)

    @property
    def current(self) -> set[int]:
        return self.auto | self.confirmed


@dataclass
class ReconcileReport:
    """What a re-clustering pass did."""

    kind: str
    clusters: int = 0
    created: int = 0
    removed: int = 0
    kept_unmatched: int = 0
    photos: int = 0
    seconds: float = 0.0


def _load_stored(cat: Catalog, kind: str) -> list[_Stored]:
    rows = cat.query(
        "SELECT id, name, auto_name, hidden, centroid, latitude, longitude FROM clusters "
        "WHERE kind = ? ORDER BY id",
        (kind,),
    )
    stored = {
        cid: _Stored(
            cid, name, auto, bool(hidden),
            None if blob is None else np.frombuffer(blob, dtype=np.float32).copy(),
            lat, lon, set(), set(), set(),
        )
        for cid, name, auto, hidden, blob, lat, lon in rows
    }
    for cid, pid, source in cat.query(
        "SELECT cp.cluster_id, cp.photo_id, cp.source FROM cluster_photos cp "
        "JOIN clusters c ON c.id = cp.cluster_id WHERE c.kind = ?",
        (kind,),
    ):
        getattr(stored[cid], source).add(pid)
    return list(stored.values())


Similarity = Callable[[Group, _Stored], float | None]
"""Centroid similarity of a new group to a stored cluster in [0, 1], None if unrelated."""


def reconcile(
    cat: Catalog,
    kind: str,
    groups: Sequence[Group],
    *,
    eligible: set[int],
    similarity: Similarity | None = None,
    describe: Callable[[set[int]], dict[str, Any]] | None = None,
    min_new_size: int = 1,
    overlap: float = 0.5,
) -> ReconcileReport:
    """Store a clustering pass, keeping ids, names, hidden flags and user corrections.

    ``groups``: the new clusters; ``eligible``: every photo the pass considered (auto
    members outside it leave their cluster, e.g. deleted or no longer a pet photo).
    Matching: (1) one-to-one by member overlap (overlap coefficient >= ``overlap``,
    user-known clusters first, then by Jaccard); (2) groups lying mostly inside a
    user-known cluster join it (a user merge is not undone); (3) the rest by centroid
    ``similarity``; (4) unmatched groups of ``min_new_size`` photos or more become new
    clusters. Confirmed photos stay; rejected ones never rejoin; a user-known cluster left
    unmatched keeps its confirmed photos and its earlier automatic ones that are still
    eligible, and is never deleted. ``describe(members)`` gives the columns to store
    (``centroid``, ``latitude``, ``longitude``, ``auto_name``) for each final cluster.
    """
    start = time.perf_counter()
    report = ReconcileReport(kind)
    with cat.transaction():
        stored = _load_stored(cat, kind)
        confirmed_any = set().union(*(s.confirmed for s in stored)) if stored else set()
        work = [Group(set(g.members) - confirmed_any, g.centroid, g.latitude, g.longitude,
                      g.auto_name) for g in groups]
        work = [g for g in work if g.members]
        target: list[_Stored | None] = [None] * len(work)
        matched: set[int] = set()

        owner: dict[int, int] = {}
        for gi, g in enumerate(work):
            for pid in g.members:
                owner[pid] = gi
        pairs: list[tuple[int, int, int]] = []  # (group index, stored index, shared)
        for si, s in enumerate(stored):
            counts: dict[int, int] = {}
            for pid in s.current:
                gi = owner.get(pid)
                if gi is not None:
                    counts[gi] = counts.get(gi, 0) + 1
            pairs += [(gi, si, n) for gi, n in counts.items()]

        # 1. one-to-one by overlap
        def key(p: tuple[int, int, int]) -> tuple[bool, float, int]:
            gi, si, n = p
            union = len(work[gi].members | stored[si].current)
            return (not stored[si].user_known, -n / union, -n)

        for gi, si, n in sorted(pairs, key=key):
            if target[gi] is not None or si in matched:
                continue
            smaller = min(len(work[gi].members), len(stored[si].current)) or 1
            if n / smaller >= overlap:
                target[gi] = stored[si]
                matched.add(si)
        # 2. groups mostly inside a user-known cluster join it
        for gi, si, n in sorted(pairs, key=lambda p: -p[2]):
            if target[gi] is None and stored[si].user_known and n / len(work[gi].members) >= 0.5:
                target[gi] = stored[si]
                matched.add(si)
        # 3. by centroid (pairwise: skipped when both sides are huge)
        free_g = [gi for gi in range(len(work)) if target[gi] is None]
        free_s = [si for si in range(len(stored)) if si not in matched]
        if similarity is not None and len(free_g) * len(free_s) <= 250_000:
            cands = [
                (sim, gi, si)
                for gi in free_g
                for si in free_s
                if (sim := similarity(work[gi], stored[si])) is not None
            ]
            for _sim, gi, si in sorted(cands, key=lambda c: -c[0]):
                if target[gi] is None and si not in matched:
                    target[gi] = stored[si]
                    matched.add(si)

        # final membership per stored cluster id (auto only; confirmed stay as rows)
        final: dict[int, set[int]] = {}
        auto_names: dict[int, str] = {}
        new_groups: list[Group] = []
        for g, s in zip(work, target, strict=True):
            if s is None:
                new_groups.append(g)
            else:
                final.setdefault(s.id, set()).update(g.members)
                if g.auto_name:
                    auto_names.setdefault(s.id, g.auto_name)
        # 4. unmatched user-known clusters keep their eligible automatic photos
        for si, s in enumerate(stored):
            if si in matched:
                continue
            if s.user_known:
                keepers = s.auto & eligible
                final[s.id] = set(keepers)
                for other_id, members in final.items():
                    if other_id != s.id:
                        members -= keepers
                for g in new_groups:
                    g.members -= keepers
                report.kept_unmatched += 1
        by_id = {s.id: s for s in stored}
        for cid in final:
            final[cid] -= by_id[cid].rejected | by_id[cid].confirmed

        drop = [s.id for si, s in enumerate(stored) if si not in matched and not s.user_known]
        for cid in drop:
            cat.execute("DELETE FROM clusters WHERE id = ?", (cid,))
        report.removed = len(drop)

        for g in new_groups:
            if len(g.members) < max(1, min_new_size):
                continue
            cid = create_cluster(cat, kind, auto_name=g.auto_name)
            final[cid] = set(g.members)
            by_id[cid] = _Stored(cid, None, g.auto_name, False, None, None, None,
                                 set(), set(), set())
            report.created += 1

        now = time.time()
        for cid, members in final.items():
            s = by_id[cid]
            if s.auto != members:
                cat.execute(
                    "DELETE FROM cluster_photos WHERE cluster_id = ? AND source = 'auto'", (cid,)
                )
                for pid in sorted(members):
                    cat.execute(
                        "INSERT OR IGNORE INTO cluster_photos(cluster_id, photo_id, source) "
                        "VALUES(?, ?, 'auto')",
                        (cid, pid),
                    )
            if describe is not None:
                cols = describe(members | s.confirmed)
                cols.setdefault("auto_name", auto_names.get(cid))
                blob = cols.get("centroid")
                cat.execute(
                    "UPDATE clusters SET centroid = ?, latitude = ?, longitude = ?, "
                    "auto_name = COALESCE(?, auto_name), updated_at = ? WHERE id = ?",
                    (
                        None if blob is None else vector_blob(blob),
                        cols.get("latitude"),
                        cols.get("longitude"),
                        cols.get("auto_name"),
                        now,
                        cid,
                    ),
                )
        report.clusters = len(final)
        report.photos = sum(len(m) for m in final.values())
    report.seconds = time.perf_counter() - start
    return report


# -- vector helpers -----------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 3,
           max_iter: int = 60) -> np.ndarray:
    """Plain k-means (k-means++ seeding, best of ``n_init``) in numpy. For the small
    inputs here it is ~100x faster than scikit-learn's, whose per-fit thread-pool set-up
    dominates below a few thousand points."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    sq = (x * x).sum(1)
    settled = max(1, n // 1000)  # stop when at most 0.1% of the points still move
    best_inertia, best = np.inf, np.zeros(n, dtype=np.int64)
    for _ in range(n_init):
        centres = [x[rng.integers(n)]]
        d2 = np.maximum(sq - 2 * x @ centres[0] + centres[0] @ centres[0], 0)
        for _ in range(1, k):
            total = d2.sum()
            pick = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
            centres.append(x[pick])
            d2 = np.minimum(d2, np.maximum(sq - 2 * x @ x[pick] + x[pick] @ x[pick], 0))
        c = np.stack(centres)
        labels = np.full(n, -1, dtype=np.int64)
        for _ in range(max_iter):
            dist = sq[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
            new = dist.argmin(1)
            moved = int((new != labels).sum())
            labels = new
            if moved < settled:
                break
            counts = np.bincount(labels, minlength=k)
            order = np.argsort(labels, kind="stable")
            present = np.flatnonzero(counts)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
            c[present] = np.add.reduceat(x[order], starts, axis=0) / counts[present, None]
            for j in np.flatnonzero(counts == 0):  # empty: take the worst-fitting point
                far = int(dist[np.arange(n), labels].argmax())
                c[j] = x[far]
                labels[far] = j
        inertia = float(((x - c[labels]) ** 2).sum())
        if inertia < best_inertia:
            best_inertia, best = inertia, labels.copy()
    return best


def reduce_dims(x: np.ndarray, dims: int = 48, sample: int = 5000, seed: int = 0) -> np.ndarray:
    """PCA projection to ``dims`` dimensions (fitted on a sample). Cluster structure of
    CLIP vectors survives it, and k-means gets ~10x cheaper."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[1] <= dims or len(x) <= dims:
        return x
    rng = np.random.default_rng(seed)
    fit = x[rng.choice(len(x), size=min(len(x), sample), replace=False)]
    mean = fit.mean(0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    return (x - mean) @ vt[:dims].T


def auto_kmeans(
    x: np.ndarray,
    k_candidates: Iterable[int],
    *,
    min_silhouette: float = 0.1,
    seed: int = 0,
    sample: int = 2000,
    minibatch_above: int = 50_000,
) -> np.ndarray:
    """k-means labels with k picked by the best silhouette among the candidates; one
    cluster if no split scores ``min_silhouette``. Vectors are PCA-reduced first; k is
    chosen on a sample of ``sample`` points, then the final k-means runs on all of them
    (scikit-learn's MiniBatchKMeans above ``minibatch_above`` points)."""
    from threadpoolctl import threadpool_limits

    n = len(x)
    ks = sorted({k for k in k_candidates if 2 <= k < min(n, sample)})
    if n < 3 or not ks:
        return np.zeros(n, dtype=np.int64)
    # small matrix products: one BLAS thread is faster (and never spins on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"):
        return _auto_kmeans(x, ks, min_silhouette, seed, sample, minibatch_above)


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (Euclidean), as scikit-learn's (singletons score 0)."""
    x = np.asarray(x, dtype=np.float32)
    sq = (x * x).sum(1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))
    uniq, lab = np.unique(labels, return_inverse=True)
    counts = np.bincount(lab).astype(np.float64)
    rows = np.arange(len(x))
    onehot = np.zeros((len(x), len(uniq)), dtype=np.float32)
    onehot[rows, lab] = 1
    sums = (dist @ onehot).astype(np.float64)  # [i, c]: distance of i to all of cluster c
    own = counts[lab] - 1
    a = np.divide(sums[rows, lab], own, out=np.zeros(len(x)), where=own > 0)
    mean_other = sums / counts[None, :]
    mean_other[rows, lab] = np.inf
    b = mean_other.min(1)
    s = np.where(own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def _auto_kmeans(x: np.ndarray, ks: list[int], min_silhouette: float, seed: int,
                 sample: int, minibatch_above: int) -> np.ndarray:
    n = len(x)
    z = reduce_dims(x, seed=seed)
    if len(np.unique(np.round(z, 4), axis=0)) < 2:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    best_score, best_k, best_labels = -1.0, 0, np.zeros(len(pick), dtype=np.int64)
    for k in ks:
        labels = kmeans(z[pick], k, seed=seed)
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette(z[pick], labels)
        if score > best_score:
            best_score, best_k, best_labels = score, k, labels
    if best_score < min_silhouette:
        return np.zeros(n, dtype=np.int64)
    if len(pick) == n:
        return best_labels
    if n > minibatch_above:
        from sklearn.cluster import MiniBatchKMeans

        return MiniBatchKMeans(
            n_clusters=best_k, random_state=seed, n_init=3, batch_size=4096
        ).fit_predict(z).astype(np.int64)
    return kmeans(z, best_k, seed=seed)


def _vector_groups(ids: np.ndarray, x: np.ndarray, labels: np.ndarray,
                   auto_name: str | None = None) -> list[Group]:
    groups = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        centroid = _normalise(x[rows].mean(0))
        groups.append(Group({int(i) for i in ids[rows]}, centroid, auto_name=auto_name))
    return groups


def _centroid_similarity(min_cos: float) -> Similarity:
    def similarity(group: Group, stored: _Stored) -> float | None:
        if group.centroid is None or stored.centroid is None:
            return None
        if stored.centroid.shape != group.centroid.shape:
            return None
        cos = float(group.centroid @ _normalise(stored.centroid))
        return cos if cos >= min_cos else None

    return similarity


def _vector_describe(index: dict[int, int], x: np.ndarray) -> Callable[[set[int]], dict]:
    def describe(members: set[int]) -> dict[str, Any]:
        rows = [index[p] for p in members if p in index]
        return {"centroid": _normalise(x[rows].mean(0)) if rows else None}

    return describe


def _active_vectors(cat: Catalog, model_id: int | None) -> tuple[np.ndarray, np.ndarray]:
    if model_id is None:
        model = cat.active_model()
        if model is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        model_id = model.id
    ids, x = cat.load_vectors(model_id)
    return ids, _normalise(x) if len(ids) else x


# -- pets ---------------------------------------------------------------------------------

PET_PROMPTS: dict[str, str] = {
    "dog": "a photo of a dog",
    "cat": "a photo of a cat",
    "bird": "a photo of a bird",
    "horse": "a photo of a horse",
    "rabbit": "a photo of a rabbit",
    "hamster": "a photo of a hamster",
    "guinea pig": "a photo of a guinea pig",
    "fish": "a photo of a pet fish in an aquarium",
    "turtle": "a photo of a turtle",
    "lizard": "a photo of a lizard",
}
"""Animal classes of the zero-shot pet detector and their prompts."""

BACKGROUND_PROMPTS: tuple[str, ...] = (
    "a photo of a person",
    "a photo of a group of people",
    "a photo of a landscape",
    "a photo of food",
    "a photo of a building",
    "a photo of a city street",
    "a photo of a car",
    "a photo of a room",
    "a photo of a document",
    "a photo of a plant",
    "a photo of the sky",
    "a photo of the beach",
    "a photo of a toy",
    "a photo of a wild animal in nature",
)
"""Everything else: a photo is a pet photo only if an animal beats all of these."""

PET_THRESHOLD = 0.5
CLIP_TEMPERATURE = 100.0


def pet_prompts() -> list[str]:
    """Prompts in the order :func:`classify_pets` expects their vectors."""
    return [*PET_PROMPTS.values(), *BACKGROUND_PROMPTS]


def classify_pets(
    image_vectors: np.ndarray, text_vectors: np.ndarray, threshold: float = PET_THRESHOLD
) -> list[str | None]:
    """Zero-shot: per image, the animal class if it wins the softmax (temperature 100, as
    CLIP) over all prompts with probability >= ``threshold``, else None.
    ``text_vectors`` follow :func:`pet_prompts`."""
    if len(image_vectors) == 0:
        return []
    logits = CLIP_TEMPERATURE * (_normalise(image_vectors) @ _normalise(text_vectors).T)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    top = probs.argmax(axis=1)
    animals = list(PET_PROMPTS)
    return [
        animals[t] if t < len(animals) and probs[i, t] >= threshold else None
        for i, t in enumerate(top)
    ]


_prompt_cache: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _encode(encode_texts: TextEncoder | Any, prompts: list[str]) -> np.ndarray:
    """Prompt vectors, computed once per encoder (the indexer asks after every run)."""
    fn = getattr(encode_texts, "encode_texts", encode_texts)
    try:
        per_encoder = _prompt_cache.setdefault(encode_texts, {})
    except TypeError:  # not weak-referenceable: no cache
        return np.asarray(fn(prompts), dtype=np.float32)
    key = tuple(prompts)
    if key not in per_encoder:
        per_encoder[key] = np.asarray(fn(prompts), dtype=np.float32)
    return per_encoder[key]


def _knows_animals(encode_texts: TextEncoder | Any) -> bool:
    """A weak model gives no pet groups (see :mod:`photoorg.core.models.competence`)."""
    from photoorg.core.models.competence import PARAPHRASES, knows_animals

    prompts = dict(PET_PROMPTS)
    texts = list(prompts.values()) + [PARAPHRASES[a] for a in PARAPHRASES if a in prompts]
    vectors = _encode(encode_texts, texts)
    lookup = dict(zip(texts, vectors, strict=True))
    return knows_animals(lambda batch: np.stack([lookup[t] for t in batch]), prompts)


def recluster_pets(
    cat: Catalog,
    encode_texts: TextEncoder | Any,
    *,
    model_id: int | None = None,
    threshold: float = PET_THRESHOLD,
    max_k: int = 8,
    min_silhouette: float = 0.15,
) -> ReconcileReport:
    """Find pet photos (zero-shot CLIP) and cluster them per animal (k-means per species,
    k by silhouette), keeping names and corrections. ``encode_texts``: a callable or an
    embedder with ``encode_texts``, of the same model as the library's vectors."""
    ids, x = _active_vectors(cat, model_id)
    if not len(ids) or not _knows_animals(encode_texts):
        return reconcile(cat, "pets", [], eligible=set())
    species = classify_pets(x, _encode(encode_texts, pet_prompts()), threshold)
    groups: list[Group] = []
    eligible: set[int] = set()
    for animal in PET_PROMPTS:
        rows = np.array([i for i, s in enumerate(species) if s == animal], dtype=np.int64)
        if not len(rows):
            continue
        eligible.update(int(i) for i in ids[rows])
        labels = auto_kmeans(
            x[rows], range(2, max_k + 1), min_silhouette=min_silhouette
        )
        groups += _vector_groups(ids[rows], x[rows], labels, auto_name=animal)
    index = {int(p): i for i, p in enumerate(ids)}
    return reconcile(
        cat, "pets", groups, eligible=eligible,
        similarity=_centroid_similarity(0.85), describe=_vector_describe(index, x),
    )


# -- scenes -------------------------------------------------------------------------------

SCENE_K_CANDIDATES: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 30)


def scene_candidates(cat: Catalog, ids: np.ndarray) -> np.ndarray:
    """Which of ``ids`` are scene photos: indexed, without GPS."""
    no_gps = {pid for (pid,) in cat.query(
        "SELECT id FROM photos WHERE status = 'indexed' AND "
        "(latitude IS NULL OR longitude IS NULL)"
    )}
    return np.array([int(i) in no_gps for i in ids], dtype=bool)


def recluster_scenes(
    cat: Catalog,
    *,
    model_id: int | None = None,
    k_candidates: Iterable[int] = SCENE_K_CANDIDATES,
    min_silhouette: float = 0.05,
) -> ReconcileReport:
    """Cluster every photo without GPS by its CLIP vector (k-means, k by silhouette) into
    scenes the user can name ("beach", "grandma's garden"), keeping names and corrections."""
    ids, x = _active_vectors(cat, model_id)
    if not len(ids):
        return reconcile(cat, "scenes", [], eligible=set())
    keep = scene_candidates(cat, ids)
    ids, x = ids[keep], x[keep]
    n = len(ids)
    ks = [k for k in k_candidates if k <= max(2, n // 3)]
    labels = auto_kmeans(x, ks, min_silhouette=min_silhouette) if n else np.zeros(0, np.int64)
    groups = _vector_groups(ids, x, labels) if n else []
    index = {int(p): i for i, p in enumerate(ids)}
    return reconcile(
        cat, "scenes", groups, eligible={int(i) for i in ids},
        similarity=_centroid_similarity(0.85), describe=_vector_describe(index, x),
        min_new_size=2,
    )


# -- incremental: new photos join the nearest cluster --------------------------------------


def _radius(member_x: np.ndarray, centroid: np.ndarray) -> float:
    """Cosine distance within which a new photo joins: the 90th percentile of the
    members' leave-one-out distances (each to the centroid of the others, which is what
    a new photo faces), with some slack."""
    n = len(member_x)
    if n < 3:
        return 0.15
    total = member_x.sum(0)
    others = _normalise((total[None, :] - member_x) / (n - 1))
    d = 1.0 - (member_x * others).sum(1)
    return float(np.clip(np.quantile(d, 0.9) * 1.15 + 0.01, 0.03, 0.5))


def assign_to_nearest(
    cat: Catalog,
    kind: str,
    photo_ids: Iterable[int],
    *,
    model_id: int | None = None,
    encode_texts: TextEncoder | Any | None = None,
) -> dict[int, int]:
    """Incremental step for ``pets``/``scenes``: each new photo (in no cluster of the kind)
    joins the nearest cluster if within its radius (never one that rejected it).
    Pets need ``encode_texts`` to tell pet photos. Returns {photo id: cluster id}."""
    if kind not in ("pets", "scenes"):
        raise ClusterError("assign_to_nearest handles pets and scenes; places: see places.py")
    model = cat.model(model_id) if model_id is not None else cat.active_model()
    if model is None:
        return {}
    if not cat.scalar("SELECT 1 FROM clusters WHERE kind = ? LIMIT 1", (kind,)):
        return {}  # nothing to join yet (and no prompts to encode)
    wanted = sorted({int(p) for p in photo_ids})
    taken = {pid for (pid,) in cat.query(
        "SELECT cp.photo_id FROM cluster_photos cp JOIN clusters c ON c.id = cp.cluster_id "
        "WHERE c.kind = ? AND cp.source != 'rejected'", (kind,))}
    wanted = [p for p in wanted if p not in taken]
    vecs = {p: v for p in wanted if (v := cat.vector(p, model.id)) is not None}
    if not vecs:
        return {}
    pids = np.array(list(vecs), dtype=np.int64)
    x = _normalise(np.stack([vecs[int(p)] for p in pids]))
    if kind == "scenes":
        keep = scene_candidates(cat, pids)
        pids, x = pids[keep], x[keep]
    else:
        if encode_texts is None:
            return {}
        species = classify_pets(x, _encode(encode_texts, pet_prompts()))
        keep = np.array([s is not None for s in species], dtype=bool)
        pids, x = pids[keep], x[keep]
    stored = [s for s in _load_stored(cat, kind)
              if s.centroid is not None and s.centroid.shape[0] == model.dim]
    if not len(pids) or not stored:
        return {}
    centroids = _normalise(np.stack([s.centroid for s in stored]))
    radii = []
    for s in stored:
        members = sorted(s.current)[:200]
        mx = [v for p in members if (v := cat.vector(p, model.id)) is not None]
        radii.append(_radius(_normalise(np.stack(mx)), centroids[len(radii)]) if mx else 0.15)
    sims = x @ centroids.T
    out: dict[int, int] = {}
    with cat.transaction():
        for r, pid in enumerate(pids):
            for c in np.argsort(-sims[r]):
                s = stored[int(c)]
                if int(pid) in s.rejected:
                    continue
                if 1.0 - sims[r, c] <= radii[int(c)]:
                    cat.execute(
                        "INSERT OR IGNORE INTO cluster_photos(cluster_id, photo_id, source) "
                        "VALUES(?, ?, 'auto')",
                        (s.id, int(pid)),
                    )
                    out[int(pid)] = s.id
                break
    return out
