"""First looks (issue 26): the face pass decides "no face here" on the embed stage's own
decode, and the library ends up exactly as if the face pass had decoded every photo itself.
Real photos (``tests/data/faces-dev``), the real ``photoorg index`` process, the real face
and OCR models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from photoorg.core.ingest import firstlook, ocr
from photoorg.core.media.imaging import decode_photo, load_rgb
from photoorg.core.store.catalog import Catalog

FACES = Path(__file__).resolve().parents[1] / "data" / "faces-dev"
TINY = "photoorg-tiny/bundled"


def _camera(src: Path | Image.Image, size: tuple[int, int] = (4000, 3000)) -> Image.Image:
    im = src if isinstance(src, Image.Image) else Image.open(src)
    return ImageOps.fit(im.convert("RGB"), size)


def _scene(seed: int, size: tuple[int, int] = (4000, 3000)) -> Image.Image:
    """A photo with no face and no lettering: smooth sky over a darker, grainy ground."""
    rng = np.random.default_rng(seed)
    h, w = size[1] // 8, size[0] // 8
    y = np.linspace(0, 1, h)[:, None, None]
    sky = np.array([90, 150, 220]) * (1 - y) + np.array([60, 110, 50]) * y
    pixels = np.broadcast_to(sky, (h, w, 3)) + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize(
        size, Image.Resampling.BICUBIC)


def _sign(im: Image.Image, word: str) -> Image.Image:
    im = im.copy()
    size = int(im.height * 0.05)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=size)
    box = draw.textbbox((0, 0), word, font=font)
    x, y, pad = im.width // 10, im.height // 10, size // 3
    draw.rectangle((x - pad, y - pad, x + box[2] - box[0] + pad, y + box[3] - box[1] + 2 * pad),
                   fill=(240, 238, 228))
    draw.text((x - box[0], y - box[1]), word, font=font, fill=(20, 20, 25))
    return im


@pytest.mark.parametrize("size", [(4000, 3000), (1600, 1200), (3000, 4000), (600, 200),
                                  (300, 200)])
def test_the_look_copy_is_what_the_stage_would_decode_and_the_embed_copy_is_unchanged(
        tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "p.jpg"
    _camera(FACES / "obama" / "obama.jpg", size).save(path, quality=92)
    plain = decode_photo(path, min_side=224)
    both = decode_photo(path, min_side=224, look_side=firstlook.LOOK_SIDE,
                        look_slack=firstlook.LOOK_SLACK)
    assert plain.look is None
    assert np.array_equal(np.asarray(plain.image), np.asarray(both.image))
    assert plain.info == both.info
    alone = load_rgb(path, firstlook.LOOK_SIDE, slack=firstlook.LOOK_SLACK)
    assert both.look is not None and np.array_equal(np.asarray(both.look), np.asarray(alone))
    # the stages' own copies are at least this large: a smaller look copy decides nothing
    assert firstlook.usable(both.look) == (max(size) >= 384)


def _index(data: Path, *args: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", ocr.ENV_READ_TEXT: "1"}
    proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), "index",
                           *args, "--model", TINY, "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _outcome(data: Path) -> tuple[dict, dict]:
    with Catalog(data / "catalog.sqlite") as cat:
        faces: dict[str, list] = {}
        for rel, x, y, w, h in cat.query(
                "SELECT p.rel_path, f.x, f.y, f.w, f.h FROM faces f JOIN photos p "
                "ON p.id = f.photo_id ORDER BY p.rel_path, f.x"):
            faces.setdefault(rel, []).append((round(x, 4), round(y, 4), round(w, 4),
                                              round(h, 4)))
        done = dict(cat.query("SELECT rel_path, faces_done FROM photos"))
        assert set(done.values()) == {1}
        text = dict(cat.query("SELECT p.rel_path, t.status || ':' || t.text FROM photo_text t "
                              "JOIN photos p ON p.id = t.photo_id"))
    return faces, text


def test_index_with_first_looks_finds_the_same_faces_and_words_as_the_stages_alone(
        tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    _camera(FACES / "obama" / "obama.jpg").save(photos / "obama.jpg", quality=92)
    _camera(FACES / "biden" / "biden2.jpg").save(photos / "biden.jpg", quality=92)
    _sign(_scene(1), "BAKERY").save(photos / "bakery.jpg", quality=92)
    for i in range(3):
        _scene(10 + i).save(photos / f"scene_{i}.jpg", quality=92)

    # one run: the embed stage's looks decide for the photos with nothing in them
    fused = _index(tmp_path / "fused", str(photos))
    stages = fused["stages"]
    assert stages["embed"]["photos"] == 6
    assert stages["faces"]["photos"] < 6  # the scenes never reached the face pass
    # the stages alone: embed first without them (no looks), then each decodes every photo
    apart = tmp_path / "apart"
    _index(apart, str(photos), "--no-faces", "--read-text", "off")
    alone = _index(apart, str(photos), "--read-text", "on")
    assert alone["stages"]["faces"]["photos"] == 6 and alone["stages"]["text"]["photos"] == 6

    faces, text = _outcome(tmp_path / "fused")
    assert (faces, text) == _outcome(apart)
    assert "biden.jpg" in faces and not any(name.startswith("scene") for name in faces)
    assert text["bakery.jpg"] == "done:BAKERY"
    assert {text[f"scene_{i}.jpg"] for i in range(3)} == {"done:"}


def test_a_look_settles_only_photos_its_stage_has_not_done(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    _camera(FACES / "obama" / "obama.jpg", (1600, 1200)).save(photos / "obama.jpg", quality=92)
    _sign(_camera(FACES / "biden" / "biden2.jpg", (1600, 1200)), "EXIT").save(
        photos / "exit.jpg", quality=92)
    data = tmp_path / "data"
    _index(data, str(photos))
    before = _outcome(data)
    assert before[0] and before[1]["exit.jpg"] == "done:EXIT"
    # a model switch re-embeds every photo: a look saying "nothing" then must not erase
    # what the stages found
    with Catalog(data / "catalog.sqlite") as cat:
        ids = [pid for (pid,) in cat.query("SELECT id FROM photos")]
        firstlook.FaceLook().settle(cat, ids)
    assert _outcome(data) == before


def _recorded(*paths: Path) -> dict[str, tuple[int, float]]:
    """What the scan records of each file (``textindex.pending_text_files``' values)."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime) for p in paths}


def test_a_kept_draft_is_taken_once_and_never_for_a_changed_file(tmp_path: Path) -> None:
    # the text stage's own copy is the one the embed stage's decode gives
    assert (ocr.DETECT_SIDE, ocr.DETECT_SLACK) == (firstlook.LOOK_SIDE, firstlook.LOOK_SLACK)
    path, other = tmp_path / "p.jpg", tmp_path / "other.jpg"
    _camera(FACES / "obama" / "obama.jpg").save(path, quality=92)
    _scene(4).save(other, quality=92)
    look = load_rgb(path, firstlook.LOOK_SIDE, slack=firstlook.LOOK_SLACK)
    drafts = firstlook.TextDrafts(_recorded(path))
    assert drafts.needed(look, path)  # keeping decides nothing: the stage still looks
    assert drafts.needed(look, other)  # not a photo the stage will read: not kept
    assert len(drafts) == 1 and 0 < drafts.held_bytes < 200_000
    kept = drafts.take(path)
    assert kept is not None and kept.size == look.size and kept.mode == "RGB"
    # a JPEG copy, colour at full resolution: close to the decoded draft
    assert np.abs(np.asarray(kept, np.int16) - np.asarray(look, np.int16)).mean() < 2
    assert drafts.take(path) is None and drafts.held_bytes == 0
    # the file changed after its draft was kept: decoded afresh, not the old pixels, and
    # the draft is let go all the same
    drafts.needed(look, path)
    _scene(5).save(path, quality=92)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert drafts.take(path) is None and drafts.held_bytes == 0
    # nor is one kept for a file changed since the scan
    drafts.needed(look, path)
    assert len(drafts) == 0
    # past the memory it may hold, nothing more is kept
    small = firstlook.TextDrafts(_recorded(path), max_bytes=1000)
    small.needed(look, path)
    assert len(small) == 0 and small.take(path) is None


def test_the_gate_decides_the_same_on_kept_drafts(tmp_path: Path) -> None:
    photos = [_sign(_scene(1), "BAKERY"), _sign(_camera(FACES / "biden" / "biden2.jpg"), "EXIT"),
              _camera(FACES / "obama" / "obama.jpg"), _scene(2), _scene(3)]
    paths = []
    for i, im in enumerate(photos):
        paths.append(tmp_path / f"{i}.jpg")
        im.save(paths[-1], quality=92)
    drafts = firstlook.TextDrafts(_recorded(*paths))
    reader = ocr.TextReader()
    decided = []
    for path in paths:
        look = load_rgb(path, firstlook.LOOK_SIDE, slack=firstlook.LOOK_SLACK)
        drafts.needed(look, path)
        kept = drafts.take(path)
        assert kept is not None
        decided.append((reader.decide(look), reader.decide(kept)))
    assert [fresh for fresh, _ in decided] == [kept for _, kept in decided]
    assert [fresh == "read" for fresh, _ in decided] == [True, True, False, False, False]


def test_the_text_stage_gates_on_the_drafts_the_embed_stage_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoorg.core.app.library import Library

    photos = tmp_path / "photos"
    photos.mkdir()
    _sign(_scene(1), "BAKERY").save(photos / "bakery.jpg", quality=92)
    for i in range(2):
        _scene(20 + i).save(photos / f"scene_{i}.jpg", quality=92)
    _scene(30, (300, 200)).save(photos / "tiny.jpg", quality=92)  # too small to keep
    taken: list[str] = []
    take = firstlook.TextDrafts.take

    def counted(self: firstlook.TextDrafts, path: Path) -> object:
        image = take(self, path)
        if image is not None:
            taken.append(path.name)
        return image

    monkeypatch.setenv(ocr.ENV_READ_TEXT, "1")
    monkeypatch.setattr(firstlook.TextDrafts, "take", counted)
    with Library(tmp_path / "data", model=TINY) as lib:
        lib.add_folders([photos])
        outcome = lib.index(faces=False)
        assert outcome.summary.text_photos == 4
        text = dict(lib.writer.query("SELECT p.rel_path, t.text FROM photo_text t "
                                     "JOIN photos p ON p.id = t.photo_id"))
    assert sorted(taken) == ["bakery.jpg", "scene_0.jpg", "scene_1.jpg"]
    assert text == {"bakery.jpg": "BAKERY", "scene_0.jpg": "", "scene_1.jpg": "",
                    "tiny.jpg": ""}

    # a model switch re-embeds every photo, their text read long ago, beside one new photo:
    # a draft is kept for the new one only (the others would be encoded for nothing)
    _scene(40).save(photos / "new.jpg", quality=92)
    held: list[int] = []
    needed = firstlook.TextDrafts.needed

    def counted_needed(self: firstlook.TextDrafts, image: object, path: Path) -> bool:
        answer = needed(self, image, path)  # type: ignore[arg-type]
        held.append(len(self))
        return answer

    monkeypatch.setattr(firstlook.TextDrafts, "needed", counted_needed)
    taken.clear()
    with Library(tmp_path / "data", model="photoorg-tiny/random") as lib:
        outcome = lib.index(faces=False)
        assert outcome.summary.embedded == 5 and outcome.summary.text_photos == 1
    assert len(held) == 4 and max(held) == 1  # the four photos large enough to keep
    assert taken == ["new.jpg"]
