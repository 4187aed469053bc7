"""Videos as library items: real clips encoded here with PyAV (H.264 / MPEG-4 in MP4, MOV and
MKV), container metadata written the way phones write it, keyframe search with the bundled
tiny CLIP, and the hostile files that must be skipped with a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from photoorg.core.media import video  # noqa: E402
from photoorg.core.media.imaging import DecodeError, decode_photo, read_info  # noqa: E402
from photoorg.core.media.synthetic import draw_shape_image  # noqa: E402

TINY = "photoorg-tiny/bundled"


def write_clip(path: Path, frames: list[np.ndarray], *, fps: int = 10,
               metadata: dict[str, str] | None = None, codec: str = "libx264") -> Path:
    """Encode RGB frames into ``path`` (container from the suffix), with container metadata
    (MOV: Apple's keys go into the ``mdta`` atoms, as an iPhone writes them)."""
    fmt = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".m4v": "mp4"}[path.suffix]
    options = {"movflags": "use_metadata_tags"} if fmt == "mov" else {}
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format=fmt, options=options) as out:
        for key, value in (metadata or {}).items():
            out.metadata[key] = value
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "g": str(fps)}  # a keyframe a second
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def plain_frames(n: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    w, h = size
    return [np.full((h, w, 3), (i * 7) % 256, np.uint8) for i in range(n)]


def shape_frames(n: int, moment: range, fps: int = 10, size: int = 96) -> list[np.ndarray]:
    """A blue square, and a red circle during the frames of ``moment``."""
    blue = np.asarray(draw_shape_image("blue", "square", size=size, seed=1))
    red = np.asarray(draw_shape_image("red", "circle", size=size, seed=2))
    return [red if i in moment else blue for i in range(n)]


# -- what the container says ----------------------------------------------------------------


def test_iphone_mov_date_place_camera_and_duration(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "IMG_0001.MOV".lower(), plain_frames(25), metadata={
        "creation_time": "2023-07-14T09:30:00.000000Z",
        "com.apple.quicktime.creationdate": "2023-07-14T11:30:00+0200",
        "com.apple.quicktime.location.ISO6709": "+48.8583+002.2945+035.000/",
        "com.apple.quicktime.make": "Apple",
        "com.apple.quicktime.model": "iPhone 12",
        "com.apple.quicktime.content.identifier": "8F2C1A9E-0000-4B1B-9C2D-123456789ABC",
    })
    info = read_info(clip)
    assert info.duration == pytest.approx(2.5, abs=0.11)
    assert info.taken_at == pytest.approx(1689327000.0)  # 11:30 at +02:00 = 09:30 UTC
    assert info.tz_offset == 120
    assert (info.latitude, info.longitude) == pytest.approx((48.8583, 2.2945))
    assert info.camera == "Apple iPhone 12"
    assert (info.width, info.height) == (64, 48)
    assert video.probe(clip).content_id == "8F2C1A9E-0000-4B1B-9C2D-123456789ABC"


def test_mp4_creation_time_and_xyz_location(tmp_path: Path) -> None:
    # Android phones: creation_time in UTC and the ©xyz atom ("location" to FFmpeg)
    clip = write_clip(tmp_path / "VID_20220102.mp4", plain_frames(10), metadata={
        "creation_time": "2022-01-02T03:04:05.000000Z", "location": "+40.6892-074.0445/"})
    info = read_info(clip)
    assert info.taken_at == pytest.approx(1641092645.0)
    assert info.tz_offset == 0
    assert (info.latitude, info.longitude) == pytest.approx((40.6892, -74.0445))
    assert info.duration == pytest.approx(1.0, abs=0.11)


def test_mkv_mpeg4_poster_is_a_frame_of_the_clip(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mkv", plain_frames(30), codec="mpeg4")
    photo = decode_photo(clip, min_side=24)
    assert min(photo.image.size) == 24 and photo.image.mode == "RGB"
    assert photo.info.taken_at is None and photo.info.duration == pytest.approx(3.0, abs=0.11)
    # the poster is taken a little way in (first frames are often black): ~0.3 s = frame 3
    level = float(np.asarray(photo.image).mean())
    assert abs(level - 21) < 8


def test_keyframes_are_spread_and_capped() -> None:
    assert video.keyframe_times(10.0, every_s=2.0) == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert len(video.keyframe_times(3600.0, every_s=2.0, cap=24)) == 24
    assert video.keyframe_times(0.0) == [0.0]


def test_keyframes_decode_the_frame_at_each_second(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "ramp.mp4", plain_frames(40))
    frames = video.keyframes(clip, min_side=16, every_s=1.0, scenes=False)
    assert [t for t, _ in frames] == [0.5, 1.5, 2.5, 3.5]
    # in one pass with cut detection: the same, plus the grey ramp's wrap from white to
    # black at frame 37 (a cut no periodic frame falls after)
    scanned = video.keyframes(clip, min_side=16, every_s=1.0)
    assert [t for t, _ in scanned] == [0.5, 1.5, 2.5, 3.5, 3.7]
    assert [np.asarray(a).tolist() for _, a in frames] == [
        np.asarray(b).tolist() for _, b in scanned[:4]]
    for t, image in frames:
        expected = (round(t * 10) * 7) % 256
        assert abs(float(np.asarray(image).mean()) - expected) < 6, t


def test_keyframes_stop_at_the_time_budget(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "ramp.mp4", plain_frames(40))
    with pytest.raises(DecodeError) as info:
        video.keyframes(clip, min_side=16, every_s=1.0, budget_s=0.0)
    assert info.value.reason == video.REASON_VIDEO_TIMEOUT


# -- hostile input --------------------------------------------------------------------------


def _reason(path: Path) -> str:
    with pytest.raises(DecodeError) as info:
        decode_photo(path)
    return info.value.reason


def test_zero_length_video(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert _reason(tmp_path / "empty.mp4") == "empty file"


def test_truncated_and_garbage_videos(tmp_path: Path) -> None:
    good = write_clip(tmp_path / "good.mp4", plain_frames(20)).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(good[: len(good) // 3])  # moov at the end: lost
    (tmp_path / "noise.mov").write_bytes(np.random.default_rng(0).bytes(50_000))
    assert _reason(tmp_path / "cut.mp4") == video.REASON_VIDEO_CORRUPT
    assert _reason(tmp_path / "noise.mov") == video.REASON_VIDEO_CORRUPT


def test_unknown_codec(tmp_path: Path) -> None:
    data = write_clip(tmp_path / "good.mp4", plain_frames(10)).read_bytes()
    assert data.count(b"avc1") >= 1
    (tmp_path / "odd.mp4").write_bytes(data.replace(b"avc1", b"zzz9"))
    with pytest.raises(DecodeError) as info:
        decode_photo(tmp_path / "odd.mp4")
    assert info.value.reason in (video.REASON_VIDEO_CODEC, video.REASON_VIDEO_CORRUPT)
    assert info.value.reason == video.REASON_VIDEO_CODEC


def test_sparse_4gb_video_is_refused_quickly(tmp_path: Path) -> None:
    huge = tmp_path / "huge.mov"
    with open(huge, "wb") as fh:
        fh.truncate(4 * 1024**3 + 17)  # sparse: no disk used
    started = time.monotonic()
    assert _reason(huge) == video.REASON_VIDEO_CORRUPT
    assert time.monotonic() - started < 10


def test_a_jpeg_named_mov_is_read_as_the_photo(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mov"
    draw_shape_image("red", "circle", size=80).save(fake, "JPEG")
    photo = decode_photo(fake, min_side=40)
    assert photo.info.format == "JPEG" and photo.info.duration is None
    assert photo.image.size == (80, 80) or min(photo.image.size) >= 40


def test_hostile_videos_through_index_are_skipped_with_reasons(
        tmp_path: Path, data_dir: Path) -> None:
    """The command users run: ``photoorg index`` then ``status --json`` and ``search``."""
    photos = tmp_path / "photos"
    photos.mkdir()
    # 6 s: keyframes at 1, 3 and 5 s; the circle is on screen from 2 s to 4 s
    write_clip(photos / "beach.mov", shape_frames(60, range(20, 40)), metadata={
        "com.apple.quicktime.creationdate": "2021-08-01T10:00:00+0100",
        "com.apple.quicktime.location.ISO6709": "+43.2965+005.3698/"})
    write_clip(photos / "blue.mp4", shape_frames(30, range(0)))
    draw_shape_image("green", "triangle", size=96, seed=3).save(photos / "tri.jpg")
    (photos / "empty.mp4").write_bytes(b"")
    (photos / "noise.mkv").write_bytes(np.random.default_rng(1).bytes(20_000))
    with open(photos / "huge.mp4", "wb") as fh:
        fh.truncate(4 * 1024**3)
    draw_shape_image("yellow", "star", size=64).save(photos / "still.mov", "JPEG")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).parents[2])}

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data_dir),
                               *args], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    cli("index", str(photos), "--model", TINY, "--no-faces")
    status = json.loads(cli("status", "--json"))
    assert status["videos"] == 2  # the JPEG named .mov is a photo
    assert status["indexed"] == 4
    assert status["skipped_reasons"] == {"empty file": 1, video.REASON_VIDEO_CORRUPT: 2}
    hits = json.loads(cli("search", "a photo of a red circle", "-k", "3", "--all", "--json"))
    assert Path(hits[0]["path"]).name == "beach.mov"
    assert set(hits[0]) == {"path", "score", "matched", "time"}
    assert hits[0]["time"] == 3.0
    events = json.loads(cli("events", "--json", "--min-photos", "1"))
    dated = [e for e in events if any(p.endswith("beach.mov") for p in e["photos"])]
    assert len(dated) == 1 and dated[0]["start"].startswith("2021-08-01T10:00")
    assert all("time" not in h for h in hits if not h["path"].endswith((".mov", ".mp4"))
               or h["path"].endswith("still.mov"))
