"""The pixel check that decides duplicates, on real photos (the sample portraits the app
ships) and the copies a user really has: each kind recognised, and different photos -- other
people, other views of one scene -- never called copies, whatever CLIP says."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from photoorg.core.media import pixels
from photoorg.core.media.imaging import decode_photo
from photoorg.core.search import duplicates
from photoorg.core.store import pixel_signatures
from photoorg.core.store.catalog import Catalog

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples" / "people"


def _original(name: str = "obama_1.jpg") -> Image.Image:
    with Image.open(SAMPLES / name) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _sig(path: Path) -> pixels.Signature:
    """As the embed stage makes it: from its own decode (orientation applied)."""
    return pixels.signature(decode_photo(path, min_side=224).image)


def _write(im: Image.Image, path: Path, **kwargs: object) -> Path:
    im.save(path, **kwargs)
    return path


def _copy(kind: str, im: Image.Image, folder: Path) -> Path:
    time.sleep(0.01)  # a copy is newer than its original
    w, h = im.size
    if kind == "smaller export":
        return _write(im.resize((w * 2 // 5, h * 2 // 5), Image.Resampling.LANCZOS),
                      folder / "small.jpg", quality=85)
    if kind == "recompressed":
        return _write(im, folder / "recompressed.jpg", quality=40)
    if kind == "exif-rotated":  # stored turned; EXIF Orientation 6 turns it back on display
        exif = Image.Exif()
        exif[0x0112] = 6
        return _write(im.transpose(Image.Transpose.ROTATE_90), folder / "rotated.jpg",
                      quality=90, exif=exif.tobytes())
    if kind == "format change":
        return _write(im.resize((w * 3 // 5, h * 3 // 5)), folder / "converted.png")
    if kind == "turned":  # really turned a quarter (no EXIF): same pixels
        return _write(im.transpose(Image.Transpose.ROTATE_270), folder / "turned.jpg",
                      quality=90)
    if kind == "crop":
        return _write(im.crop((w // 8, h // 20, w // 8 + w * 4 // 5, h // 20 + h * 4 // 5)),
                      folder / "crop.jpg", quality=92)
    if kind == "brightness":
        return _write(ImageEnhance.Brightness(im).enhance(1.3), folder / "bright.jpg",
                      quality=92)
    raise ValueError(kind)


@pytest.mark.parametrize(("kind", "want"), [
    ("smaller export", pixels.EXACT), ("recompressed", pixels.EXACT),
    ("exif-rotated", pixels.EXACT), ("format change", pixels.EXACT),
    ("turned", pixels.EXACT), ("crop", pixels.EDITED), ("brightness", pixels.EDITED),
])
@pytest.mark.parametrize("name", ["obama_1.jpg", "biden_2.jpg"])
def test_each_kind_of_copy(tmp_path: Path, name: str, kind: str, want: str) -> None:
    im = _original(name)
    original = _write(im, tmp_path / "original.jpg", quality=92)
    copy = _copy(kind, im, tmp_path)
    a, b = _sig(original), _sig(copy)
    for x, y in ((a, b), (b, a)):  # either way round
        match = pixels.compare(x, y)
        assert match is not None and match.kind == want, (kind, match)
    if kind in ("smaller export", "recompressed", "exif-rotated"):
        assert pixels.hash_distance(a.phash, b.phash) <= pixels.PHASH_PROPOSE  # no model needed


def test_different_people_and_other_views_of_a_scene_are_not_copies(tmp_path: Path) -> None:
    sigs = {n: _sig(_write(_original(n), tmp_path / n, quality=92))
            for n in ("obama_1.jpg", "obama_2.jpg", "biden_1.jpg")}
    # three views of one scene (not itself in the set), panned 10%: none inside another
    im = _original("biden_2.jpg")
    w, h = im.size
    for view in range(3):
        x0 = w * view // 10
        name = f"view{view}.jpg"
        sigs[name] = _sig(_write(im.crop((x0, 0, x0 + w * 8 // 10, h)), tmp_path / name,
                                 quality=92))
    names = sorted(sigs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert pixels.compare(sigs[a], sigs[b]) is None, (a, b)


def test_featureless_pictures_are_never_copies(tmp_path: Path) -> None:
    a = pixels.signature(Image.new("RGB", (400, 300), (20, 20, 20)))
    b = pixels.signature(Image.new("RGB", (800, 600), (21, 21, 21)))
    assert pixels.compare(a, b) is None


def test_hash_pairs_are_exhaustive_within_the_distance() -> None:
    rng = np.random.default_rng(3)
    hashes = [int(x) for x in rng.integers(0, 2**63, 300, dtype=np.int64)]
    hashes[7] = hashes[200] ^ 0b1011  # 3 bits apart
    ids = list(range(1000, 1300))
    found = set(pixels.hash_pairs(ids, hashes, max_distance=3, block=64))
    brute = {(ids[i], ids[j]) for i in range(300) for j in range(i + 1, 300)
             if pixels.hash_distance(hashes[i], hashes[j]) <= 3}
    assert found == brute and (1007, 1200) in found


def test_signature_round_trips_through_the_catalog(tmp_path: Path) -> None:
    sig = _sig(_write(_original(), tmp_path / "a.jpg", quality=90))
    with Catalog(tmp_path / "catalog.db") as cat:
        root = cat.add_root(tmp_path)
        pid = cat.add_photo(root.id, "a.jpg", 1, 1.0, "hash-a")
        pixel_signatures.store(cat, [(pid, sig)])
        back = pixel_signatures.load(cat, [pid])[pid]
        assert np.array_equal(back.grey, sig.grey) and back.phash == sig.phash
        assert back.aspect == pytest.approx(sig.aspect)
        # the file changed (new content hash): the old signature no longer counts
        cat.execute("UPDATE photos SET content_hash = 'hash-b' WHERE id = ?", (pid,))
        assert pixel_signatures.load(cat, [pid]) == {}


# -- review: CLIP proposes, pixels decide ----------------------------------------------------

DIM = 8


def _catalog(folder: Path, files: dict[str, Path], vectors: dict[str, np.ndarray]) -> Catalog:
    """A catalog over real files (copies written after their originals: newer) with their
    signatures (as the embed stage stores them) and the CLIP vectors the test chooses."""
    cat = Catalog(folder / "catalog.db")
    root = cat.add_root(files[next(iter(files))].parent)
    model = cat.set_target_model("test/vectors", DIM)
    ids = []
    for name, path in files.items():
        data = path.read_bytes()
        pid = cat.add_photo(root.id, name, len(data), path.stat().st_mtime,
                            hashlib.sha256(data).hexdigest())
        with Image.open(path) as im:
            w, h = ImageOps.exif_transpose(im).size
        cat.record_info(pid, width=w, height=h, taken_at=None, latitude=None,
                        longitude=None, camera=None)
        pixel_signatures.store(cat, [(pid, _sig(path))])
        ids.append(pid)
    cat.store_vectors(model.id, ids, np.stack([vectors[n] for n in files]))
    return cat


def _unit(*values: float) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def test_similar_scene_at_cosine_099_is_no_group_and_copies_are(tmp_path: Path) -> None:
    """Two views of one scene and two different people, all at CLIP cosine >= 0.98 to each
    other (what a cosine-only finder joins): no group. The real copies form groups around
    their keepers, exact copies ticked, the edited one not."""
    photos = tmp_path / "photos"
    photos.mkdir()
    im = _original("biden_2.jpg")
    w, h = im.size
    files = {
        "view0.jpg": _write(im.crop((0, 0, w * 8 // 10, h)), photos / "view0.jpg", quality=92),
        "view1.jpg": _write(im.crop((w // 10, 0, w * 9 // 10, h)), photos / "view1.jpg",
                            quality=92),
        "obama_1.jpg": _write(_original("obama_1.jpg"), photos / "obama_1.jpg", quality=92),
        "obama_2.jpg": _write(_original("obama_2.jpg"), photos / "obama_2.jpg", quality=92),
    }
    original = _original("obama_1.jpg")
    for kind in ("smaller export", "recompressed", "brightness"):
        path = _copy(kind, original, photos)
        files[path.name] = path
    near = {name: _unit(1.0, 0.01 * i) for i, name in enumerate(files)}  # all >= 0.99
    with _catalog(tmp_path, files, near) as cat:
        cosines = [float(near[a] @ near[b]) for a in ("view0.jpg", "obama_1.jpg")
                   for b in ("view1.jpg", "obama_2.jpg")]
        assert min(cosines) > 0.97
        stats: dict[str, float] = {}
        groups = duplicates.review(cat, 0.97, stats=stats)
        assert stats["candidates"] >= 21  # every pair proposed, by the cosine
    (group,) = groups
    names = {m.path.name: m for m in group.members}
    assert set(names) == {"obama_1.jpg", "small.jpg", "recompressed.jpg", "bright.jpg"}
    assert group.member(group.keep).path.name == "obama_1.jpg"
    assert {group.member(p).path.name for p in group.others} == {"small.jpg",
                                                                 "recompressed.jpg"}
    assert [group.member(p).path.name for p in group.edited] == ["bright.jpg"]
    assert names["bright.jpg"].kind == pixels.EDITED and names["small.jpg"].kind == pixels.EXACT


def test_a_weak_model_that_proposes_nothing_still_finds_exact_copies(tmp_path: Path) -> None:
    """Vectors pointing every way (a model that sees nothing): the pixels alone propose and
    decide."""
    photos = tmp_path / "photos"
    photos.mkdir()
    original = _original("obama_2.jpg")
    files = {"obama_2.jpg": _write(original, photos / "obama_2.jpg", quality=92)}
    for kind in ("smaller export", "exif-rotated"):
        path = _copy(kind, original, photos)
        files[path.name] = path
    files["biden_1.jpg"] = _write(_original("biden_1.jpg"), photos / "biden_1.jpg")
    apart = {name: np.eye(DIM, dtype=np.float32)[i] for i, name in enumerate(files)}
    with _catalog(tmp_path, files, apart) as cat:
        (group,) = duplicates.review(cat, 0.95)
    assert {m.path.name for m in group.members} == {"obama_2.jpg", "small.jpg",
                                                    "rotated.jpg"}
    assert group.member(group.keep).path.name == "obama_2.jpg" and len(group.others) == 2


def test_groups_form_around_the_keeper_never_by_chaining(tmp_path: Path) -> None:
    """A (the left 70%, enlarged: the largest) and C (the right 70%) are both crops of B, not
    of each other. Keeping A offers B only; C, unlike A, is never put up to keep A."""
    photos = tmp_path / "photos"
    photos.mkdir()
    im = _original("obama_1.jpg")
    w, h = im.size
    left = im.crop((0, 0, w * 7 // 10, h * 7 // 10))
    files = {
        "a.jpg": _write(left.resize((w * 2, h * 2)), photos / "a.jpg", quality=92),
        "b.jpg": _write(im, photos / "b.jpg", quality=92),
        "c.jpg": _write(im.crop((w * 3 // 10, h * 3 // 10, w, h)), photos / "c.jpg",
                        quality=92),
    }
    sigs = {n: _sig(p) for n, p in files.items()}
    assert pixels.compare(sigs["a.jpg"], sigs["b.jpg"]) is not None
    assert pixels.compare(sigs["b.jpg"], sigs["c.jpg"]) is not None
    assert pixels.compare(sigs["a.jpg"], sigs["c.jpg"]) is None
    same = {n: _unit(1.0) for n in files}
    with _catalog(tmp_path, files, same) as cat:
        (group,) = duplicates.review(cat, 0.95)
    assert group.member(group.keep).path.name == "a.jpg"
    assert [m.path.name for m in group.members] == ["a.jpg", "b.jpg"]
    assert group.others == [] and len(group.edited) == 1  # a crop: review, never ticked


def test_a_copy_with_one_part_changed_is_never_an_exact_copy(tmp_path: Path) -> None:
    """Like another frame of a burst (someone moved a hand): the same picture but for one
    part. Offered for review at most, never ticked for the trash."""
    im = _original("obama_1.jpg")
    w, h = im.size
    original = _write(im, tmp_path / "original.jpg", quality=92)
    changed = im.copy()
    with Image.open(SAMPLES / "biden_2.jpg") as other:
        patch = other.convert("RGB").resize((w // 6, h // 6))
    changed.paste(patch, (w // 2, h // 2))
    match = pixels.compare(_sig(original), _sig(_write(changed, tmp_path / "frame2.jpg",
                                                       quality=92)))
    assert match is None or match.kind == pixels.EDITED, match
