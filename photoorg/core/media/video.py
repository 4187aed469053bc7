"""Videos through PyAV (FFmpeg in its wheels): what the container says, a poster frame, and a
few keyframes for search.

Every public function returns a result or raises :class:`~photoorg.core.media.imaging.DecodeError`
(the reasons group skipped files in "Couldn't read"). Decoding is bounded: a time budget
checked per packet, frames converted straight to a small size (never a full-size RGB copy
of a 4K frame), one or two decoder threads, and a cap on how many packets are read
while looking for a frame (a broken file can make a demuxer hand out packets forever).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
from PIL import Image

from photoorg.core.media.errors import REASON_TOO_LARGE, DecodeError

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".mov", ".m4v", ".3gp", ".mts", ".avi", ".mkv", ".webm"}
)

REASON_VIDEO_CORRUPT = "truncated or corrupt video"
REASON_VIDEO_CODEC = "unsupported video codec"
REASON_VIDEO_NO_STREAM = "no video stream"
REASON_VIDEO_TIMEOUT = "video took too long to decode"
REASON_VIDEO_NOT_INSTALLED = "video support not installed"

DECODE_SECONDS = 20.0
"""Wall-clock budget for one poster or one set of keyframes."""
MAX_PACKETS_PER_FRAME = 2_000
"""Packets read while looking for one frame (a 60 fps clip with 30 s between keyframes)."""
MAX_FRAME_PIXELS = 8192 * 4320
"""Larger frames (beyond 8K) are refused rather than decoded."""
KEYFRAME_EVERY_S = 2.0
MAX_KEYFRAMES = 24
MAX_SCENE_KEYFRAMES = 12
"""Frames at scene cuts, besides the periodic ones (the strongest cuts kept)."""
SCENE_SCAN_MAX_S = 180.0
"""Clips up to this long are decoded in one pass that also finds cuts; longer ones are
sampled by seeking (a long recording's every frame would cost far more than its keyframes)."""
SCENE_CUT = 0.35
"""Colour histogram distance (0-1, half the L1 of 8x8x8-bin histograms of 32x32 frames)
between consecutive frames that marks a cut; a pan or someone walking in stays far below."""
SCENE_PIXELS = 15.0
"""... and the mean difference (0-255) of their 32x32 pixels must pass this too."""


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as displayed (after the rotation the phone recorded)
    height: int
    duration: float  # seconds (0.0 when the container does not say)
    taken_at: float | None
    tz_offset: int | None
    latitude: float | None
    longitude: float | None
    camera: str | None
    codec: str
    content_id: str | None = None  # Apple's content identifier (Live Photo pairs)


def is_video(path: str | os.PathLike[str]) -> bool:
    return os.path.splitext(os.fsdecode(path))[1].lower() in VIDEO_EXTENSIONS


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """What the container says, without decoding a frame."""
    with _open(path) as (container, stream):
        return _info(container, stream)


def poster(path: str | os.PathLike[str], *, min_side: int | None = None,
           max_side: int | None = None) -> tuple[Image.Image, VideoInfo]:
    """The poster frame (a little way in: first frames are often black) and the info."""
    with _open(path) as (container, stream):
        info = _info(container, stream)
        at = min(1.0, info.duration * 0.1) if info.duration > 0 else 0.0
        deadline = time.monotonic() + DECODE_SECONDS
        for _, image in _frames_at(container, stream, [at], info, min_side, max_side,
                                   deadline):
            return image, info
        raise _error(REASON_VIDEO_CORRUPT, "no frame could be decoded")


def keyframe_times(duration: float, every_s: float = KEYFRAME_EVERY_S,
                   cap: int = MAX_KEYFRAMES) -> list[float]:
    """When to take frames: the middle of each ``every_s`` slice, spread wider on long
    clips so there are never more than ``cap``."""
    if duration <= 0:
        return [0.0]
    step = max(every_s, duration / cap)
    n = max(1, min(cap, int(duration / step + 0.5)))
    step = duration / n
    return [round(step * (i + 0.5), 3) for i in range(n)]


def keyframes(path: str | os.PathLike[str], *, min_side: int = 224,
              every_s: float = KEYFRAME_EVERY_S, cap: int = MAX_KEYFRAMES,
              budget_s: float = DECODE_SECONDS, scenes: bool = True,
              scene_cap: int = MAX_SCENE_KEYFRAMES) -> list[tuple[float, Image.Image]]:
    """(second, RGB frame with shortest side ``min_side``) at :func:`keyframe_times`, and
    with ``scenes`` (clips up to :data:`SCENE_SCAN_MAX_S`) the first frame of each shot that
    no periodic frame falls in (at most ``scene_cap``, the strongest cuts), by time. Frames
    after the time budget is spent are left out (those before are kept)."""
    out: list[tuple[float, Image.Image]] = []
    try:
        for item in iter_keyframes(path, min_side=min_side, every_s=every_s, cap=cap,
                                   budget_s=budget_s, scenes=scenes, scene_cap=scene_cap):
            out.append(item)
    except Exception:
        if not out:
            raise
    return sorted(out, key=lambda item: item[0])


def iter_keyframes(path: str | os.PathLike[str], *, min_side: int = 224,
                   every_s: float = KEYFRAME_EVERY_S, cap: int = MAX_KEYFRAMES,
                   budget_s: float = DECODE_SECONDS, scenes: bool = True,
                   scene_cap: int = MAX_SCENE_KEYFRAMES) -> Iterator[tuple[float, Image.Image]]:
    """:func:`keyframes` one at a time, as decoded (the periodic ones in order, then those
    at cuts), so a caller working on large frames holds one at a time. Raises DecodeError
    (after the frames decoded before the error or the end of the time budget)."""
    with _open(path) as (container, stream):
        info = _info(container, stream)
        times = keyframe_times(info.duration, every_s, cap)
        deadline = time.monotonic() + budget_s
        if scenes and scene_cap > 0 and 0 < info.duration <= SCENE_SCAN_MAX_S:
            yield from _scan(container, stream, times, info, min_side, deadline, scene_cap)
        else:
            yield from _frames_at(container, stream, times, info, min_side, None, deadline)


def frame_at(path: str | os.PathLike[str], seconds: float, *, min_side: int = 224,
             budget_s: float = DECODE_SECONDS) -> Image.Image:
    """The RGB frame shown at ``seconds`` (clamped to the clip), shortest side ``min_side``."""
    with _open(path) as (container, stream):
        info = _info(container, stream)
        at = max(0.0, min(float(seconds), info.duration)) if info.duration > 0 else 0.0
        deadline = time.monotonic() + budget_s
        for _, image in _frames_at(container, stream, [at], info, min_side, None, deadline):
            return image
        raise _error(REASON_VIDEO_CORRUPT, f"no frame at {at:.1f} s")


# -- internals ---------------------------------------------------------------------------------


def _error(reason: str, detail: str = "") -> DecodeError:
    return DecodeError(reason, detail)


class _Opened:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fsdecode(path)
        self.container: Any = None

    def __enter__(self) -> tuple[Any, Any]:
        try:
            import av
        except ImportError as exc:
            raise _error(REASON_VIDEO_NOT_INSTALLED, str(exc)) from exc
        try:
            # no network, no device: a file only (a .mov cannot point FFmpeg at a URL)
            self.container = av.open(self.path, "r", options={"protocol_whitelist": "file"},
                                     timeout=DECODE_SECONDS)
        except av.error.InvalidDataError as exc:
            raise _error(REASON_VIDEO_CORRUPT, _why(exc)) from exc
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise _error(REASON_VIDEO_CORRUPT, _why(exc)) from exc
        streams = [s for s in self.container.streams.video
                   if not (s.disposition & av.stream.Disposition.attached_pic)]
        if not streams:
            self.container.close()
            raise _error(REASON_VIDEO_NO_STREAM, self.path)
        stream = streams[0]
        ctx = stream.codec_context
        if ctx is None or not getattr(ctx, "name", None):
            self.container.close()
            raise _error(REASON_VIDEO_CODEC, _codec_tag(stream))
        ctx.thread_count = 2
        ctx.thread_type = "AUTO"
        return self.container, stream

    def __exit__(self, *exc: object) -> None:
        if self.container is not None:
            self.container.close()


def _open(path: str | os.PathLike[str]) -> _Opened:
    return _Opened(path)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"


def _codec_tag(stream: Any) -> str:
    tag = getattr(stream.codec_context, "codec_tag", None) if stream.codec_context else None
    return f"codec tag {tag!r}" if tag else "unknown codec"


def _info(container: Any, stream: Any) -> VideoInfo:
    meta = {k.lower(): v for k, v in (container.metadata or {}).items()}
    smeta = {k.lower(): v for k, v in (stream.metadata or {}).items()}
    duration = 0.0
    if container.duration:
        duration = container.duration / 1_000_000
    elif stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
    if width <= 0 or height <= 0:
        raise _error(REASON_VIDEO_CORRUPT, f"invalid size {width}x{height}")
    if width * height > MAX_FRAME_PIXELS:
        raise _error(REASON_TOO_LARGE, f"{width}x{height} video")
    if _rotation(stream) % 180:
        width, height = height, width
    taken_at, tz = _taken_at(meta, smeta)
    lat, lon = _location(meta)
    make = meta.get("com.apple.quicktime.make") or meta.get("make")
    model = meta.get("com.apple.quicktime.model") or meta.get("model")
    camera = " ".join(s.strip() for s in (make or "", model or "") if s and s.strip()) or None
    if camera and make and model and model.lower().startswith(make.split()[0].lower()):
        camera = model.strip()
    return VideoInfo(width, height, round(duration, 3), taken_at, tz, lat, lon, camera,
                     stream.codec_context.name,
                     meta.get("com.apple.quicktime.content.identifier"))


_ISO_RE = re.compile(
    r"(\d{4})[-:](\d\d)[-:](\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?")


def _parse_time(text: str) -> tuple[float, int | None] | None:
    match = _ISO_RE.match(text.strip())
    if not match:
        return None
    y, mo, d, h, mi, s = (int(match.group(i)) for i in range(1, 7))
    if y < 1904 or y == 1970 and mo == 1 and d == 1:
        return None  # unset QuickTime / zero times
    zone = match.group(8)
    if zone is None or zone == "Z":
        tz, minutes = UTC, (0 if zone == "Z" else None)
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        tz = timezone(timedelta(minutes=minutes))
    try:
        when = datetime(y, mo, d, h, mi, s, tzinfo=tz)
    except ValueError:
        return None
    frac = match.group(7)
    return when.timestamp() + (int(frac) / 10 ** len(frac) if frac else 0.0), minutes


def _taken_at(meta: dict[str, str], smeta: dict[str, str]) -> tuple[float | None, int | None]:
    """Apple's ``creationdate`` (local time with its offset) first; then the MP4/MOV/MTS
    ``creation_time`` (UTC by the standard, so a known offset of 0)."""
    for key in ("com.apple.quicktime.creationdate", "date", "creation_time"):
        for source in (meta, smeta):
            text = source.get(key)
            if text:
                parsed = _parse_time(text)
                if parsed is not None:
                    return parsed
    return None, None


_ISO6709_RE = re.compile(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


def _location(meta: dict[str, str]) -> tuple[float | None, float | None]:
    """ISO 6709 (``+48.8583+002.2945+035.000/``) from Apple's key or ``©xyz``."""
    for key in ("com.apple.quicktime.location.iso6709", "location", "location-eng"):
        text = meta.get(key)
        match = _ISO6709_RE.match(text.strip()) if text else None
        if match:
            lat, lon = float(match.group(1)), float(match.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0):
                return lat, lon
    return None, None


def _rotation(stream: Any) -> int:
    try:
        for side in stream.side_data or ():
            rotation = getattr(side, "rotation", None)
            if rotation is not None:
                return int(round(rotation)) % 360
    except Exception:
        pass
    rotate = (stream.metadata or {}).get("rotate")
    return int(rotate) % 360 if rotate and rotate.lstrip("-").isdigit() else 0


def _frames_at(container: Any, stream: Any, times: list[float], info: VideoInfo,
               min_side: int | None, max_side: int | None, deadline: float
               ) -> Iterator[tuple[float, Image.Image]]:
    """The first frame at or after each time (seeking to the keyframe before it)."""
    import av

    base = stream.time_base
    for t in times:
        if time.monotonic() > deadline:
            raise _error(REASON_VIDEO_TIMEOUT, f"over {DECODE_SECONDS:.0f} s")
        if t > 0 and base:
            try:
                container.seek(int(t / base), stream=stream, backward=True, any_frame=False)
            except (av.error.FFmpegError, OverflowError, ValueError):
                container.seek(0)
        found = None
        packets = 0
        try:
            for packet in container.demux(stream):
                packets += 1
                if packets > MAX_PACKETS_PER_FRAME or time.monotonic() > deadline:
                    raise _error(REASON_VIDEO_TIMEOUT, f"no frame at {t:.1f} s in time")
                for frame in packet.decode():
                    when = frame.time if frame.time is not None else 0.0
                    if found is None or when < t - 1e-3:
                        found = frame  # the last frame before t, in case none follows
                    if when >= t - 1e-3:
                        found = frame
                        break
                else:
                    continue
                break
        except av.error.InvalidDataError as exc:
            if found is None:
                raise _error(REASON_VIDEO_CORRUPT, _why(exc)) from exc
        except av.error.FFmpegError as exc:
            if found is None:
                reason = (REASON_VIDEO_CODEC if "decoder" in str(exc).lower()
                          else REASON_VIDEO_CORRUPT)
                raise _error(reason, _why(exc)) from exc
        if found is None:
            continue
        yield t, _to_image(found, info, min_side, max_side)


def _look(frame: Any) -> tuple[np.ndarray, np.ndarray]:
    """The frame shrunk to 32x32 (int16 RGB) and its 8x8x8-bin colour histogram (sums to 1)."""
    # fast bilinear: a fifth of the default scaler's cost, which was ~70% of decoding
    small = frame.to_ndarray(width=32, height=32, format="rgb24",
                             interpolation="FAST_BILINEAR")
    q = small >> 5
    bins = (q[..., 0].astype(np.int32) << 6) | (q[..., 1].astype(np.int32) << 3) | q[..., 2]
    return small.astype(np.int16), np.bincount(bins.ravel(), minlength=512) / bins.size


def _cut(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """How strongly two consecutive frames differ as a cut: their histogram distance when
    both it and the pixels' mean difference pass their thresholds, else 0 (a fade or a
    brightness change moves the histogram, not the pictures' content this much)."""
    strength = 0.5 * float(np.abs(a[1] - b[1]).sum())
    if strength < SCENE_CUT or float(np.abs(a[0] - b[0]).mean()) < SCENE_PIXELS:
        return 0.0
    return strength


def _scan(container: Any, stream: Any, times: list[float], info: VideoInfo,
          min_side: int | None, deadline: float, scene_cap: int
          ) -> Iterator[tuple[float, Image.Image]]:
    """One decoding pass: the first frame at or after each of ``times`` (yielded as found)
    and, once the clip is read, the first frame of the strongest ``scene_cap`` shots that
    none of those falls in (time of the frame, not of a periodic slot)."""
    import heapq

    import av

    pending = list(times)
    shot: tuple[float, float, Any] | None = None  # (strength, start, first frame) of this shot
    covered = False  # a periodic frame fell in the current shot
    cuts: list[tuple[float, float, int, Image.Image]] = []  # min-heap by strength
    previous: tuple[np.ndarray, np.ndarray] | None = None
    packets = 0

    def close_shot() -> None:
        if shot is not None and not covered:
            strength, start, first = shot
            item = (strength, -start, len(cuts) + packets, _to_image(first, info, min_side,
                                                                      None))
            if len(cuts) < scene_cap:
                heapq.heappush(cuts, item)
            elif item[:2] > cuts[0][:2]:
                heapq.heapreplace(cuts, item)

    try:
        for packet in container.demux(stream):
            packets += 1
            if time.monotonic() > deadline:
                raise _error(REASON_VIDEO_TIMEOUT, f"over {DECODE_SECONDS:.0f} s")
            for frame in packet.decode():
                when = float(frame.time) if frame.time is not None else 0.0
                look = _look(frame)
                if previous is not None and (strength := _cut(previous, look)) > 0:
                    close_shot()
                    shot, covered = (strength, when, frame), False
                previous = look
                while pending and when >= pending[0] - 1e-3:
                    t = pending.pop(0)
                    covered = True
                    if not pending or when < pending[0] - 1e-3:
                        yield t, _to_image(frame, info, min_side, None)
    except av.error.FFmpegError as exc:
        if not (pending != times or cuts or shot):
            reason = (REASON_VIDEO_CODEC if "decoder" in str(exc).lower()
                      else REASON_VIDEO_CORRUPT)
            raise _error(reason, _why(exc)) from exc
    close_shot()
    for _, start, _, image in cuts:
        yield round(-start, 3), image


def _to_image(frame: Any, info: VideoInfo, min_side: int | None,
              max_side: int | None) -> Image.Image:
    w, h = frame.width, frame.height
    rotation = info.width != w  # displayed sideways
    dw, dh = (h, w) if rotation else (w, h)
    scale = 1.0
    if min_side:
        scale = min(1.0, min_side / min(dw, dh))
    if max_side:
        scale = min(scale, max_side / max(dw, dh))
    tw, th = max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))
    image = frame.to_image(width=tw, height=th)  # converted at the small size
    if rotation:
        image = image.transpose(Image.Transpose.ROTATE_270)
    return image.convert("RGB")
