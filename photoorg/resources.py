"""Find files shipped in ``resources/``, from a source tree, an install or a frozen app."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_root() -> Path:
    """The ``resources`` folder: beside the package in a source tree, inside the
    PyInstaller bundle (``sys._MEIPASS``) when frozen, or in ``photoorg/_resources`` when
    installed from a wheel."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "resources", here / "_resources"):
        if candidate.is_dir():
            return candidate
    return here.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_root().joinpath(*parts)
