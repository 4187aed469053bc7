"""``photoorg --self-test``: prove an installation works, headless, on the shipped samples.

Creates a temporary library from ``resources/samples``, indexes it with the bundled tiny
model, runs a text search, a find-similar, face detection and clustering, then prints one
line and returns 0 — or 1 naming the step that failed. Runs the same in a dev install and
in the frozen app (resources are found through :func:`photoorg.resources.resource_path`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from photoorg.resources import resource_path


class SelfTestError(Exception):
    pass


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SelfTestError(message)


def run_self_test(verbose: bool = False) -> int:
    started = time.monotonic()
    steps: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="photoorg-selftest-"))
    try:
        report = _run(workdir, steps)
    except Exception as exc:
        step = steps[-1] if steps else "start"
        detail = str(exc) if isinstance(exc, SelfTestError) else repr(exc)
        print(f"photoorg self-test FAILED at {step}: {detail}")
        if verbose or not isinstance(exc, SelfTestError):
            traceback.print_exc()
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"photoorg self-test ok in {time.monotonic() - started:.1f}s: {report}")
    return 0


def _run(workdir: Path, steps: list[str]) -> str:
    def step(name: str) -> Callable[[], None]:
        steps.append(name)
        return lambda: None

    step("samples")
    samples = resource_path("samples")
    _check(samples.is_dir(), f"sample photos missing at {samples}")
    library = workdir / "photos"
    shutil.copytree(samples, library)
    before = {p: p.read_bytes() for p in library.rglob("*") if p.is_file()}

    step("catalog")
    from photoorg.config import Settings
    from photoorg.core.app.api import TEST_MODEL
    from photoorg.core.app.library import Library

    # the same library core the CLI and the window use (scan, pipeline, queries)
    lib = Library(workdir / "data", model=TEST_MODEL, settings=Settings())
    try:
        lib.add_folders([library])
        scan = lib.scan()
        _check(scan.added > 0, "no sample photos found by the scanner")

        step("model")
        lib.require_target_model()

        step("index")
        summary = lib.run_pipeline(faces=True).summary
        _check(summary.embedded == scan.added, f"indexed {summary.embedded}/{scan.added}")

        step("text search")
        hits = lib.search("a photo of a red circle", k=3).hits
        _check(bool(hits) and "red_circle" in hits[0].path.name,
               f"top hit for 'red circle' was {hits[0].path.name if hits else None}")

        step("find similar")
        similar = lib.similar_ids([hits[0].photo_id], k=3)
        names = [h.path.name for h in similar]
        _check(bool(names) and names[0].startswith("red_")
               and any("red_circle" in n for n in names),
               f"similar to {hits[0].path.name}: {names}")

        step("faces")
        cat = lib.writer
        n_faces = cat.scalar("SELECT COUNT(*) FROM faces")
        _check(n_faces >= 2, f"found {n_faces} faces in the sample portraits")

        step("clustering")
        n_people = cat.scalar(
            "SELECT COUNT(DISTINCT cluster_id) FROM faces WHERE cluster_id IS NOT NULL"
        )
        _check(n_people >= 1, "no people clusters formed")

        step("integrity")
        _check(cat.integrity_check() == "ok", "catalog integrity check failed")
    finally:
        lib.close_search_index()
        lib.close()
    step("originals")
    after = {p: p.read_bytes() for p in library.rglob("*") if p.is_file()}
    _check(before == after, "a sample photo was modified")
    return (
        f"{summary.embedded} photos indexed, text search ok, find-similar ok, "
        f"{n_faces} faces in {n_people} people"
    )
