"""Reviewing duplicates (core): the suggested keeper and why, "not duplicates" by content,
the trash move with the catalog following (the system's real trash; on Linux a temporary one)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoorg.core.media import pixels
from photoorg.core.media.imaging import decode_photo
from photoorg.core.search import duplicates
from photoorg.core.search.duplicates import Member, looks_edited, suggest_keeper
from photoorg.core.store import journal, missing, pixel_signatures
from photoorg.core.store.catalog import Catalog


def test_edited_names() -> None:
    for name in ("IMG_1 (1).jpg", "IMG_1-edited.jpg", "IMG_1_copy.jpg", "Copy of IMG_1.jpg",
                 "IMG_1-bearbeitet.jpg", "IMG_1 copy 2.jpg"):
        assert looks_edited(name), name
    for name in ("IMG_1.jpg", "DSC04012.JPG", "beach.jpg", "2023-07-01.jpg"):
        assert not looks_edited(name), name


def _m(pid: int, name: str, w: int, h: int, date: float) -> Member:
    return Member(pid, Path("/p") / name, 0.99, w, h, 1000, None, date, f"h{pid}")


def test_keeper_largest_then_original_then_oldest() -> None:
    keep, why = suggest_keeper([_m(1, "a.jpg", 100, 100, 1), _m(2, "b.jpg", 400, 300, 9)])
    assert keep.id == 2 and why == "the largest (400 × 300)"
    keep, why = suggest_keeper([_m(1, "a (1).jpg", 400, 300, 1), _m(2, "a.jpg", 400, 300, 9)])
    assert keep.id == 2 and why.startswith("the original")
    keep, why = suggest_keeper([_m(1, "x.jpg", 400, 300, 5), _m(2, "y.jpg", 400, 300, 3)])
    assert keep.id == 2 and why == "the oldest of the same size"


SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "people" / "obama_1.jpg"


@pytest.fixture
def cat(tmp_path: Path) -> Catalog:
    """a.jpg, its recompressed copy "a (1).jpg" and a smaller export b.jpg of a real photo,
    with their pixel signatures (as the embed stage stores them)."""
    with Catalog(tmp_path / "catalog.db") as c:
        root = c.add_root(tmp_path / "photos")
        (tmp_path / "photos").mkdir()
        with Image.open(SAMPLE) as im:
            picture = im.convert("RGB")
        for i, (name, w, q) in enumerate((("a.jpg", 200, 92), ("a (1).jpg", 200, 60),
                                          ("b.jpg", 120, 85))):
            path = tmp_path / "photos" / name
            picture.resize((w, w * picture.height // picture.width)).save(path, quality=q)
            pid = c.add_photo(root.id, name, path.stat().st_size, 1.0 + i, f"hash{i}")
            c.record_info(pid, width=w, height=w, taken_at=None, latitude=None,
                          longitude=None, camera=None)
            pixel_signatures.store(c, [(pid, pixels.signature(decode_photo(path).image))])
        yield c


def test_not_duplicates_hides_the_group_until_a_new_lookalike(cat: Catalog) -> None:
    pairs = [(1, 2, 0.99)]
    (group,) = duplicates.groups_from_pairs(cat, pairs, 0.95)
    assert group.keep == 1 and group.others == [2]
    assert duplicates.dismiss(cat, [1, 2]) == 1
    assert duplicates.groups_from_pairs(cat, pairs, 0.95) == []
    journal.undo(cat)  # "Not duplicates" is a decision like the others
    assert len(duplicates.groups_from_pairs(cat, pairs, 0.95)) == 1
    assert duplicates.dismiss(cat, [1, 2]) == 1
    assert len(duplicates.groups_from_pairs(cat, pairs, 0.95, skip_dismissed=False)) == 1
    # b.jpg joins, alike to both: it is offered with a.jpg, and a (1).jpg -- which the user
    # said is a different photo -- is not put back up for the trash
    (back,) = duplicates.groups_from_pairs(cat, [*pairs, (1, 3, 0.97), (2, 3, 0.96)], 0.95)
    assert back.keep == 1 and back.others == [3]


def test_move_to_trash_real_trash(cat: Catalog, tmp_path: Path,
                                  system_trash: Path | None) -> None:
    original = (tmp_path / "photos" / "a (1).jpg").read_bytes()
    moved = duplicates.move_to_trash(cat, [2])
    assert [p.name for p in moved] == ["a (1).jpg"]
    assert not (tmp_path / "photos" / "a (1).jpg").exists()
    if system_trash is not None:
        assert (system_trash / "files" / "a (1).jpg").read_bytes() == original
    # the row stays, missing (hidden), so nothing the user made on it is lost
    assert missing.missing_ids(cat) == {2} and cat.photo(1) is not None
    (tmp_path / "photos" / "b.jpg").unlink()  # offline or gone: named, kept in the catalog
    with pytest.raises(duplicates.TrashError, match="b.jpg"):
        duplicates.move_to_trash(cat, [3])
    assert cat.photo(3) is not None
    (entry,) = journal.undo(cat)
    assert entry.summary == "Move 1 photo(s) to the trash"
    if system_trash is None:  # no index of the Recycle Bin/Trash here: the row waits, missing
        assert missing.missing_ids(cat) == {2}
        return
    # Undo takes the file out of the trash; the photo is back as it was
    assert (tmp_path / "photos" / "a (1).jpg").read_bytes() == original
    assert not (system_trash / "files" / "a (1).jpg").exists()
    assert not list((system_trash / "info").iterdir())
    assert missing.missing_ids(cat) == set()


def test_a_file_open_in_another_process(cat: Catalog, tmp_path: Path,
                                        system_trash: Path | None) -> None:
    """Each OS as it behaves: Windows refuses to move a file that another process has open
    (the trash move names it, the photo stays as it was); elsewhere the move goes through and
    the other process keeps reading what it opened."""
    path = tmp_path / "photos" / "a (1).jpg"
    original = path.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nf = open(sys.argv[1], 'rb')\nprint('open', flush=True)"
         "\nsys.stdin.read()\nprint(len(f.read()))", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        if sys.platform == "win32":
            with pytest.raises(duplicates.TrashError, match=re.escape("a (1).jpg")):
                duplicates.move_to_trash(cat, [2])
            assert path.read_bytes() == original and missing.missing_ids(cat) == set()
        else:
            assert duplicates.move_to_trash(cat, [2]) == [path]
            assert not path.exists() and missing.missing_ids(cat) == {2}
    finally:
        out, _ = holder.communicate("", timeout=30)
    assert out.strip() == str(len(original))


# -- groups form around keepers, never by chaining ---------------------------------------------
# The grouping layer on its own: here the pairs called copies are the ones whose vectors are
# at least the threshold alike (the pixel check itself is tested in test_pixels.py).

DIM = 16


def _arc(*degrees: float) -> np.ndarray:
    """Unit vectors at these angles in one plane: cosine of 14.07 degrees apart = 0.97."""
    out = np.zeros((len(degrees), DIM), np.float32)
    rad = np.radians(degrees)
    out[:, 0], out[:, 1] = np.cos(rad), np.sin(rad)
    return out


def _library(folder: Path, photos: list[tuple[str, int, np.ndarray]]) -> Catalog:
    """A real catalog over real JPEGs (``(name, width, vector)``, 3:4), vectors written
    directly (the test chooses how alike the photos are), photos added in the given order."""
    (folder / "photos").mkdir(parents=True)
    cat = Catalog(folder / "catalog.db")
    root = cat.add_root(folder / "photos")
    model = cat.set_target_model("test/vectors", DIM)
    ids = []
    for name, width, _ in photos:
        path = folder / "photos" / name
        Image.new("RGB", (width, width * 3 // 4), (40, 160, 60)).save(path, quality=90)
        data = path.read_bytes()
        pid = cat.add_photo(root.id, name, len(data), 1e9, hashlib.sha256(data).hexdigest())
        cat.record_info(pid, width=width, height=width * 3 // 4, taken_at=None,
                        latitude=None, longitude=None, camera=None)
        ids.append(pid)
    cat.store_vectors(model.id, ids, np.stack([v for _, _, v in photos]))
    return cat


def _review(cat: Catalog, threshold: float) -> list[duplicates.Group]:
    ids, mat = cat.load_vectors(cat.active_model().id)
    mat = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    sims = mat @ mat.T
    ids = ids.tolist()
    copy = pixels.Match(pixels.EXACT, 1.0, "same")
    matches = {(ids[i], ids[j]): (float(sims[i, j]), copy) for i in range(len(ids))
               for j in range(i + 1, len(ids)) if sims[i, j] >= threshold}
    return duplicates.groups_from_matches(cat, matches, threshold)


def _named(groups: list[duplicates.Group]) -> list[tuple[str, list[tuple[str, float]], str]]:
    return [(g.member(g.keep).path.name,
             [(m.path.name, round(m.similarity, 4)) for m in g.members if m.id != g.keep],
             g.why) for g in groups]


@pytest.mark.parametrize(("largest", "want"), [
    # A~B and B~C 0.97 alike, A and C 0.88: A kept -> only B goes; C is no copy of A
    ("a", [("a.jpg", [("b.jpg", 0.97)])]),
    # B kept -> A and C are both copies of it (each 0.97), though not of each other
    ("b", [("b.jpg", [("a.jpg", 0.97), ("c.jpg", 0.97)])]),
    ("c", [("c.jpg", [("b.jpg", 0.97)])]),
])
def test_a_chain_never_offers_a_photo_unlike_the_keeper(tmp_path: Path, largest: str,
                                                        want: list) -> None:
    theta = float(np.degrees(np.arccos(0.97)))
    vecs = _arc(0, theta, 2 * theta)
    photos = [(f"{n}.jpg", 400 if n == largest else 200, v)
              for n, v in zip("abc", vecs, strict=True)]
    with _library(tmp_path, photos) as cat:
        groups = _review(cat, 0.95)
    assert [(k, m) for k, m, _ in _named(groups)] == want
    (group,) = groups
    assert group.why == "the largest (400 × 300)" and group.threshold == 0.95
    assert all(m.similarity >= 0.95 for m in group.members)
    assert group.similarity == pytest.approx(0.97, abs=1e-4)


def _scene(seed: int) -> list[tuple[str, int, np.ndarray]]:
    """Look-alikes in chains: five bursts, each shot drifting from the previous one, some
    shots of equal size (the keeper then falls to the path, never to the order)."""
    rng = np.random.default_rng(seed)
    photos = []
    for burst in range(5):
        base = rng.standard_normal(DIM)
        for shot in range(5):
            vec = base + 0.35 * shot * rng.standard_normal(DIM) / np.sqrt(DIM)
            photos.append((f"burst{burst}_{shot}.jpg", int(rng.choice([160, 200, 200])),
                           (vec / np.linalg.norm(vec)).astype(np.float32)))
    return photos


def test_groups_do_not_depend_on_photo_order(tmp_path: Path) -> None:
    photos = _scene(3)
    results = []
    for n, order in enumerate([range(25), range(24, -1, -1),
                               np.random.default_rng(1).permutation(25),
                               np.random.default_rng(2).permutation(25)]):
        with _library(tmp_path / f"order{n}", [photos[i] for i in order]) as cat:
            results.append(_named(_review(cat, 0.95)))
    assert results[0] and all(r == results[0] for r in results[1:])


@pytest.mark.parametrize("threshold", [0.9, 0.95])
def test_groups_against_brute_force(tmp_path: Path, threshold: float) -> None:
    photos = _scene(7)
    with _library(tmp_path, photos) as cat:
        groups = _review(cat, threshold)
    vec = {name: v for name, _, v in photos}
    width = {name: w for name, w, _ in photos}
    sims = {(a, b): float(vec[a] @ vec[b]) for a in vec for b in vec}
    alike = {(a, b) for (a, b), s in sims.items() if a != b and s >= threshold}
    # the data has chains: look-alikes of look-alikes that are not alike themselves
    assert any((a, c) not in alike and a != c for a, b in alike for b2, c in alike if b2 == b)
    grouped: list[str] = []
    for g in groups:
        keep = g.member(g.keep).path.name
        names = [m.path.name for m in g.members]
        grouped += names
        assert names[0] == keep and g.others == [m.id for m in g.members[1:]]
        for m in g.members[1:]:  # every one offered for the trash is a copy of the keeper
            assert sims[keep, m.path.name] >= threshold
            assert m.similarity == pytest.approx(sims[keep, m.path.name], abs=1e-5)
        # the keeper is the best of its group: the largest, then the first path
        assert keep == min(names, key=lambda n: (-width[n], n))
    assert len(grouped) == len(set(grouped))  # one group per photo
    loose = set(vec) - set(grouped)  # photos left alone have no look-alike left alone
    assert not any((a, b) in alike for a in loose for b in loose)
