"""Keyboard shortcuts that do what the menu says: one registration per key sequence, and
Undo/Redo that reach the library unless a text field has its own typing to undo."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QLineEdit


def standard_keys(standard: QKeySequence.StandardKey,
                  also: str | None = None) -> list[QKeySequence]:
    """This platform's sequences for a standard action, plus ``also`` when the platform has
    none equal to it (Quit has no binding on Windows; on Linux and macOS it is Ctrl/Cmd+Q
    already, and registering it twice makes the shortcut ambiguous: it then does nothing)."""
    keys = [k for k in QKeySequence.keyBindings(standard) if not k.isEmpty()]
    if also:
        extra = QKeySequence(also)
        if all(k != extra for k in keys):
            keys.append(extra)
    return keys


class TextHistoryFirst(QObject):
    """Event filter for line edits: Undo/Redo keys stay with the field only while it has
    text history to undo/redo; otherwise they reach the window's Edit › Undo/Redo.

    A QLineEdit claims the Undo keys whatever its history (a shortcut override), which left
    Ctrl+Z in an empty search box doing nothing while Edit offered "Undo: …"."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(watched, QLineEdit)
                and isinstance(event, QKeyEvent)):
            if event.matches(QKeySequence.StandardKey.Undo) and not watched.isUndoAvailable():
                event.ignore()
                return True
            if event.matches(QKeySequence.StandardKey.Redo) and not watched.isRedoAvailable():
                event.ignore()
                return True
        return False


def reset_text(field: QLineEdit, text: str = "") -> None:
    """Set the field's text and forget its typing history (``clear()`` is undoable: a later
    Ctrl+Z would bring back a search the user already left)."""
    field.setText(text)  # setText resets the undo/redo history
