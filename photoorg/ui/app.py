"""Start the desktop app: ``photoorg`` with no command, or ``python -m photoorg``.

Torch is not imported here: the window shows first, then the model loads in its worker.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from photoorg import __version__, config
from photoorg.ui.errors import ErrorReporter, setup_file_logging
from photoorg.ui.icons import app_icon

log = logging.getLogger("photoorg.ui")

ENV_EXIT_AFTER_SHOWN = "PHOTOORG_EXIT_AFTER_SHOWN"


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="photoorg", add_help=False)
    parser.add_argument("--data-dir")
    parser.add_argument("--model", help="model spec (default: the library's)")
    parser.add_argument("--index-mode", choices=("process", "thread"), default="process")
    parser.add_argument("--no-watch", action="store_true")
    args, _qt_args = parser.parse_known_args(list(argv))
    return args


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("photoorg")
    app.setApplicationDisplayName("photoorg")
    app.setOrganizationName("photoorg")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    if sys.platform.startswith("linux") and not os.environ.get("XDG_CURRENT_DESKTOP"):
        app.setStyle("Fusion")  # no desktop style to follow: Fusion reads best
    return app


def run_app(data_dir: str | None = None, argv: Sequence[str] | None = None) -> int:
    """Open the main window on the library in ``data_dir``; returns the exit code."""
    started = time.perf_counter()
    args = _parse(argv if argv is not None else sys.argv[1:])
    data = config.data_dir(data_dir or args.data_dir)
    log_file = setup_file_logging(config.log_dir(data))
    log.info("photoorg %s starting on %s (log %s)", __version__, data, log_file)
    app = create_application([sys.argv[0] if sys.argv else "photoorg"])
    reporter = ErrorReporter(config.log_dir(data))
    reporter.install_hooks()

    from photoorg.ui.main_window import MainWindow

    settings = config.Settings.load(data)
    window = MainWindow(
        data, settings, model_spec=args.model, index_mode=args.index_mode,
        watch=not args.no_watch, errors=reporter,
    )
    window.show()
    log.info("window shown after %.0f ms", (time.perf_counter() - started) * 1000)
    if os.environ.get(ENV_EXIT_AFTER_SHOWN):
        _exit_after_shown(app)
    code = app.exec()
    window.shutdown()
    return int(code)


def _exit_after_shown(app: QApplication) -> None:
    """Launch-time probe (``PHOTOORG_EXIT_AFTER_SHOWN=1``, see packaging/README.md): once
    the shown window has been painted, print the time since the process started and quit."""
    import psutil
    from PySide6.QtCore import QTimer

    def report() -> None:
        app.processEvents()
        since_start = time.time() - psutil.Process().create_time()
        print(f"photoorg window shown {since_start:.2f}s after process start", flush=True)
        app.quit()

    QTimer.singleShot(0, report)


if __name__ == "__main__":
    sys.exit(run_app())
