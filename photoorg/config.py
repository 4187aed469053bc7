"""Where photoorg keeps its files, and the user's settings.

One library lives in one data folder: ``catalog.sqlite`` (photos, vectors, names, tags),
``settings.json`` and caches. The folder comes from, in order: the ``--data-dir`` option,
the ``PHOTOORG_DATA_DIR`` environment variable, the platform's user-data folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

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
    read_text: bool = True  # the OCR stage: words in photos become searchable

    @classmethod
    def load(cls, data: Path) -> Settings:
        path = data / "settings.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def save(self, data: Path) -> None:
        path = data / "settings.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, path)
