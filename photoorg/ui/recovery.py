"""At start-up: a damaged catalog is detected and the last good backup offered."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from photoorg import config
from photoorg.core.app import api as backup

log = logging.getLogger(__name__)


def offer_backup_if_damaged(data: Path, parent: QWidget | None = None) -> bool:
    """If the catalog fails SQLite's check, offer the newest good backup; True when one
    was restored."""
    catalog = config.catalog_path(data)
    problem = backup.check_catalog(catalog)
    if problem is None:
        return False
    log.error("the catalog %s is damaged: %s", catalog, problem)
    good = next((b for b in backup.list_backups(data) if backup.check_catalog(b.path) is None),
                None)
    if good is None:
        QMessageBox.warning(
            parent, "The library catalog is damaged",
            f"The library catalog ({catalog}) cannot be read: {problem}.\n"
            "There is no backup of it yet.")
        return False
    answer = QMessageBox.question(
        parent, "The library catalog is damaged",
        f"The library catalog cannot be read ({problem}).\n\n"
        f"Restore the backup of {good.label}? Changes made after it are lost; the damaged "
        "file is kept beside it.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    if answer != QMessageBox.StandardButton.Yes:
        return False
    kept = backup.restore(catalog, good.path)
    log.warning("restored the backup %s (the damaged catalog is kept as %s)", good.path, kept)
    return True


_PENDING = "restore-pending.txt"


def schedule_restore(data: Path, backup_path: Path) -> None:
    """Restore ``backup_path`` at the next start (the running window has the catalog open:
    the indexer process and the workers would keep writing to the old file)."""
    (Path(data) / _PENDING).write_text(str(backup_path), encoding="utf-8")


def apply_scheduled_restore(data: Path) -> Path | None:
    """At start-up, before anything opens the catalog: put the chosen backup in place."""
    marker = Path(data) / _PENDING
    if not marker.is_file():
        return None
    chosen = Path(marker.read_text(encoding="utf-8").strip())
    marker.unlink()
    try:
        backup.restore(config.catalog_path(data), chosen)
    except (backup.BackupError, OSError) as exc:
        QMessageBox.warning(None, "The backup was not restored", str(exc))
        return None
    log.warning("restored the backup %s, as asked", chosen)
    return chosen
