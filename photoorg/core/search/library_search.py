"""One search over everything the library knows: words first, then what looks alike.

The CLI's ``search`` / ``similar`` and the window's search bar / Find similar call these.

Ranking, in one list:

1. **Word matches** (:func:`photoorg.core.search.textindex.match_text`: people and pet names,
   places, tags, albums, folder and file names, captions, text read in the photo), ordered
   by CLIP similarity to the query when the model is there (photos without a vector yet
   follow, newest first).
2. **Similarity-only matches** (CLIP), best first, down to the query's relevance cut-off
   (:meth:`SearchIndex.relevance_floor`), so a result list *ends*; ``show_all`` lifts the
   cut-off ("show weaker matches").

Without a model (first run offline, or a model that failed to load) the word matches alone
answer. ``SearchPage.total`` counts every result the query has (not just the page).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photoorg.core.groups import clusters
from photoorg.core.search import textindex
from photoorg.core.search.engine import (
    DEFAULT_K,
    RELEVANCE,
    Encoder,
    Filters,
    Query,
    QueryError,
    QueryPart,
    SearchIndex,
    parse_query,
)

WORD_MATCH_SCORE = 1.0
"""The score of a word match whose photo has no vector yet (nothing to measure)."""
SHOW_ALL_FLOOR = -2.0  # below any cosine: every photo counts


@dataclass(frozen=True)
class Hit:
    """One result: ``score`` is the CLIP cosine to the query (:data:`WORD_MATCH_SCORE` for a
    word match without a vector); ``matched`` the kinds of what its words matched
    (``person``, ``place``, ``tag``, ``text``, ...), empty for similarity-only matches."""

    photo_id: int
    path: Path
    score: float
    matched: tuple[str, ...] = ()
    offline: bool = False
    time: float | None = None  # a video: the second of its best matching keyframe


@dataclass
class SearchPage:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0  # every result of the query, all pages
    word_matches: int = 0
    cutoff: float | None = None  # the similarity cut-off applied (None: none)
    weaker_hidden: bool = False  # the cut-off left photos out ("show weaker matches")
    used_model: bool = False


def query_words(query: Query) -> str:
    """The words to match: the positive text parts of a query."""
    return " ".join(p.value for p in query.parts if p.kind == "text" and p.weight > 0)


def search_library(
    index: SearchIndex,
    query: Query | str,
    encoder: Encoder | None = None,
    *,
    filters: Filters | None = None,
    k: int = DEFAULT_K,
    offset: int = 0,
    show_all: bool = False,
    min_score: float | None = None,
    exclude: Iterable[int] = (),
) -> SearchPage:
    """Search words and looks together (see the module docstring). ``encoder`` may be None:
    word matches still answer. Raises :class:`QueryError` for an unusable query."""
    if k < 0 or offset < 0:
        raise QueryError("k and offset must not be negative")
    if isinstance(query, str):
        query = parse_query(query)
    filters = filters or Filters()
    exclude = {int(i) for i in exclude}
    matches = textindex.match_text(index.catalog, query_words(query))
    word_ids = index.restrict(matches.ids, filters, exclude) if len(matches) else matches.ids
    qvec = _query_vector(index, query, encoder)
    if qvec is None:
        ordered = list(reversed(clusters.order_by_date(index.catalog, word_ids.tolist())))
        page_ids = ordered[offset : offset + k]
        hits = _hits(index, page_ids, [WORD_MATCH_SCORE] * len(page_ids), matches)
        return SearchPage(hits, len(ordered), len(ordered))
    return _ranked(index, qvec, word_ids, matches, filters, k, offset, show_all, min_score,
                   exclude)


def similar_photos(
    index: SearchIndex,
    photo_ids: Sequence[int],
    *,
    filters: Filters | None = None,
    k: int = DEFAULT_K,
    offset: int = 0,
    show_all: bool = False,
    include_self: bool = False,
    extra: Query | None = None,
    encoder: Encoder | None = None,
) -> SearchPage:
    """Find similar, with the same relevance cut-off as search."""
    exclude = set() if include_self else {int(p) for p in photo_ids}
    query = Query(tuple(QueryPart("photo", int(p)) for p in photo_ids))
    if extra is not None:
        query = query + extra
    qvec = index.query_vector(query, encoder)
    empty = textindex.TextMatches()
    return _ranked(index, qvec, empty.ids, empty, filters or Filters(), k, offset, show_all,
                   None, exclude)


def _query_vector(index: SearchIndex, query: Query, encoder: Encoder | None
                  ) -> np.ndarray | None:
    if index.model is None:
        return None
    if encoder is None and any(p.kind == "text" for p in query.parts):
        return None
    return index.query_vector(query, encoder)


def _ranked(
    index: SearchIndex,
    qvec: np.ndarray,
    word_ids: np.ndarray,
    matches: textindex.TextMatches,
    filters: Filters,
    k: int,
    offset: int,
    show_all: bool,
    min_score: float | None,
    exclude: set[int],
) -> SearchPage:
    scores = index.scores_for(word_ids, qvec)
    known = ~np.isnan(scores)
    with_vec = word_ids[known][np.lexsort((word_ids[known], -scores[known]))]
    without = word_ids[~known]
    without_sorted = list(reversed(clusters.order_by_date(index.catalog, without.tolist())))
    word_order = with_vec.tolist() + without_sorted
    score_of = dict(zip(word_ids.tolist(), scores.tolist(), strict=True))
    floor = min_score
    if show_all and floor is None:
        floor = SHOW_ALL_FLOOR  # counts every photo
    word_page = word_order[offset : offset + k]
    clip_k = k - len(word_page)
    clip_offset = max(0, offset - len(word_order))
    moments = index.video_moments(qvec)
    if moments:
        allowed = index.restrict(np.fromiter(moments, np.int64, len(moments)), filters,
                                 exclude | set(word_order))
        moments = {int(v): moments[int(v)] for v in allowed}
    clip_hits, clip_total, cutoff = index.search_page(
        qvec, filters=filters, k=max(clip_k, 1) + (clip_offset if moments else 0),
        offset=0 if moments else clip_offset, min_score=floor,
        exclude=exclude | set(word_order), relevance=None if show_all else RELEVANCE,
    )
    clip = [Hit(h.photo_id, h.path, h.score, (), h.offline) for h in clip_hits]
    if moments:
        clip, clip_total = _with_moments(index, qvec, clip, clip_total, moments, cutoff)
        clip = clip[clip_offset:]
    if clip_k <= 0:
        clip = []
    page = _hits(index, word_page,
                 [s if s == s else WORD_MATCH_SCORE for s in (score_of[p] for p in word_page)],
                 matches)
    page = [_at_moment(h, moments) for h in page] if moments else page
    page += clip[:max(clip_k, 0)]
    total = len(word_order) + clip_total
    return SearchPage(page, total, len(word_order), None if show_all else cutoff,
                      weaker_hidden=not show_all and len(index) > total, used_model=True)


def _at_moment(hit: Hit, moments: dict[int, tuple[float, float]]) -> Hit:
    """A video hit at its best keyframe (scored by it when it beats the poster)."""
    moment = moments.get(hit.photo_id)
    if moment is None:
        return hit
    return Hit(hit.photo_id, hit.path, max(hit.score, moment[0]), hit.matched, hit.offline,
               moment[1])


def _with_moments(index: SearchIndex, qvec: np.ndarray, clip: list[Hit], clip_total: int,
                  moments: dict[int, tuple[float, float]], cutoff: float | None
                  ) -> tuple[list[Hit], int]:
    """The similarity hits with videos ranked by their best keyframe: a video whose
    poster did not make the list joins it when a keyframe passes the same cut-off."""
    floor = -np.inf if cutoff is None else cutoff
    listed = {h.photo_id for h in clip}
    merged = [_at_moment(h, moments) for h in clip]
    lowest = clip[-1].score if clip else -np.inf
    joining = [v for v, (score, _) in moments.items() if v not in listed and score >= floor]
    if joining:
        complete = len(clip) >= clip_total  # every hit passing the floor was fetched
        posters = index.scores_for(np.asarray(joining, np.int64), qvec)
        # a video whose poster already passed the floor is counted in clip_total
        clip_total += int(sum(1 for p in posters if not (p == p and p >= floor)))
        better = [v for v in joining if complete or moments[v][0] > lowest]
        for result in index.results_for(better, [moments[v][0] for v in better]):
            merged.append(Hit(result.photo_id, result.path, result.score, (), result.offline,
                              moments[result.photo_id][1]))
    merged.sort(key=lambda h: (-h.score, h.photo_id))
    return merged, clip_total


def _hits(index: SearchIndex, ids: list[int], scores: list[float],
          matches: textindex.TextMatches) -> list[Hit]:
    return [
        Hit(r.photo_id, r.path, r.score, matches.kinds.get(r.photo_id, ()), r.offline)
        for r in index.results_for(ids, scores)
    ]
