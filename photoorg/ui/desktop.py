"""Hand a photo to the operating system: open it, or show it in the file manager."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)


def open_url(url: QUrl) -> bool:
    """Hand a URL to the operating system (the one place: tests replace it to see what
    would be opened without launching anything)."""
    return QDesktopServices.openUrl(url)


def open_file(path: str) -> bool:
    return open_url(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> bool:
    """Select the file in the platform's file manager (Explorer, Finder, or a freedesktop
    file manager over D-Bus); otherwise open its folder."""
    native = os.path.normpath(path)
    if sys.platform == "win32":
        return QProcess.startDetached("explorer.exe", [f"/select,{native}"])[0]
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", native])[0]
    if _freedesktop_show_items(native):
        return True
    return open_url(QUrl.fromLocalFile(str(Path(native).parent)))


def _freedesktop_show_items(path: str) -> bool:
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    iface = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                           "org.freedesktop.FileManager1", bus)
    if not iface.isValid():
        return False
    reply = iface.call("ShowItems", [QUrl.fromLocalFile(path).toString()], "")
    ok = reply.type() != QDBusMessage.MessageType.ErrorMessage
    if not ok:
        log.info("FileManager1.ShowItems failed: %s", reply.errorMessage())
    return ok
