"""Icons from ``resources/icons`` (line SVGs), tinted to the palette so they read on light
and dark themes alike."""

from __future__ import annotations

import functools

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from photoorg.resources import resource_path

_STROKE = "#5f6b7a"


def app_icon() -> QIcon:
    icon = QIcon()
    for name in ("photoorg.svg", "photoorg.png"):
        path = resource_path("icons", name)
        if path.exists():
            icon.addFile(str(path))
    return icon


@functools.cache
def _svg(name: str) -> str | None:
    path = resource_path("icons", f"{name}.svg")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _render(svg: str, color: QColor, size: int, ratio: float = 2.0) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.replace(_STROKE, color.name()).encode()))
    pixmap = QPixmap(QSize(int(size * ratio), int(size * ratio)))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


@functools.cache
def _cached(name: str, normal: str, disabled: str, active: str) -> QIcon:
    svg = _svg(name)
    icon = QIcon()
    if svg is None:
        return icon
    for size in (16, 20, 24, 32):
        icon.addPixmap(_render(svg, QColor(normal), size), QIcon.Mode.Normal)
        icon.addPixmap(_render(svg, QColor(disabled), size), QIcon.Mode.Disabled)
        icon.addPixmap(_render(svg, QColor(active), size), QIcon.Mode.Selected)
    return icon


def icon(name: str, color: QColor | None = None) -> QIcon:
    """A named icon (``resources/icons/<name>.svg``) in the palette's colours."""
    palette = QGuiApplication.palette()
    text = color or _muted(palette)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    selected = palette.color(QPalette.ColorRole.HighlightedText)
    return _cached(name, text.name(), disabled.name(), selected.name())


def _muted(palette: QPalette) -> QColor:
    """Text colour blended a little toward the background: quieter than the labels."""
    text = palette.color(QPalette.ColorRole.WindowText)
    base = palette.color(QPalette.ColorRole.Window)
    mix = 0.25
    return QColor(
        int(text.red() * (1 - mix) + base.red() * mix),
        int(text.green() * (1 - mix) + base.green() * mix),
        int(text.blue() * (1 - mix) + base.blue() * mix),
    )
