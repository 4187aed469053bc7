"""The quiet sentence an empty list view shows in its middle ("No people yet…")."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView


def paint_empty_text(view: QAbstractItemView, text: str, margin: int) -> None:
    """Call from ``paintEvent`` after the base class painted: draws ``text`` when the view
    has no rows."""
    model = view.model()
    if not text or (model is not None and model.rowCount() > 0):
        return
    painter = QPainter(view.viewport())
    painter.setPen(view.palette().color(QPalette.ColorRole.PlaceholderText))
    rect = view.viewport().rect().adjusted(margin, margin, -margin, -margin)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
