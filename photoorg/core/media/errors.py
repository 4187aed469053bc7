"""The one error every decoder raises (photos and videos), with its short reason."""

from __future__ import annotations

REASON_TOO_LARGE = "image too large"


class DecodeError(Exception):
    """A file could not be decoded; ``reason`` is a short category, ``detail`` file-specific."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason
