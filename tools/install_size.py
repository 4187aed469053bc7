"""How much disk photoorg's installed dependencies take, from the installed distributions'
RECORD files (no network, nothing imported)::

    python tools/install_size.py            # the app: `pip install ... -e .`
    python tools/install_size.py test       # with the test extra
    python tools/install_size.py --json

Walks the dependency closure of the installed ``photoorg`` (markers evaluated for this
machine) and sums each distribution's files; CUDA parts (``nvidia-*``, ``cuda-*``,
``triton``) are counted apart, since PyPI's Linux torch pulls them and a CPU-only torch
does not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from importlib.metadata import Distribution, PackageNotFoundError, distribution

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CUDA_PREFIXES = ("nvidia", "cuda", "triton")


def closure(root: str, extras: list[str]) -> dict[str, Distribution]:
    seen: dict[str, Distribution] = {}
    stack: list[tuple[str, set[str]]] = [(root, set(extras))]
    while stack:
        name, wanted = stack.pop()
        key = canonicalize_name(name)
        if key in seen:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        seen[key] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or any(
                req.marker.evaluate({"extra": e}) for e in (wanted or {""})
            ):
                stack.append((req.name, set(req.extras)))
    return seen


def installed_size(dist: Distribution) -> int:
    total = 0
    for f in dist.files or []:
        if f.size:
            total += f.size
            continue
        with contextlib.suppress(OSError):
            total += f.locate().stat().st_size  # type: ignore[union-attr]
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("extras", nargs="*", help="extras of photoorg to include (test ...)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    dists = closure("photoorg", args.extras)
    sizes = sorted(((installed_size(d), k) for k, d in dists.items()), reverse=True)
    total = sum(s for s, _ in sizes)
    cuda = sum(s for s, k in sizes if k.startswith(CUDA_PREFIXES))
    if args.json:
        print(json.dumps({
            "distributions": len(sizes), "total_bytes": total, "cuda_bytes": cuda,
            "largest": [{"name": k, "bytes": s} for s, k in sizes[:15]],
        }))
        return 0
    print(f"{len(sizes)} distributions, {total / 2**30:.2f} GiB installed; "
          f"CUDA parts (nvidia-*, cuda-*, triton) {cuda / 2**30:.2f} GiB")
    for size, name in sizes[:15]:
        print(f"{size / 2**20:8.0f} MiB  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
