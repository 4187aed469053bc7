"""Train photoorg's bundled tiny CLIP on synthetic coloured shapes.

Real CLIP weights cannot be shipped with the tests, and random weights say nothing about text.
This script trains a tiny open_clip CLIP (architecture ``photoorg-tiny``) on pictures drawn by
:mod:`photoorg.core.media.synthetic`, so that "a photo of a red circle" really finds red circles.

Writes ``resources/models/photoorg-tiny.json`` (the open_clip model config) and
``resources/models/photoorg-tiny.safetensors`` (float16 weights), then prints held-out
precision@10 for text->image and image->image on freshly drawn pictures.

Deterministic for a given ``--seed``. Runs in about two minutes on two CPU cores::

    python tools/train_tiny_model.py
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import open_clip
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from photoorg.core.media.synthetic import CLASSES, caption, draw_shape_image  # noqa: E402

ARCH = "photoorg-tiny"

# Vision: open_clip's ModifiedResNet (a ``layers`` list selects it) with one bottleneck block per
# stage, 8 wide. A 2-layer ViT of the same cost learned shapes far more slowly from scratch
# (held-out precision@10 ~0.5 after 600 steps vs ~0.95): convolutions see edges and corners
# directly. Text: a 2-layer, 64-wide transformer over open_clip's default tokenizer.
MODEL_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

FULL_TEMPLATES = (
    "a photo of a {c} {s}",
    "a {c} {s}",
    "{c} {s}",
    "a picture of a {c} {s}",
    "an image of a {c} {s}",
    "a {c} {s} on a plain background",
    "photo of a {c} {s}",
)
SHAPE_TEMPLATES = ("a photo of a {s}", "a {s}", "{s}", "a picture of a {s}")
COLOR_TEMPLATES = ("something {c}", "a {c} shape", "a photo of something {c}", "{c}")

# Seed ranges: training pool and held-out evaluation pictures never share a seed.
TRAIN_SEED_BASE = 1_000_000
EVAL_SEED_BASE = 900_000_000


def _set_determinism(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _draw_pool(
    preprocess,
    per_class: int,
    seed_base: int,
    sizes: tuple[int, ...],
    rotations: tuple[float, ...] = (20.0,),
):
    """Draw ``per_class`` pictures of every class; return (tensor N×3×H×W, labels N).

    Sizes and maximum rotations cycle over the pictures (the app sees every size, and the
    bundled sample photos include shapes turned any way).
    """
    tensors, labels = [], []
    for k, (color, shape) in enumerate(CLASSES):
        for i in range(per_class):
            seed = seed_base + k * 100_003 + i
            size = sizes[i % len(sizes)]
            rotation = rotations[(i // len(sizes)) % len(rotations)]
            image = draw_shape_image(color, shape, size=size, seed=seed, max_rotation=rotation)
            tensors.append(preprocess(image))
            labels.append(k)
    return torch.stack(tensors), torch.tensor(labels)


def _text_bank(tokenizer):
    """All training texts, their tokens, and which (colour, shape) each one describes."""
    texts, colors, shapes = [], [], []
    color_names = sorted({c for c, _ in CLASSES})
    shape_names = sorted({s for _, s in CLASSES})
    for c, s in CLASSES:
        for t in FULL_TEMPLATES:
            texts.append(t.format(c=c, s=s))
            colors.append(color_names.index(c))
            shapes.append(shape_names.index(s))
    n_full = len(texts)
    for s in shape_names:
        for t in SHAPE_TEMPLATES:
            texts.append(t.format(s=s))
            colors.append(-1)
            shapes.append(shape_names.index(s))
    for c in color_names:
        for t in COLOR_TEMPLATES:
            texts.append(t.format(c=c))
            colors.append(color_names.index(c))
            shapes.append(-1)
    tokens = tokenizer(texts)
    class_color = torch.tensor([color_names.index(c) for c, _ in CLASSES])
    class_shape = torch.tensor([shape_names.index(s) for _, s in CLASSES])
    return tokens, torch.tensor(colors), torch.tensor(shapes), n_full, class_color, class_shape


def _augment(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random left-right flips (every class is invariant to them)."""
    flip = torch.rand(batch.shape[0], generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], batch.flip(-1), batch)


def _precision_at_k(sim: torch.Tensor, query_labels, item_labels, k: int, skip_self: bool) -> float:
    if skip_self:
        sim = sim.clone()
        sim.fill_diagonal_(-math.inf)
    top = sim.topk(k, dim=1).indices
    hits = item_labels[top] == query_labels[:, None]
    return float(hits.float().mean())


@torch.inference_mode()
def evaluate(
    model,
    tokenizer,
    preprocess,
    per_class: int = 11,
    seed_base: int = EVAL_SEED_BASE,
    rotation: float = 20.0,
):
    """Held-out precision@10: text->image (canonical captions) and image->image.

    11 pictures per class, so an image query has 10 others of its class to find.
    """
    model.eval()
    images, labels = _draw_pool(preprocess, per_class, seed_base, (256,), (rotation,))
    img = F.normalize(model.encode_image(images), dim=-1)
    txt = F.normalize(model.encode_text(tokenizer([caption(c, s) for c, s in CLASSES])), dim=-1)
    t2i = _precision_at_k(txt @ img.T, torch.arange(len(CLASSES)), labels, 10, skip_self=False)
    i2i = _precision_at_k(img @ img.T, labels, labels, 10, skip_self=True)
    return t2i, i2i


def report(model, tokenizer, preprocess) -> None:
    """Print held-out precision@10 on fresh pictures (slightly turned, and turned any way)."""
    t2i, i2i = evaluate(model, tokenizer, preprocess)
    print(f"held-out precision@10  text->image {t2i:.3f}  image->image {i2i:.3f}")
    t2i_any, i2i_any = evaluate(model, tokenizer, preprocess, rotation=180.0)
    print(f"  shapes turned any way: text->image {t2i_any:.3f}  image->image {i2i_any:.3f}")


def evaluate_saved(args: argparse.Namespace) -> None:
    """Evaluate the weights already in ``--out`` (no training)."""
    out_dir = Path(args.out)
    open_clip.add_model_config(out_dir / f"{ARCH}.json")
    torch.set_num_threads(args.threads)
    model, _, preprocess = open_clip.create_model_and_transforms(
        ARCH, pretrained=str(out_dir / f"{ARCH}.safetensors")
    )
    report(model, open_clip.get_tokenizer(ARCH), preprocess)


def train(args: argparse.Namespace) -> None:
    """Train, evaluate and save the tiny model."""
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / f"{ARCH}.json"
    config_path.write_text(json.dumps(MODEL_CONFIG, indent=2) + "\n", encoding="utf-8")
    open_clip.add_model_config(config_path)

    _set_determinism(args.seed, args.threads)
    model, _, preprocess = open_clip.create_model_and_transforms(ARCH, pretrained=None)
    tokenizer = open_clip.get_tokenizer(ARCH)

    t0 = time.perf_counter()
    pool, pool_labels = _draw_pool(
        preprocess, args.per_class, TRAIN_SEED_BASE, (64, 128, 256), (20.0, 180.0)
    )
    tokens, t_color, t_shape, n_full, class_color, class_shape = _text_bank(tokenizer)
    print(f"drew {len(pool)} training pictures in {time.perf_counter() - t0:.1f}s", flush=True)

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (decay if param.ndim >= 2 and "embedding" not in name else no_decay).append(param)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    warmup = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * 0.5 * (1 + math.cos(math.pi * progress))

    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    t_train = time.perf_counter()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        idx = torch.randint(0, len(pool), (args.batch,), generator=gen)
        images = _augment(pool[idx], gen)
        labels = pool_labels[idx]
        # Texts: one full caption per picture, plus a few colour-only / shape-only ones.
        full = labels * len(FULL_TEMPLATES) + torch.randint(
            0, len(FULL_TEMPLATES), (args.batch,), generator=gen
        )
        partial = n_full + torch.randint(0, len(tokens) - n_full, (args.batch // 4,), generator=gen)
        text_idx = torch.cat([full, partial])
        # match[i, j]: text j describes picture i (a shared caption is a positive, too).
        ic, ish = class_color[labels][:, None], class_shape[labels][:, None]
        tc, ts = t_color[text_idx][None, :], t_shape[text_idx][None, :]
        match = ((tc == ic) | (tc < 0)) & ((ts == ish) | (ts < 0))
        match = match.float()

        img = F.normalize(model.encode_image(images), dim=-1)
        txt = F.normalize(model.encode_text(tokens[text_idx]), dim=-1)
        scale = model.logit_scale.exp().clamp(max=100)
        logits = scale * img @ txt.T
        loss_i2t = -(F.log_softmax(logits, dim=1) * match / match.sum(1, keepdim=True)).sum(1)
        loss_t2i = -(F.log_softmax(logits.T, dim=1) * match.T / match.T.sum(1, keepdim=True)).sum(1)
        # Image-image: pictures of the same class are positives (helps "find similar").
        same = (labels[:, None] == labels[None, :]).float()
        same.fill_diagonal_(0)
        li = scale * img @ img.T
        li = li - torch.eye(len(labels)) * 1e4
        has_pos = same.sum(1) > 0
        targets = same / same.sum(1, keepdim=True).clamp(min=1)
        loss_i2i = -(F.log_softmax(li, dim=1) * targets).sum(1)
        loss = loss_i2t.mean() + loss_t2i.mean() + args.i2i_weight * loss_i2i[has_pos].mean()

        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {loss.item():.3f}  scale {scale.item():.1f}", flush=True)
    train_s = time.perf_counter() - t_train

    print(f"training: {args.steps} steps x {args.batch} pictures in {train_s:.1f}s")
    report(model, tokenizer, preprocess)

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    weights_path = out_dir / f"{ARCH}.safetensors"
    save_file(state, str(weights_path), metadata={"arch": ARCH, "steps": str(args.steps)})
    print(f"wrote {config_path} and {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "resources" / "models"))
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--per-class", type=int, default=100, help="training pictures per class")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--i2i-weight", type=float, default=0.5, help="image-image loss weight")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-only", action="store_true", help="evaluate the saved weights")
    args = parser.parse_args(argv)
    (evaluate_saved if args.eval_only else train)(args)


if __name__ == "__main__":
    main()
