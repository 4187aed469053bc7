"""Face proposals: where in a photo a face may be, found cheaply before dlib looks closely.

dlib's HOG detector has to scan a ~2000 px copy of a photo to find faces 75 px tall, and
that scan was most of the face pass (~150 ms of CPU per 12 MP photo), though most photos
have no face at all. CenterFace, a small anchor-free CNN (2 MB in int8:
``resources/models/centerface-int8.onnx``, made by ``tools/make_face_proposer.py``, run by
onnxruntime), finds faces from about 10 px, so it can look at a 512 px copy, for ~20 ms.
Its boxes are *proposals*: HOG then scans only crops around them, and not at all a photo
with none. The threshold is low on purpose: a false proposal costs one small HOG crop, a
missed one could cost a person. HOG keeps the final word, so the faces kept are those the
whole-photo scan keeps (``benchmarks/indexing.py --proposals`` reports the share)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

MODEL_FILE = "centerface-int8.onnx"
PROPOSAL_SIDE = 512  # the long side CenterFace looks at
PROPOSAL_THRESHOLD = 0.2  # heat-map score; CenterFace's own demo keeps faces from 0.5
NMS_IOU = 0.3
_STRIDE = 4  # output cells per input pixel (CenterFace's heat map is at 1/4 resolution)


@dataclass(frozen=True)
class Proposal:
    """A place where a face may be: ``box`` is (left, top, width, height) as fractions of
    the image, ``score`` CenterFace's confidence."""

    box: tuple[float, float, float, float]
    score: float


def model_file() -> Path:
    from photoorg.resources import resource_path

    return resource_path("models", MODEL_FILE)


class FaceProposer:
    """CenterFace on a small copy of the image; one instance serves every thread (an
    onnxruntime session may be run from several threads at once, each on one core)."""

    def __init__(self, side: int = PROPOSAL_SIDE, threshold: float = PROPOSAL_THRESHOLD,
                 model: Path | None = None) -> None:
        import onnxruntime as ort

        path = Path(model) if model is not None else model_file()
        if not path.is_file():
            raise FileNotFoundError(f"the face-proposal model {path} is missing")
        options = ort.SessionOptions()
        # the face pass runs one photo per core already: one thread per call, no spinning
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_mem_pattern = False  # measured: ~15 MB less per thread, same speed
        options.log_severity_level = 3
        self.side = int(side)
        self.threshold = float(threshold)
        self._session = ort.InferenceSession(str(path), options,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()
        self.calls = 0  # photos looked at (for benchmarks)

    def propose(self, image: Image.Image) -> list[Proposal]:
        """Proposals in ``image`` (any size; looked at with its long side at ``side``),
        best first."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        width, height = rgb.size
        scale = self.side / max(1, width, height)
        # the network wants sides divisible by 32: round up (a slight stretch, undone below)
        new_w = max(32, math.ceil(width * scale / 32) * 32)
        new_h = max(32, math.ceil(height * scale / 32) * 32)
        factor = int(max(width / new_w, height / new_h))
        if factor >= 2:  # a box-filter reduction first: half the cost of resizing alone
            rgb = rgb.reduce(factor)
        small = rgb.resize((new_w, new_h), Image.Resampling.BILINEAR)
        blob = np.ascontiguousarray(np.asarray(small).transpose(2, 0, 1)[np.newaxis],
                                    dtype=np.float32)
        heat, sizes, offsets, _ = self._session.run(None, {self._input: blob})
        with self._lock:
            self.calls += 1
        return _decode(heat[0, 0], sizes[0], offsets[0], new_w, new_h, self.threshold)


def _decode(heat: np.ndarray, sizes: np.ndarray, offsets: np.ndarray, width: int,
            height: int, threshold: float) -> list[Proposal]:
    rows, cols = np.nonzero(heat > threshold)
    if rows.size == 0:
        return []
    box_h = np.exp(sizes[0, rows, cols]) * _STRIDE
    box_w = np.exp(sizes[1, rows, cols]) * _STRIDE
    cy = (rows + offsets[0, rows, cols] + 0.5) * _STRIDE
    cx = (cols + offsets[1, rows, cols] + 0.5) * _STRIDE
    boxes = np.stack([cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2], axis=1)
    boxes = np.clip(boxes, 0, [width, height, width, height])
    scores = heat[rows, cols]
    keep = _nms(boxes, scores, NMS_IOU)
    return [
        Proposal((float(x0 / width), float(y0 / height), float((x1 - x0) / width),
                  float((y1 - y0) / height)), float(score))
        for (x0, y0, x1, y1), score in zip(boxes[keep], scores[keep], strict=True)
    ]


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression: indices kept, best score first."""
    order = list(np.argsort(-scores, kind="stable"))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order:
        best = order.pop(0)
        keep.append(int(best))
        if not order:
            break
        rest = np.asarray(order)
        inter_w = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2])
                          - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        inter_h = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3])
                          - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        inter = inter_w * inter_h
        overlap = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = [int(i) for i, o in zip(rest, overlap, strict=True) if o < iou]
    return keep

