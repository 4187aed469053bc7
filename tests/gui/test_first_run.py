"""First run (welcome page, samples, the model panel), settings, errors, and indexing progress."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from guitools import TINY, make_window, names, needs_tiny, tiny_available
from PySide6.QtGui import QGuiApplication

from photoorg import config
from photoorg.core.app import service as service_module
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.store.catalog import Catalog


def test_welcome_page_then_sample_photos(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    data.mkdir()
    window = make_window(qtbot, data)
    try:
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=10_000)
        if not tiny_available():
            return
        qtbot.waitUntil(lambda: window.welcome.model_panel.state == "ready", timeout=20_000)
        window.welcome.sample_button.click()
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.grid_page,
                        timeout=10_000)
        qtbot.waitUntil(lambda: window.photos.rowCount() >= 48, timeout=20_000)
        assert (data / "Sample photos").is_dir()
        assert any(n.startswith("red_circle") for n in names(window))
    finally:
        window.shutdown()


def test_missing_model_explains_and_still_browses(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    photos, data = tmp_path / "photos", tmp_path / "data"
    write_sample_library(photos, per_class=1, seed=5)
    data.mkdir()
    with Catalog(config.catalog_path(data)) as cat:
        cat.add_root(photos)
    missing = f"photoorg-tiny/{tmp_path / 'nowhere.safetensors'}"
    window = make_window(qtbot, data, model_spec=missing)
    try:
        qtbot.waitUntil(lambda: window.model_banner.state == "missing", timeout=20_000)
        assert window.model_banner.isVisible()
        assert window.model_banner.download.isVisible() and window.model_banner.local.isVisible()
        assert "Search needs a model" in window.model_banner.status.text()
        qtbot.waitUntil(lambda: window.photos.rowCount() == 24, timeout=10_000)  # browses
        # Every stage that wants the model asks again; the banner must still say why search
        # is off once the library is done (it used to fall back to a hidden "loading").
        qtbot.waitUntil(lambda: not window.controller.service.busy, timeout=20_000)
        assert window.model_banner.state == "missing" and window.model_banner.isVisible()
    finally:
        window.shutdown()


@needs_tiny
def test_progress_updates_while_indexing(qtbot, tmp_path: Path,  # noqa: ANN001
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The service sends at most one progress event per PROGRESS_INTERVAL_S: a fast CPU indexes
    # all 72 photos inside one interval (0 -> 72 in one step). With no interval every batch of
    # 8 reports, whatever the speed, so the steps this test checks are always there.
    monkeypatch.setattr(service_module, "PROGRESS_INTERVAL_S", 0.0)
    photos, data = tmp_path / "photos", tmp_path / "data"
    write_sample_library(photos, per_class=3, seed=9)  # 72 photos
    data.mkdir()
    with Catalog(config.catalog_path(data)) as cat:
        cat.add_root(photos)
    window = make_window(qtbot, data)
    seen: list[tuple[str, int, int]] = []
    texts: list[str] = []
    window.controller.service.progress.connect(
        lambda p: (seen.append((p.phase, p.done, p.total)),
                   texts.append(window.progress_label.text())))
    window.controller.service.batch_size = 8  # more steps to see
    try:
        qtbot.waitUntil(lambda: any(ph == "done" and d == 0 for ph, d, _ in seen)
                        and window.controller.overview is not None
                        and window.controller.overview.counts["indexed"] == 72,
                        timeout=30_000)
        embedding = [(d, t) for ph, d, t in seen if ph == "embedding"]
        assert embedding[-1] == (72, 72)
        assert len({d for d, _ in embedding}) >= 3  # it moved, in steps
        assert any(t.startswith("Indexing ") and " of 72" in t for t in texts)
        qtbot.waitUntil(lambda: not window.progress_bar.isVisible(), timeout=10_000)
        sidebar = window.sidebar
        qtbot.waitUntil(lambda: sidebar.count_of(sidebar.items_of("library")[1]) == "72",
                        timeout=10_000)
    finally:
        window.shutdown()


@needs_tiny
def test_pause_and_resume(qtbot, tmp_path: Path,  # noqa: ANN001
                          monkeypatch: pytest.MonkeyPatch) -> None:
    photos, data = tmp_path / "photos", tmp_path / "data"
    write_sample_library(photos, per_class=4, seed=3)
    data.mkdir()
    with Catalog(config.catalog_path(data)) as cat:
        cat.add_root(photos)
    # A fast CPU indexes these 96 photos before the test can click Pause: the indexing thread
    # waits after its first batch until the test has paused, so there is always work to pause.
    clicked = threading.Event()
    report = service_module._Listener.on_progress

    def held(listener, progress) -> None:  # noqa: ANN001
        report(listener, progress)
        if progress.phase == "embedding" and progress.done > 0:
            clicked.wait(30)

    monkeypatch.setattr(service_module._Listener, "on_progress", held)
    monkeypatch.setattr(service_module, "PROGRESS_INTERVAL_S", 0.0)  # each batch reports
    window = make_window(qtbot, data)
    try:
        service = window.controller.service
        qtbot.waitUntil(lambda: window.pause_button.isVisible(), timeout=30_000)
        window.pause_button.click()
        qtbot.waitUntil(lambda: "paused" in window.progress_label.text(), timeout=10_000)
        assert service.paused
        clicked.set()
        done = service.last_progress.done
        assert service.last_progress.phase == "embedding" and done < 96  # work left
        qtbot.wait(600)
        assert service.last_progress.done <= done + 16  # at most the batch in hand
        assert service.last_progress.phase == "embedding"
        window.pause_button.click()
        qtbot.waitUntil(lambda: service.last_progress is not None
                        and service.last_progress.phase == "done", timeout=30_000)
    finally:
        clicked.set()
        window.shutdown()


@needs_tiny
def test_service_as_a_child_process(qtbot, library: Path,  # noqa: ANN001
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's default: the model and indexing live in a child process; the window
    never imports torch."""
    import sys

    # The app lowers the child's priority (a desktop stays responsive); on a machine loaded by
    # other work that starves it for minutes, so here it runs at normal priority, and the
    # waits are for the model to be ready, however long a loaded machine takes.
    monkeypatch.setenv("PHOTOORG_SERVICE_NICE", "0")
    window = make_window(qtbot, library, index_mode="process", watch=True)
    try:
        assert "--nice" not in window.controller.service._args()
        qtbot.waitUntil(lambda: window.controller.model_ready, timeout=180_000)
        with qtbot.waitSignal(window.controller.photos_ready, timeout=60_000):
            window.search_field.setText("a photo of a orange circle")
        qtbot.waitUntil(lambda: window.photos.photos.scores is not None, timeout=60_000)
        assert all(n.startswith("orange_circle") for n in names(window, 2)), names(window, 4)
        qtbot.waitUntil(lambda: window.watch_label.text().startswith("Watching 1 folder"),
                        timeout=60_000)
        if "torch" not in sys.modules:  # (other tests in this process may have loaded it)
            assert window.controller.service.mode == "process"
    finally:
        window.shutdown()
    assert not window.controller.service.running


def test_error_dialog_copies_details(qtbot) -> None:  # noqa: ANN001
    from photoorg.ui.errors import ErrorDialog

    dialog = ErrorDialog("Indexing stopped: disk full", "Traceback ...\nOSError: 28")
    qtbot.addWidget(dialog)
    dialog.copy_button.click()
    text = QGuiApplication.clipboard().text()
    assert "Indexing stopped: disk full" in text and "OSError: 28" in text
    assert "photoorg" in text and "PySide6" in text  # versions for the bug report


def test_worker_errors_reach_the_error_reporter(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from photoorg.ui.errors import ErrorReporter
    from photoorg.ui.workers import Worker

    reporter = ErrorReporter(tmp_path)
    reporter.interactive = False
    worker = Worker("test")
    worker.failed.connect(lambda e: reporter.report(e.message, e.details))

    def boom(_state: dict) -> None:
        raise ValueError("bad thing")

    worker.submit(boom, what="doing a thing")
    qtbot.waitUntil(lambda: reporter.shown == ["doing a thing: bad thing"], timeout=5_000)
    got = []
    worker.submit(lambda _s: 42, callback=lambda r, e: got.append((r, e)))
    qtbot.waitUntil(lambda: got == [(42, None)], timeout=5_000)
    worker.shutdown()


def test_settings_dialog_values(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from photoorg.ui.views.settings import SettingsDialog

    dialog = SettingsDialog(config.Settings(), TINY, [(1, str(tmp_path), True)], ["*.png"],
                            12.0)
    qtbot.addWidget(dialog)
    polling = next(b for b in dialog.watch_group.buttons() if b.property("mode") == "polling")
    polling.setChecked(True)
    dialog.sidecars.setChecked(True)
    dialog.cache.setValue(1024)
    dialog.exclusions.setPlainText("*.png\nScreenshots\n")
    dialog.folders.setCurrentRow(0)
    dialog._remove_folder()
    values = dialog.result_values()
    assert values.settings.watch_mode == "polling"
    assert values.settings.write_sidecars and values.settings.thumbnail_cache_mb == 1024
    assert values.exclusions == ["*.png", "Screenshots"]
    assert values.removed_folders == [1] and values.model == TINY


@needs_tiny
def test_settings_apply_through_the_controller(qtbot, library: Path) -> None:  # noqa: ANN001
    from photoorg.ui.views.settings import SettingsResult

    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=15_000)
        with qtbot.waitSignal(window.controller.settings_info_ready, timeout=10_000) as got:
            window.controller.load_settings_info()
        info = got.args[0]
        assert [path for _id, path, _online in info.folders] == [str(library.parent / "photos")]
        changed = config.Settings(write_sidecars=True, thumbnail_cache_mb=256)
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            window.controller.apply_settings(
                SettingsResult(changed, window.controller.effective_model(),
                               exclusions=["*_star_*"]), info.exclusions)
        assert config.Settings.load(library).write_sidecars
        qtbot.waitUntil(lambda: window.photos.rowCount() == 36, timeout=30_000)  # stars left
    finally:
        window.shutdown()


@needs_tiny
def test_download_model_with_progress(qtbot, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """First run without the weights: the welcome page offers the download and shows real
    progress (the hub is faked: this machine has no network)."""
    from photoorg.core.models import embedder as embedder_mod

    real_load = embedder_mod.load_embedder
    hub = "ViT-B-32/laion2b_s34b_b79k"
    seen: list[int] = []

    def fake_load(spec: str, progress=None, **kwargs):  # noqa: ANN001, ANN202
        if progress is not None:
            for i in range(1, 21):
                progress(i * 5_000_000, 100_000_000)
                time.sleep(0.02)
        return real_load(TINY)

    monkeypatch.setattr(embedder_mod, "load_embedder", fake_load)
    monkeypatch.setattr(embedder_mod, "weights_available", lambda spec: spec != hub)
    data = tmp_path / "data"
    data.mkdir()
    window = make_window(qtbot, data, model_spec=hub)
    panel = window.welcome.model_panel
    panel.progress.valueChanged.connect(seen.append)
    try:
        # the welcome page shows once the (empty) library has been read: wait for both
        qtbot.waitUntil(lambda: panel.state == "missing" and panel.download.isVisible(),
                        timeout=20_000)
        assert "Search needs a model" in panel.status.text()
        panel.download.click()
        qtbot.waitUntil(lambda: panel.state == "ready", timeout=20_000)
        assert seen and max(seen) == 1000  # the bar went to 100 %
        assert window.controller.model_ready
    finally:
        window.shutdown()


@needs_tiny
def test_service_restart_does_not_block_the_window(qtbot, library: Path,  # noqa: ANN001
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QProcess

    monkeypatch.setenv("PHOTOORG_SERVICE_NICE", "0")  # see test_service_as_a_child_process
    window = make_window(qtbot, library, index_mode="process")
    try:
        service = window.controller.service
        qtbot.waitUntil(lambda: service.running, timeout=60_000)
        old = service._process
        service.restart()
        # it returned without waiting for the old process to end (a condition, not a clock):
        # the old one is still running, the new one starts when it has finished
        assert old is not None and old.state() != QProcess.ProcessState.NotRunning
        assert service._process is None
        qtbot.waitUntil(lambda: service.running and service._process is not None,
                        timeout=120_000)
        assert service._process is not old
        qtbot.waitUntil(lambda: window.controller.model_ready, timeout=180_000)
    finally:
        window.shutdown()


def test_photoorg_without_a_command_opens_the_window(tmp_path: Path) -> None:
    """The README's "run the app" command, in a subprocess, with the window options."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PHOTOORG_EXIT_AFTER_SHOWN="1")
    out = subprocess.run(
        [sys.executable, "-m", "photoorg", "--data-dir", str(tmp_path / "data"),
         "--model", TINY, "--no-watch"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "photoorg window shown" in out.stdout
    assert (tmp_path / "data" / "catalog.sqlite").is_file()
