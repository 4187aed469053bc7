"""Make ``bench-data/models/ppocrv4-det-int8.onnx``: the OCR gate's text detector in int8.

Measured and **not adopted** (issue 26): on this CPU (AVX-512 VNNI) 1.4x faster than the
float32 detector on the gate's crops (26 vs 37 ms CPU per photo without words, one thread),
but it misses small print the float detector finds: on ``benchmarks/ocr.py --sets`` 15 of
24 small words read instead of 16 (its map stays near 0.01 on some words at 2-3% of the
height where the float one reaches 0.97), and neither text-rich calibration, min/max
ranges nor leaving the first convolutions or the neck and head in float brought them back.
Kept to repeat the measurement (``benchmarks/ocr.py --sets --int8 PATH``).

The detector is PP-OCRv4's (PaddleOCR, Apache-2.0), as RapidOCR (Apache-2.0) ships it in the
``rapidocr_onnxruntime`` wheel (``models/ch_PP-OCRv4_det_infer.onnx``, float32, opset 12).
This script

1. converts it to opset 13 (per-channel int8 needs it) and runs onnxruntime's
   pre-processing (shape inference, graph folding);
2. quantizes it to int8 (onnxruntime's static QDQ quantization: per-channel int8 weights,
   7-bit range so CPUs without VNNI don't saturate, uint8 activations), calibrated on the
   gate's own input (the 512x384 copy) of 48 photos made here: Debian's
   ``mate-backgrounds`` cut at random places (seed 2026) with calibration words of their
   own painted on half of them. ``benchmarks/ocr_sets.py``'s evaluation sets (seed 1,
   other words, the faces, the screenshots) are not among them. Activation ranges are the
   99.999th percentile: with plain min/max ranges the map flipped on plain photos (0.71
   where the float detector says 0.0001, a face then "had text").

::

    pip install onnx                      # only for this script, not a runtime dependency
    python tools/make_text_gate.py
    python benchmarks/ocr.py --sets --int8 bench-data/models/ppocrv4-det-int8.onnx --json

Were it shipped, the licence (Apache-2.0, PaddleOCR and RapidOCR) would go beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "bench-data" / "models" / "ppocrv4-det-int8.onnx"
CALIBRATION_SEED = 2026
CALIBRATION_WORDS = [
    "Apotheke", "Parking 3", "FRESH FISH", "Library", "Platform 12", "Cafe Luna", "STOP",
    "Departures", "Bakery", "Rent a Bike", "Zone C", "Ferry 14:05", "Florist", "Taxi",
    "Market Street", "POST OFFICE",
]


def main() -> None:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from photoorg.core.ingest.textgate import engine_model_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--photos", type=int, default=48, help="calibration photos")
    args = parser.parse_args()

    source = engine_model_file()
    model = version_converter.convert_version(onnx.load(source), 13)
    with tempfile.TemporaryDirectory() as tmp:
        opset13 = Path(tmp) / "det-opset13.onnx"
        onnx.save(model, opset13)
        prepared = Path(tmp) / "det-prepared.onnx"
        # the symbolic pass cannot follow the dynamic Resize sizes: ONNX shape inference
        # and onnxruntime's graph folding only
        quant_pre_process(str(opset13), str(prepared), skip_symbolic_shape=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        _quantize(prepared, args.out, _calibration_inputs(args.photos))
    data = args.out.read_bytes()
    print(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}, "
          f"from {source.name} sha256 {hashlib.sha256(source.read_bytes()).hexdigest()}")


def _calibration_inputs(count: int) -> list:
    """The detector's inputs for the gate's look at ``count`` photos made here."""
    import numpy as np
    from PIL import Image, ImageOps

    sys.path.insert(0, str(REPO / "benchmarks"))
    from benchmarks.indexing import fetch_mate_backgrounds
    from benchmarks.ocr_sets import paint_styled
    from photoorg.core.ingest import textgate

    sources = sorted(fetch_mate_backgrounds(REPO / "bench-data" / "mate"))
    rng = random.Random(CALIBRATION_SEED)
    blobs = []
    for i in range(count):
        with Image.open(sources[rng.randrange(len(sources))]) as im:
            im = im.convert("RGB")
        # a random 4:3 window of the wallpaper (the evaluation sets take the centre)
        width = rng.randint(im.width // 2, im.width)
        height = min(im.height, width * 3 // 4)
        left, top = rng.randint(0, im.width - width), rng.randint(0, im.height - height)
        im = ImageOps.fit(im.crop((left, top, left + width, top + height)), (2000, 1500))
        if rng.random() < 0.5:
            im = ImageOps.mirror(im)
        if i % 2:
            paint_styled(im, CALIBRATION_WORDS[i // 2 % len(CALIBRATION_WORDS)],
                         rng.uniform(0.02, 0.09), rng.randrange(4), rng.randrange(7), rng)
        im.thumbnail((textgate.GATE_SIDE, textgate.GATE_SIDE), Image.Resampling.BILINEAR)
        blobs.append(_blob(np.ascontiguousarray(np.asarray(im)[:, :, ::-1])))
    return blobs


def _blob(bgr):  # noqa: ANN001, ANN202 - numpy in, numpy out (numpy is imported lazily)
    import cv2
    import numpy as np

    height, width = bgr.shape[:2]
    bgr = cv2.copyMakeBorder(bgr, 0, -height % 32, 0, -width % 32, cv2.BORDER_REFLECT)
    return np.ascontiguousarray(
        (bgr.astype(np.float32) * (2 / 255.0) - 1.0).transpose(2, 0, 1)[np.newaxis])


def _quantize(fp32: Path, out: Path, blobs: list) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Inputs(CalibrationDataReader):
        def __init__(self) -> None:
            self.rest = iter([{"x": blob} for blob in blobs])

        def get_next(self) -> dict | None:
            return next(self.rest, None)

    quantize_static(str(fp32), str(out), Inputs(), quant_format=QuantFormat.QDQ,
                    per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.Percentile,
                    extra_options={"CalibPercentile": 99.999})


if __name__ == "__main__":
    main()
