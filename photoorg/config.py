"""Where photoorg keeps its files, and the user's settings.

One library lives in one data folder: ``catalog.sqlite`` (photos, vectors, names, tags),
``settings.json`` and caches. The folder comes from, in order: the ``--data-dir`` option,
the ``PHOTOORG_DATA_DIR`` environment variable, the platform's user-data folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "photoorg"
ENV_DATA_DIR = "PHOTOORG_DATA_DIR"
ENV_CACHE_DIR = "PHOTOORG_CACHE_DIR"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The library's data folder (created if missing)."""
    chosen = override or os.environ.get(ENV_DATA_DIR) or platformdirs.user_data_dir(APP_NAME)
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Shared cache (model weights), independent of the library."""
    chosen = os.environ.get(ENV_CACHE_DIR) or platformdirs.user_cache_dir(APP_NAME)
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def catalog_path(data: Path) -> Path:
    return data / "catalog.sqlite"


def thumbnail_dir(data: Path) -> Path:
    return data / "thumbnails"


def window_state_path(data: Path) -> Path:
    """Where the window remembers its size, position and sidebar width (Qt's own format)."""
    return data / "window.ini"


def log_dir(data: Path) -> Path:
    path = data / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Settings:
    """The user's choices that are not library content (those live in the catalog)."""

    watch_mode: str = "auto"  # auto | native | polling
    write_sidecars: bool = False
    thumbnail_cache_mb: int = 512
    # a photo whose file is gone is remembered this long (its tags, names, faces, vector)
    missing_grace_days: int = 90
    read_text: bool = True  # the OCR stage: words in photos become searchable
    # seconds without work after which `watch` and the window's service let their models go
    # (loaded again by the next photo or search); 0: keep them loaded
    idle_release_s: int = 180

    @classmethod
    def load(cls, data: Path) -> Settings:
        """The saved settings; defaults when there are none. A file that cannot be read or
        parsed is not silently replaced: a warning says so and which defaults are used, and
        :meth:`save` keeps the broken file beside the new one."""
        path = data / "settings.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            return cls._broken(path, f"cannot be read ({exc})")
        try:
            raw = json.loads(text)
        except ValueError as exc:
            return cls._broken(path, f"is not valid JSON ({exc})")
        if not isinstance(raw, dict):
            return cls._broken(path, "does not hold a JSON object")
        kinds = {f.name: type(getattr(cls(), f.name)) for f in fields(cls)}
        good: dict[str, object] = {}
        for key, value in raw.items():
            want = kinds.get(key)
            if want is None:
                continue  # a newer version's setting: kept unknown, not an error
            if isinstance(value, want) and not (want is int and isinstance(value, bool)):
                good[key] = value
            else:
                log.warning("settings: %s in %s should be a %s, not %r; using %r",
                            key, path, want.__name__, value, getattr(cls(), key))
        return cls(**good)  # type: ignore[arg-type]

    @classmethod
    def _broken(cls, path: Path, why: str) -> Settings:
        log.warning("settings: %s %s; using the defaults until settings are saved again "
                    "(the file is then kept beside it)", path, why)
        settings = cls()
        settings.problem = why  # type: ignore[attr-defined]
        return settings

    def save(self, data: Path) -> None:
        path = data / "settings.json"
        if getattr(self, "problem", None) and path.exists():
            broken = path.with_name(f"settings.json.broken-{int(time.time())}")
            os.replace(path, broken)  # the user's file is never lost
            log.warning("settings: the unreadable settings file was kept as %s", broken)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, path)
