"""Face boxes: ``(x, y, w, h)``, top-left origin, normalised to the displayed image."""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match_boxes(
    boxes: Sequence[Sequence[float]], others: Sequence[Sequence[float]], min_iou: float
) -> dict[int, int]:
    """Each box's index -> the index of its best-overlapping other box (IoU >= ``min_iou``),
    greedily by overlap, each used once."""
    pairs = sorted(
        ((iou(a, b), i, j) for i, a in enumerate(boxes) for j, b in enumerate(others)),
        reverse=True,
    )
    out: dict[int, int] = {}
    used: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i in out or j in used:
            continue
        out[i] = j
        used.add(j)
    return out
