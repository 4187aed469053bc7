"""The main window: sidebar · grid / clusters / viewer · status bar. Layout and wiring only;
the :class:`~photoorg.ui.controller.LibraryController` does the work."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QModelIndex,
    QPoint,
    QSettings,
    QStringListModel,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QPixmap,
    QShortcut,
    QShowEvent,
    QTransform,
)
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoorg import config
from photoorg.core.app.api import (
    SORT_LABELS,
    SORTS,
    PhotoList,
    Progress,
    Source,
    display_name,
    key_rotation,
)
from photoorg.core.app.api import ClusterRow as ClusterInfo
from photoorg.core.app.window_backend import Overview, SettingsInfo
from photoorg.ui import desktop, organize_actions
from photoorg.ui.controller import LibraryController, progress_text
from photoorg.ui.errors import ErrorReporter
from photoorg.ui.icons import app_icon, icon
from photoorg.ui.menus import build_menus
from photoorg.ui.models.clusters import ClusterListModel, ClusterRole
from photoorg.ui.models.photos import PhotoListModel
from photoorg.ui.recovery import (
    apply_scheduled_restore,
    offer_backup_if_damaged,
    schedule_restore,
)
from photoorg.ui.shortcuts import TextHistoryFirst, reset_text, standard_keys
from photoorg.ui.stack_actions import StackActions
from photoorg.ui.views.clusters import ClusterPage
from photoorg.ui.views.duplicates import DuplicatesPage
from photoorg.ui.views.events import EventsPage
from photoorg.ui.views.grid import (
    DEFAULT_THUMB,
    MAX_THUMB,
    MIN_THUMB,
    DateScrubber,
    PhotoGrid,
)
from photoorg.ui.views.player import clock
from photoorg.ui.views.settings import SettingsDialog
from photoorg.ui.views.sidebar import KIND_LABELS, Sidebar
from photoorg.ui.views.unnamed_faces import ThisIsDialog, UnnamedFacesSection
from photoorg.ui.views.unreadable import UnreadablePage
from photoorg.ui.views.viewer import Viewer
from photoorg.ui.views.welcome import ModelPanel, WelcomePage

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250

STYLE = """
#pageTitle { font-size: 17pt; font-weight: 600; }
#welcomeTitle { font-size: 22pt; font-weight: 600; }
#welcomeSubtitle { font-size: 11pt; }
#viewerTitle { font-size: 12pt; font-weight: 600; }
#pageHint, #fieldCaption { color: palette(placeholder-text); }
#fieldCaption { font-size: 8pt; text-transform: uppercase; }
#modelCard { border: 1px solid palette(mid); border-radius: 10px; background: palette(base); }
#modelBanner { border: 1px solid palette(mid); border-radius: 8px; background: palette(base); }
#sidebar { background: palette(window); }
#sidebar::item { padding: 4px 2px; }
#searchField { padding: 4px 8px; min-height: 24px; border-radius: 6px; }
QPushButton#primaryButton { background: palette(highlight); color: palette(highlighted-text);
    border: 1px solid palette(highlight); border-radius: 5px; padding: 6px 18px;
    font-weight: 600; }
QPushButton#primaryButton:hover { background: palette(link); }
"""


class MainWindow(QMainWindow):
    def __init__(
        self,
        data: Path,
        settings: config.Settings | None = None,
        *,
        model_spec: str | None = None,
        index_mode: str = "process",
        watch: bool = True,
        faces: bool = True,
        errors: ErrorReporter | None = None,
    ) -> None:
        super().__init__()
        self.data = data
        self.settings = settings or config.Settings.load(data)
        self.setWindowTitle("photoorg")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLE)
        self.errors = errors or ErrorReporter(config.log_dir(data), self)
        self.errors.parent_widget = self
        apply_scheduled_restore(data)
        offer_backup_if_damaged(data, self)
        self._missing = 0  # photos whose files are gone (from the last overview)
        self.controller = LibraryController(
            data, self.settings, model_spec=model_spec, index_mode=index_mode, watch=watch,
            faces=faces, parent=self,
        )
        self.photos = PhotoListModel(self.controller.thumbs, self)
        self.clusters = ClusterListModel(self.controller.thumbs, self)
        self._started = False
        self._page_before_viewer: QWidget | None = None
        self._viewer_row = 0
        self._viewer_id: int | None = None  # the photo shown: rows shift as the grid reloads
        self._browse_nav: tuple = ("all", None, "All photos")
        # (page, sidebar nav, title, back button shown) where the current search started
        self._page_before_search: tuple | None = None
        self._shown_sort = "taken"  # the order the grid's rows are in
        self._grid_from_sidebar = True  # the grid shows _browse_nav (not an event, a cluster)
        self._counts_due = False  # the indexer went idle: say the counts with the next overview
        self._screen_hooked = False
        self._has_folders: bool | None = None
        self._settings_pending = False
        self._was_maximized = False
        self._build()
        self._connect()
        self.restore_window_state()

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self.addToolBar(toolbar)
        self.add_folder_action = QAction(icon("folder-add"), "Add folder", self)
        self.add_folder_action.setShortcut(QKeySequence.StandardKey.Open)
        self.add_folder_action.setToolTip("Add a photo folder to the library (Ctrl+O)")
        toolbar.addAction(self.add_folder_action)
        spacer = QWidget()
        spacer.setFixedWidth(12)
        toolbar.addWidget(spacer)
        self.search_field = QLineEdit()
        self._text_keys = TextHistoryFirst(self)
        self.search_field.setObjectName("searchField")
        self.search_field.setPlaceholderText("Search photos — describe what you're looking for "
                                             "(Ctrl+F)")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_field.installEventFilter(self._text_keys)
        self.search_field.setMaximumWidth(640)
        self.search_field.setMinimumWidth(260)
        self.search_field.setSizePolicy(QSizePolicy.Policy.Expanding,
                                        QSizePolicy.Policy.Preferred)
        toolbar.addWidget(self.search_field)
        stretch = QWidget()
        stretch.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(stretch)
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(MIN_THUMB, MAX_THUMB)
        self.zoom.setValue(DEFAULT_THUMB)
        self.zoom.setFixedWidth(120)
        self.zoom.setToolTip("Thumbnail size (Ctrl+wheel)")
        toolbar.addWidget(self.zoom)
        self.settings_action = QAction(icon("settings"), "Settings", self)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        toolbar.addAction(self.settings_action)
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcuts(standard_keys(QKeySequence.StandardKey.Quit, "Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.addAction(self.quit_action)  # works with the menu bar hidden (full screen)
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcuts(standard_keys(QKeySequence.StandardKey.Undo))
        self.undo_action.setEnabled(False)
        self.addAction(self.undo_action)
        self.forget_missing_action = QAction("Forget missing photos…", self)
        self.restore_action = QAction("Restore a catalog backup…", self)
        # completions as you type: people, places, tags, albums (from the overview)
        self.suggestions = QStringListModel(self)
        self.completer = QCompleter(self.suggestions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.search_field.setCompleter(self.completer)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DEBOUNCE_MS)

        self.sidebar = Sidebar()
        self.welcome = WelcomePage()
        self.grid = PhotoGrid()
        self.grid.setModel(self.photos)
        self.grid_title = QLabel("All photos")
        self.grid_title.setObjectName("pageTitle")
        self.grid_count = QLabel("")
        self.grid_count.setObjectName("pageHint")
        self.back_to_clusters = QToolButton()
        self.back_to_clusters.setIcon(icon("back"))
        self.back_to_clusters.setAutoRaise(True)
        self.back_to_clusters.setToolTip("Back (Alt+Left)")
        self.back_to_clusters.hide()
        self.weaker_button = QToolButton()  # results end at a relevance cut-off
        self.weaker_button.setText("Show weaker matches")
        self.weaker_button.setAutoRaise(True)
        self.weaker_button.setObjectName("weakerMatches")
        self.weaker_button.hide()
        self.sort_box = QComboBox()
        for key in SORTS:
            self.sort_box.addItem(SORT_LABELS[key], key)
        self.sort_box.setToolTip("Sort photos by")
        self.scrubber = DateScrubber(self.grid)
        self.model_banner = ModelPanel(compact=True)
        self.model_banner.hide()
        header = QHBoxLayout()
        header.setSpacing(6)
        header.addWidget(self.back_to_clusters)
        header.addWidget(self.grid_title)
        header.addSpacing(6)
        header.addWidget(self.grid_count, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.weaker_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addStretch(1)
        header.addWidget(self.sort_box)
        header.addSpacing(8)
        self.grid_page = QWidget()
        grid_layout = QVBoxLayout(self.grid_page)
        grid_layout.setContentsMargins(16, 12, 8, 0)
        grid_layout.setSpacing(8)
        grid_layout.addLayout(header)
        grid_layout.addWidget(self.model_banner)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.grid, 1)
        body.addWidget(self.scrubber)
        grid_layout.addLayout(body, 1)
        self.cluster_page = ClusterPage(self.clusters)
        self.unnamed_faces = UnnamedFacesSection(self.controller.thumbs)
        self.face_dialog: ThisIsDialog | None = None  # "This is…" for a box drawn in the viewer
        self.cluster_page.layout().addWidget(self.unnamed_faces)
        self.viewer = Viewer()
        self.unreadable_page = UnreadablePage()
        self.duplicates_page = DuplicatesPage(self.controller.thumbs)
        self.events_page = EventsPage(self.controller.thumbs)

        self.stack = QStackedWidget()
        for page in (self.welcome, self.grid_page, self.cluster_page, self.viewer,
                     self.unreadable_page, self.duplicates_page, self.events_page):
            self.stack.addWidget(page)
        self.stack.setCurrentWidget(self.grid_page)
        self.splitter = splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 1050])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        status = self.statusBar()
        status.setSizeGripEnabled(True)
        self.progress_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(160)
        self.progress_bar.setMaximumHeight(14)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.pause_button = QToolButton()
        self.pause_button.setAutoRaise(True)
        self.pause_button.setIcon(icon("pause"))
        self.pause_button.setToolTip("Pause indexing")
        self.pause_button.hide()
        self.watch_label = QLabel("")
        self.watch_label.setObjectName("pageHint")
        status.addPermanentWidget(self.progress_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.pause_button)
        status.addPermanentWidget(self.watch_label)

        self.menus = build_menus(self)
        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_search)
        QShortcut(QKeySequence("Alt+Left"), self, self._go_back)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)  # Ctrl+W
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.search_field, self._escape_search)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)

    def _connect(self) -> None:
        c = self.controller
        self.add_folder_action.triggered.connect(self.choose_folders)
        self.settings_action.triggered.connect(self.open_settings)
        self.search_field.textChanged.connect(lambda _: self.search_timer.start())
        self.completer.activated.connect(lambda _text: self._search_entered())
        self.weaker_button.clicked.connect(self.controller.show_weaker)
        self.search_field.returnPressed.connect(self._search_entered)
        self.search_timer.timeout.connect(self._search_now)
        self.zoom.valueChanged.connect(self.grid.set_thumb_size)
        self.zoom.valueChanged.connect(lambda _v: self._tiles_changed())
        self.sort_box.currentIndexChanged.connect(
            lambda _i: c.set_sort(self.sort_box.currentData()))
        self.grid.zoom_changed.connect(self.zoom.setValue)
        self.grid.open_requested.connect(self.open_viewer)
        self.stacks = StackActions(self)
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self.sidebar.navigate.connect(self.navigate)
        self.sidebar.menu_requested.connect(self._sidebar_menu)
        self.sidebar.photos_dropped.connect(c.drop_on)
        self.unreadable_page.retry_requested.connect(self.retry_unreadable)
        self.unreadable_page.show_requested.connect(desktop.show_in_folder)
        c.unreadable_ready.connect(self.unreadable_page.set_files)
        c.problems_ready.connect(self.unreadable_page.set_problems)
        dupes = self.duplicates_page
        dupes.threshold_changed.connect(c.load_duplicates)
        dupes.trash_requested.connect(lambda ids: c.trash_photos(ids, dupes.value()))
        dupes.dismiss_requested.connect(lambda ids: c.not_duplicates(ids, dupes.value()))
        c.duplicates_ready.connect(dupes.set_groups)
        self.events_page.keep_requested.connect(c.keep_event)
        self.events_page.dismiss_requested.connect(c.dismiss_event)
        self.events_page.show_requested.connect(self.show_photo_ids)
        c.events_ready.connect(self.events_page.set_events)
        self.welcome.add_folder_requested.connect(self.choose_folders)
        self.welcome.samples_requested.connect(c.add_sample_library)
        self.back_to_clusters.clicked.connect(self._go_back)
        self.viewer.back_requested.connect(self.close_viewer)
        self.viewer.move_requested.connect(self.move_viewer)
        self.viewer.find_similar_requested.connect(self._viewer_similar)
        self.viewer.fullscreen_requested.connect(self._viewer_fullscreen)
        self.viewer.rotation_changed.connect(c.set_rotation)
        self.viewer.sharper_requested.connect(
            lambda pid: pid == self._viewer_id and c.load_image(pid, self.viewer.path, None))
        self.viewer.menu_requested.connect(self._viewer_menu)
        self.viewer.canvas.box_drawn.connect(self._name_drawn_face)
        c.image_unavailable.connect(self.viewer.set_unavailable)
        self.cluster_page.view.open_requested.connect(self._open_cluster)
        self.cluster_page.view.customContextMenuRequested.connect(self._cluster_menu)
        self.clusters.rename_requested.connect(c.rename_cluster)
        self.clusters.merge_requested.connect(self.merge_clusters)
        self.undo_action.triggered.connect(c.undo)
        self.quit_action.triggered.connect(self.close)
        self.forget_missing_action.triggered.connect(self.forget_missing)
        self.restore_action.triggered.connect(self.restore_backup)
        c.undo_ready.connect(self._undo_ready)
        c.page_moved.connect(self._page_moved)
        c.library_changed.connect(self._refresh_open_page)
        self.pause_button.clicked.connect(self._toggle_pause)
        for panel in (self.welcome.model_panel, self.model_banner):
            panel.download_requested.connect(lambda: c.download_model())
            panel.cancel_requested.connect(c.cancel_download)
            panel.local_file_requested.connect(self.choose_weights)

        c.photos_ready.connect(self._show_photos)
        c.overview_ready.connect(self._show_overview)
        c.clusters_ready.connect(self._show_clusters)
        c.unnamed_faces_ready.connect(self.unnamed_faces.set_faces)
        self.unnamed_faces.name_requested.connect(c.name_faces)
        self.unnamed_faces.not_face_requested.connect(c.not_faces)
        c.details_ready.connect(self.viewer.set_details)
        c.image_ready.connect(self.viewer.set_image)
        c.model_state.connect(self._model_state)
        c.download_progress.connect(self.welcome.model_panel.set_progress)
        c.download_progress.connect(self.model_banner.set_progress)
        c.error.connect(self.errors.report)
        c.writes_done.connect(lambda text: self.statusBar().showMessage(text, 4000))
        c.service.progress.connect(self._show_progress)
        c.service.paused_changed.connect(self._paused_changed)
        c.service.memory.connect(self._memory_state)
        c.service.watch_state.connect(self._watch_state)
        c.service.idle.connect(self._index_idle)
        c.service.scanned.connect(self._scanned)

    # -- lifecycle -------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        handle = self.windowHandle()
        if handle is not None and not self._screen_hooked:
            self._screen_hooked = True
            handle.screenChanged.connect(lambda _s: self._tiles_changed())
        self._tiles_changed()
        if not self._started:
            self._started = True
            QTimer.singleShot(0, self.controller.start)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_window_state()
        self.shutdown()
        super().closeEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._tiles_changed()

    def _tiles_changed(self) -> None:
        """Thumbnails are made for the pixels on screen: the tile size times the screen's
        device pixel ratio (the zoom moved, or the window went to another screen)."""
        if self.controller.thumbs.set_tile(self.grid.delegate.thumb, self.devicePixelRatioF()):
            self.grid.viewport().update()
            self.cluster_page.view.viewport().update()

    def _window_state(self) -> QSettings:
        return QSettings(str(config.window_state_path(self.data)), QSettings.Format.IniFormat)

    def restore_window_state(self) -> None:
        """Last session's size, place and sidebar width; the first time, a size that fits
        the screen (a laptop's 1366 x 768 included)."""
        state = self._window_state()
        geometry, sizes = state.value("geometry"), state.value("splitter")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            if isinstance(sizes, QByteArray):
                self.splitter.restoreState(sizes)
            return
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 820)
            return
        room = screen.availableGeometry()
        self.resize(min(1280, int(room.width() * 0.92)), min(820, int(room.height() * 0.92)))

    def save_window_state(self) -> None:
        state = self._window_state()
        state.setValue("geometry", self.saveGeometry())
        state.setValue("splitter", self.splitter.saveState())
        state.sync()

    def shutdown(self) -> None:
        self.search_timer.stop()
        self.controller.close()

    # -- navigation -------------------------------------------------------------------

    @Slot(tuple)
    def navigate(self, nav: tuple) -> None:
        kind, arg, label = nav
        if kind == "clusters":
            self.show_clusters(arg)
            return
        if kind == "duplicates":
            self._clear_search_quietly()
            self.stack.setCurrentWidget(self.duplicates_page)
            self.controller.load_duplicates(self.duplicates_page.value())
            return
        if kind == "unreadable":
            self._clear_search_quietly()
            self.stack.setCurrentWidget(self.unreadable_page)
            self.controller.load_unreadable()
            return
        if kind == "events":
            self._clear_search_quietly()
            self.stack.setCurrentWidget(self.events_page)
            self.controller.load_events()
            return
        self._browse_nav = nav
        self._grid_from_sidebar = True
        self._clear_search_quietly()
        self.back_to_clusters.hide()
        self.stack.setCurrentWidget(self.grid_page if self._has_folders is not False
                                    else self.welcome)
        self.grid_title.setText(label)
        self.controller.show_source(Source(kind, arg, label))

    def show_clusters(self, kind: str) -> None:
        self._clear_search_quietly()
        self.cluster_page.set_kind(kind, KIND_LABELS.get(kind, kind.title()))
        self.clusters.set_clusters(kind, [])
        self.stack.setCurrentWidget(self.cluster_page)
        self.sidebar.select_nav("clusters", kind)
        self.controller.load_clusters(kind)
        self.unnamed_faces.hide()
        if kind == "people":
            self.controller.load_unnamed_faces()

    def _open_cluster(self, index: QModelIndex) -> None:
        info = self.clusters.cluster(index.row())
        label = KIND_LABELS.get(info.kind, "")
        self._browse_nav = ("cluster", info.id, info.title)
        self._grid_from_sidebar = False
        self._clear_search_quietly()
        self.grid_title.setText(f"{label} › {info.title}" if label else info.title)
        self.back_to_clusters.show()
        self.stack.setCurrentWidget(self.grid_page)
        self.controller.show_source(Source("cluster", info.id, info.title))

    def _go_back(self) -> None:
        if self.stack.currentWidget() is self.viewer:
            self.close_viewer()
        elif self.stacks.stack_page() is not None:
            self.stacks.leave()
        elif self.back_to_clusters.isVisible() and self.controller.cluster_kind:
            self.back_to_clusters.hide()
            self.show_clusters(self.controller.cluster_kind)

    def focus_search(self) -> None:
        if self.stack.currentWidget() is self.viewer:
            self.close_viewer()
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def _escape_search(self) -> None:
        """Esc: forget the query (and its typing history) and go back to the page the
        search started from, selected in the sidebar."""
        if self.search_field.text() or self.controller.search_text:
            self.search_timer.stop()
            self.search_field.blockSignals(True)
            reset_text(self.search_field)
            self.search_field.blockSignals(False)
            self._leave_search()
        self.grid.setFocus()

    def _remember_page(self) -> None:
        """Where a search starts from (kept while the query is refined)."""
        if self.controller.search_text or self._page_before_search is not None:
            return
        page = self.stack.currentWidget()
        nav = self.sidebar.current_nav()
        if page is self.grid_page:
            nav = self._browse_nav
        back = self.back_to_clusters.isVisible()
        # an event's photos or similar ones are not a page to return to: their browse page is
        title = self.grid_title.text() if (self._grid_from_sidebar or back) else None
        self._page_before_search = (page, nav, title, back)

    def _leave_search(self) -> None:
        """Back to the page the search came from."""
        before, self._page_before_search = self._page_before_search, None
        page, nav, title, back = before or (self.grid_page, self._browse_nav,
                                            self._browse_nav[2], False)
        if page is not self.grid_page and nav is not None:
            self.controller.leave_search()
            self.sidebar.select_nav(nav[0], nav[1])
            self.navigate(tuple(nav))
            return
        if page is not self.grid_page or nav is None:
            nav, title, back = self._browse_nav, self._browse_nav[2], False
        kind, arg, label = nav
        self._browse_nav = nav
        self._grid_from_sidebar = not back
        self.stack.setCurrentWidget(self.grid_page)
        self.grid_title.setText(title or label)
        self.back_to_clusters.setVisible(back)
        if self.sidebar.item_for(kind, arg) is not None:
            self.sidebar.select_nav(kind, arg)
        else:
            self.sidebar.clear_selection_quietly()
        self.controller.show_source(Source(kind, arg, label))

    def _clear_search_quietly(self) -> None:
        """Leave search mode without a round trip (the caller shows something else)."""
        self.search_timer.stop()
        self.search_field.blockSignals(True)
        reset_text(self.search_field)
        self.search_field.blockSignals(False)
        self._page_before_search = None
        self.controller.leave_search()

    # -- search -------------------------------------------------------------------------

    @Slot()
    def _search_entered(self) -> None:
        """Enter, or a completion picked: the search is what the user wants to see now, not
        under the list of completions."""
        self.completer.popup().hide()
        self._search_now()

    @Slot()
    def _search_now(self) -> None:
        self.search_timer.stop()
        text = self.search_field.text().strip()
        if text:
            self._remember_page()
            if self.stack.currentWidget() is not self.grid_page:
                self.stack.setCurrentWidget(self.grid_page)
            self.back_to_clusters.hide()
            self.grid_title.setText(f"Results for “{text}”")
            self.sidebar.clear_selection_quietly()
        elif self.controller.search_text and self.stack.currentWidget() is self.grid_page:
            self._leave_search()  # the text was deleted: back where the search began
            return
        self.controller.search(text)

    def find_similar(self, ids: list[int], paths: list[str],
                     at_seconds: float | None = None) -> None:
        """Ids and paths, not rows: the grid may reload (the indexer refreshes it) while a
        context menu is open, and a row would then point at another photo. ``at_seconds``:
        from that frame of the one video."""
        if not ids:
            return
        self._clear_search_quietly()
        self.sidebar.clear_selection_quietly()
        self.back_to_clusters.hide()
        self.stack.setCurrentWidget(self.grid_page)
        name = display_name(os.path.basename(paths[0]))
        more = f" and {len(ids) - 1} more" if len(ids) > 1 else ""
        at = f" at {clock(round(at_seconds * 1000))}" if at_seconds is not None else ""
        self.grid_title.setText(f"Similar to {name}{at}{more}")
        self.controller.find_similar(ids, at_seconds)

    # -- grid ------------------------------------------------------------------------------

    @Slot(object)
    def _show_photos(self, photos: PhotoList) -> None:
        current = self.grid.currentIndex()
        keep_id = self.photos.photo_id(current.row()) if current.isValid() else None
        scroll = self.grid.verticalScrollBar().value()
        # the same page refreshed keeps its place; another sort starts at the top
        same_view = (photos.title == self.photos.title and photos.scores is None
                     and self._shown_sort == self.controller.sort)
        self._shown_sort = self.controller.sort
        self.photos.set_photos(photos)
        self.weaker_button.setVisible(photos.weaker_hidden)
        names = self._names_in_query()
        if photos.scores is not None and len(names) > 1 and photos.ids and not any(
                photos.matched or ()):
            # every name is known, yet no photo has them all: say so, not 20 look-alikes
            self.grid_count.setText(f"No photo matches all of: {', '.join(names)} — "
                                    "showing the closest looking photos")
        elif photos.scores is not None:
            total = photos.total if photos.total is not None else len(photos)
            if not photos.ids:
                self.grid_count.setText("no matches")
            elif total > len(photos):
                self.grid_count.setText(f"best {len(photos):,} of {total:,} results")
            else:
                self.grid_count.setText(f"{total:,} result" + ("" if total == 1 else "s"))
        else:
            n = len(photos)
            stacked = sum(b.count - 1 for b in photos.stacks.values()
                          if b.stacked and b.cover) if photos.stack_id is None else 0
            self.grid_count.setText(f"{n:,} photo" + ("" if n == 1 else "s")
                                    + (f" (+{stacked:,} in stacks)" if stacked else ""))
        if same_view and keep_id is not None:
            row = self.photos.row_of_id(keep_id)
            if row is not None:
                self.grid.setCurrentIndex(self.photos.index(row))
            self.grid.verticalScrollBar().setValue(scroll)
        elif photos.ids:
            self.grid.scrollToTop()
            self.grid.setCurrentIndex(self.photos.index(0))
            self.grid.selectionModel().clearSelection()
        self.grid.empty_text = self._empty_text()
        if self.stack.currentWidget() is self.viewer and self._viewer_id is not None:
            row = self.photos.row_of_id(self._viewer_id)
            if row is not None:
                self.viewer.set_position(row, self.photos.rowCount())

    def _names_in_query(self) -> list[str]:
        """The people, places, tags and albums the search names (from the completions),
        in the order typed."""
        text = self.controller.search_text.casefold()
        if not text or self.controller.overview is None:
            return []
        found: list[tuple[int, str]] = []
        for name, _kind in self.controller.overview.suggestions:
            at = f" {text} ".find(f" {name.casefold()} ")
            if at >= 0 and all(name.casefold() != n.casefold() for _a, n in found):
                found.append((at, name))
        return [n for _at, n in sorted(found)]

    def _empty_text(self) -> str:
        if self.controller.search_text:
            if not self.controller.model_ready:
                return ("No names, places, tags, file names or text match. Searching by what "
                        "photos look like turns on when the search model is here (see above).")
            if self.photos.photos.weaker_hidden:
                return "Nothing matches closely. “Show weaker matches” lists the nearest ones."
            return "No photos match. Try other words."
        if self._has_folders is False:
            return "No photo folders yet. Add one with “Add folder”."
        if self.controller.service.busy:
            return "Looking for photos…"
        return "No photos here."

    def selected_rows(self) -> list[int]:
        rows = self.grid.selected_rows()
        if not rows and self.grid.currentIndex().isValid():
            rows = [self.grid.currentIndex().row()]
        return rows

    def grid_menu(self, rows: list[int]) -> QMenu:
        """The context menu for these rows (built, not shown: tests use it too)."""
        menu = QMenu(self)
        n = len(rows)
        paths = [self.photos.path(r) for r in rows]
        ids = [self.photos.photo_id(r) for r in rows]
        feedback = bool(self.controller.similar_to and not self.controller.search_text)
        if n == 1 or not feedback:  # else the feedback's "More like these" is the one
            similar = menu.addAction(icon("similar"), "Find similar" if n == 1
                                     else "More like these")
            similar.setEnabled(self.controller.model_ready or bool(
                self.controller.overview and self.controller.overview.model))
            similar.triggered.connect(lambda: self.find_similar(ids, paths))
        if feedback:
            self._feedback_actions(menu, ids)
        menu.addSeparator()
        open_action = menu.addAction(icon("open"), "Open" if n == 1 else f"Open {n} photos")
        open_action.setEnabled(n <= 20)
        open_action.triggered.connect(lambda: [desktop.open_file(p) for p in paths])
        show = menu.addAction(icon("folder"), "Show in folder")
        show.setEnabled(n == 1)
        show.triggered.connect(lambda: desktop.show_in_folder(paths[0]))
        copy = menu.addAction(icon("copy"), "Copy path" if n == 1 else f"Copy {n} paths")
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText("\n".join(paths)))
        menu.addSeparator()
        tag = menu.addAction(icon("tag"), "Add tag…")
        tag.triggered.connect(lambda: self.ask_tag(ids))
        album = menu.addAction(icon("album"), "Add to album…")
        album.triggered.connect(lambda: organize_actions.ask_album(self, ids))
        self.stacks.add_to_menu(menu, rows)
        nav_kind, nav_arg, nav_label = self._browse_nav
        if (nav_kind == "cluster" and not self.controller.search_text
                and not self.controller.similar_to):
            menu.addSeparator()
            person = self.controller.cluster_kind == "people"
            named = nav_label not in ("", "Unnamed", "Unnamed person")
            confirm = menu.addAction(icon("check"), f"Yes, this is {nav_label}" if named
                                     else "Yes, this belongs here")
            confirm.triggered.connect(lambda: self.controller.confirm_faces(nav_arg, ids))
            reject = menu.addAction(icon("close"), "Not this person" if person
                                    else (f"Not {nav_label}" if named else "Not in this group"))
            reject.triggered.connect(lambda: self.controller.reject_faces(nav_arg, ids))
        return menu

    @Slot(QPoint)
    def _grid_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)
        menu = self.grid_menu(self.selected_rows())
        menu.exec(self.grid.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def _feedback_actions(self, menu: QMenu, ids: list[int]) -> None:
        """Relevance feedback while showing similar photos: refine, or save the query."""
        c = self.controller
        more = menu.addAction(icon("similar"), "More like these")
        more.triggered.connect(lambda: self._refine(more=ids))
        less = menu.addAction(icon("close"), "Less like these")
        less.setEnabled(bool(set(c.similar_to) - set(ids)))  # something must stay to be like
        less.triggered.connect(lambda: self._refine(less=ids))
        save = menu.addAction(icon("album"), "Save as album…")
        save.triggered.connect(self.ask_save_similar)

    def _refine(self, more: tuple[int, ...] | list[int] = (),
                less: tuple[int, ...] | list[int] = ()) -> None:
        self.controller.refine_similar(more=more, less=less)
        self.grid_title.setText(self.controller.similar_title())

    def ask_save_similar(self) -> None:
        """"Save as album…": the current "more like these" as an album that stays current."""
        name, ok = QInputDialog.getText(
            self, "Save as album", "Album name (new photos like these will join it):")
        if ok and name.strip():
            self.controller.save_similar_album(name.strip())

    def show_photo_ids(self, ids: list[int], title: str) -> None:
        """Show given photos in the grid (an event's, from the Events page)."""
        self._clear_search_quietly()
        self._grid_from_sidebar = False
        self.sidebar.clear_selection_quietly()
        self.back_to_clusters.hide()
        self.stack.setCurrentWidget(self.grid_page)
        self.grid_title.setText(title)
        self.controller.show_ids(ids, title)

    def ask_tag(self, photo_ids: list[int]) -> None:
        organize_actions.ask_tag(self, photo_ids)

    def sidebar_menu(self, nav: tuple) -> QMenu | None:
        """The sidebar's context menu for an entry (built, not shown: tests use it too)."""
        return organize_actions.sidebar_menu(self, nav)

    @Slot(tuple, QPoint)
    def _sidebar_menu(self, nav: tuple, pos: QPoint) -> None:
        menu = self.sidebar_menu(nav)
        if menu is not None:
            menu.exec(pos)
            menu.deleteLater()

    # -- viewer ------------------------------------------------------------------------------

    @Slot(QModelIndex)
    def open_viewer(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        if self.stack.currentWidget() is not self.viewer:
            self._page_before_viewer = self.stack.currentWidget()
        self.stack.setCurrentWidget(self.viewer)
        self._show_in_viewer(index.row())
        self.viewer.setFocus()

    def _show_in_viewer(self, row: int) -> None:
        self._viewer_row = row
        index = self.photos.index(row)
        photo_id = self.photos.photo_id(row)
        self._viewer_id = photo_id
        path = self.photos.path(row)
        preview = index.data(Qt.ItemDataRole.DecorationRole)
        turned = key_rotation(self.photos.photos.keys[row])
        if turned and isinstance(preview, QPixmap):  # the viewer turns it itself
            preview = preview.transformed(QTransform().rotate(-turned))
        shown = self.photos.photos
        self.viewer.show_photo(photo_id, path, preview, row, self.photos.rowCount(),
                               shown.durations.get(photo_id), shown.times.get(photo_id))
        self.controller.load_image(photo_id, path)
        self.controller.load_details(photo_id)

    def _viewer_row_now(self) -> int:
        """The shown photo's row in the grid as it is now (the indexer may have added
        photos above it since), else where it was."""
        row = self.photos.row_of_id(self._viewer_id) if self._viewer_id is not None else None
        return self._viewer_row if row is None else row

    @Slot(int)
    def move_viewer(self, delta: int) -> None:
        row = self._viewer_row_now() + delta
        if 0 <= row < self.photos.rowCount():
            self._show_in_viewer(row)

    def viewer_menu(self) -> QMenu:
        """The viewer's right-click menu: the grid's, for the photo shown, and "Draw a face
        box…" (faces are boxes on the photo as stored, so not while it is turned on
        screen)."""
        menu = self.grid_menu([self._viewer_row_now()])
        menu.addSeparator()
        draw = menu.addAction("Draw a face box…")
        canvas = self.viewer.canvas
        draw.setEnabled(canvas.has_pixmap() and canvas.rotation == 0
                        and not self.viewer.is_video)
        if canvas.rotation:
            draw.setToolTip("Turn the photo back first: face boxes are on the photo as stored")
        draw.triggered.connect(canvas.start_drawing)
        return menu

    def _name_drawn_face(self, box: tuple) -> None:
        """A box drawn in the viewer: "This is…", then the face is added through the door."""
        photo_id = self._viewer_id
        if photo_id is None:
            return
        self.face_dialog = dialog = ThisIsDialog(self.unnamed_faces.names, 1, self)
        dialog.accepted.connect(lambda: dialog.name() and self.controller.draw_face(
            photo_id, box, dialog.name()))
        dialog.open()

    def _viewer_menu(self, pos: QPoint) -> None:
        if self._viewer_id is None or self.photos.rowCount() == 0:
            return
        menu = self.viewer_menu()
        menu.exec(pos)
        menu.deleteLater()

    @Slot(bool)
    def _viewer_fullscreen(self, on: bool) -> None:
        """F11: the photo alone on the screen; again (or Esc) brings the window back."""
        for widget in (self.sidebar, self.statusBar(), *self.findChildren(QToolBar)):
            widget.setVisible(not on)
        if on:
            self._was_maximized = self.isMaximized()
            self.showFullScreen()
        elif self._was_maximized:
            self.showMaximized()
        else:
            self.showNormal()

    @Slot()
    def close_viewer(self) -> None:
        if self.viewer.fullscreen:
            self.viewer.set_fullscreen(False)
        self.viewer.stop_slideshow()
        self.viewer.stop_media()
        self.stack.setCurrentWidget(self._page_before_viewer or self.grid_page)
        row = self._viewer_row_now()
        if row < self.photos.rowCount():
            index = self.photos.index(row)
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)
        self.grid.setFocus()

    def _viewer_similar(self) -> None:
        row = self._viewer_row_now()
        ids, paths = [self.photos.photo_id(row)], [self.photos.path(row)]
        # a video: from the frame shown now, not its poster (read before closing stops it)
        at = self.viewer.video.position_ms() / 1000 if self.viewer.is_video else None
        self.close_viewer()
        self.find_similar(ids, paths, at)

    # -- clusters ---------------------------------------------------------------------------

    @Slot(str, list)
    def _show_clusters(self, kind: str, items: list[ClusterInfo]) -> None:
        if kind != self.clusters.kind and self.clusters.kind:
            return
        view = self.cluster_page.view
        if view.state() == view.State.EditingState:
            return  # do not pull the list from under the user's typing
        selected = {view.model().data(i, ClusterRole.Id)
                    for i in view.selectionModel().selectedIndexes()}
        self.clusters.set_clusters(kind, items)
        for cid in selected:
            row = self.clusters.row_of_id(cid)
            if row is not None:
                view.selectionModel().select(self.clusters.index(row),
                                             view.selectionModel().SelectionFlag.Select)

    def cluster_menu(self, rows: list[int]) -> QMenu:
        menu = QMenu(self)
        infos = [self.clusters.cluster(r) for r in rows]
        first = infos[0]
        open_action = menu.addAction(icon("photos"), "Show photos")
        open_action.triggered.connect(lambda: self._open_cluster(self.clusters.index(rows[0])))
        rename = menu.addAction("Rename…" if first.name else "Add a name…")
        rename.setEnabled(len(rows) == 1)
        rename.triggered.connect(lambda: self.cluster_page.view.edit(self.clusters.index(rows[0])))
        if len(infos) > 1:
            target = max(infos, key=lambda c: (c.name is not None, c.count))
            merge = menu.addAction(icon("merge"), f"Merge {len(infos)} into “{target.title}”")
            merge.triggered.connect(lambda: self.merge_clusters(
                [c.id for c in infos], target.id))
        menu.addSeparator()
        hide = menu.addAction(icon("eye-off"), "Hide" if len(rows) == 1 else f"Hide {len(rows)}")
        hide.triggered.connect(lambda: [self.controller.hide_cluster(c.id) for c in infos])
        return menu

    def merge_clusters(self, source_ids: list[int], target_id: int) -> None:
        """Merge (drag a card onto another, or the menu); asks first when more than one of
        them has a name: two named people are rarely one by accident."""
        rows = [self.clusters.row_of_id(cid) for cid in {*source_ids, target_id}]
        named = sorted({info.name for r in rows if r is not None
                        and (info := self.clusters.cluster(r)).name})
        if len(named) > 1:
            target = self.clusters.row_of_id(target_id)
            into = self.clusters.cluster(target).title if target is not None else ""
            answer = QMessageBox.question(
                self, "Merge named groups?",
                f"Merge {', '.join(f'“{n}”' for n in named)} into one, named “{into}”?\n"
                "You can undo this with Edit › Undo (Ctrl+Z).",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.controller.merge_clusters(source_ids, target_id)

    @Slot(str)
    def _undo_ready(self, summary: str) -> None:
        self.undo_action.setEnabled(bool(summary))
        self.undo_action.setText(f"Undo: {summary}" if summary else "Undo")

    @Slot(QPoint)
    def _cluster_menu(self, pos: QPoint) -> None:
        view = self.cluster_page.view
        index = view.indexAt(pos)
        if not index.isValid():
            return
        if not view.selectionModel().isSelected(index):
            view.setCurrentIndex(index)
        rows = sorted(i.row() for i in view.selectionModel().selectedIndexes()) or [index.row()]
        menu = self.cluster_menu(rows)
        menu.exec(view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    # -- library state -------------------------------------------------------------------

    @Slot()
    def _refresh_open_page(self) -> None:
        """A decision, an undo, the CLI or the indexer changed the library: the page that is
        open asks again (the grid and the sidebar follow through the controller)."""
        page = self.stack.currentWidget()
        if page is self.duplicates_page:
            self.controller.load_duplicates(self.duplicates_page.value())
        elif page is self.unreadable_page:
            self.controller.load_unreadable()
        elif page is self.events_page:
            self.controller.load_events()

    @Slot(object)
    def _page_moved(self, source: Source) -> None:
        """The album or tag shown was renamed, deleted or undone: the title and the sidebar
        follow (the controller reloads the rows)."""
        self._browse_nav = (source.kind, source.arg, source.label)
        self._grid_from_sidebar = True
        if self.stack.currentWidget() is not self.grid_page or self.controller.search_text:
            return
        self.grid_title.setText(source.label)
        self.back_to_clusters.hide()
        self._select_browsed()

    def _select_browsed(self) -> None:
        """The sidebar shows the grid's page as selected (once its entry exists)."""
        if (self.stack.currentWidget() is not self.grid_page or self.controller.search_text
                or self.controller.similar_to or not self._grid_from_sidebar):
            return
        kind, arg, _label = self._browse_nav
        current = self.sidebar.current_nav()
        if (current is None or tuple(current[:2]) != (kind, arg)) \
                and self.sidebar.item_for(kind, arg) is not None:
            self.sidebar.select_nav(kind, arg)

    @Slot(object)
    def _show_overview(self, overview: Overview) -> None:
        self.sidebar.set_overview(overview)
        self._select_browsed()
        if self._counts_due:
            self._show_counts(overview)
        self._missing = int(overview.counts.get("missing", 0))
        words = [text for text, _kind in overview.suggestions]
        if words != self.suggestions.stringList():
            self.suggestions.setStringList(words)
        if self.stack.currentWidget() is self.unreadable_page:
            self.controller.load_unreadable()  # files retried, fixed or newly broken
        has_folders = bool(overview.folders)
        if has_folders != self._has_folders:
            self._has_folders = has_folders
            if not has_folders:
                self.stack.setCurrentWidget(self.welcome)
            elif self.stack.currentWidget() is self.welcome:
                self.stack.setCurrentWidget(self.grid_page)
        self.grid.empty_text = self._empty_text()
        self.grid.viewport().update()

    @Slot(object)
    def _show_progress(self, p: Progress) -> None:
        text = progress_text(p)
        active = p.phase != "done"
        self.progress_label.setText(text)
        self.progress_bar.setToolTip(text)  # the bar says it too, ETA included
        determinate = p.phase in ("embedding", "faces", "text") and p.total > 0
        self.progress_bar.setVisible(active)
        self.pause_button.setVisible(active and p.phase in ("embedding", "faces", "text"))
        if determinate:
            self.progress_bar.setRange(0, p.total)
            self.progress_bar.setValue(p.done)
        elif active:
            self.progress_bar.setRange(0, 0)

    @Slot(list)
    def retry_unreadable(self, photo_ids: list[int]) -> None:
        """Retry all / Retry selected: the page says the files are being read again."""
        page = self.unreadable_page
        page.retry_started(len(photo_ids) or page.row_count())
        self.controller.retry_unreadable(photo_ids)

    @Slot()
    def _index_idle(self) -> None:
        if self.unreadable_page.retrying and not self.controller.service.busy:
            self.unreadable_page.retry_finished()
            if self.stack.currentWidget() is self.unreadable_page:
                self.controller.load_unreadable()
        self.progress_label.setText("")
        self.progress_bar.hide()
        self.pause_button.hide()
        # the counts come with the overview the idle asks for: the one in hand is from
        # before this pass (the status bar said 88 while the sidebar already said 81)
        self._counts_due = True

    def _show_counts(self, overview: Overview) -> None:
        self._counts_due = False
        counts = overview.library or {}
        if counts.get("photos"):  # the sidebar's and the page's numbers, not a third set
            text = f"{counts['photos']:,} photos"
            if counts.get("unreadable"):
                text += f" · {counts['unreadable']:,} couldn't be read"
            if counts.get("failed"):
                text += f" · {counts['failed']:,} not done yet (see Couldn't read)"
            if counts.get("offline"):
                text += f" · {counts['offline']:,} offline"
            self.statusBar().showMessage(text, 5000)

    @Slot(object)
    def _scanned(self, report: dict) -> None:
        news = [f"{report.get(key, 0):,} {label}" for key, label in
                (("added", "new"), ("changed", "changed"), ("moved", "moved"),
                 ("removed", "missing")) if report.get(key)]
        offline = report.get("offline") or []
        if offline:
            news.append(f"{len(offline)} folder{'s' if len(offline) != 1 else ''} offline")
        if news:
            self.statusBar().showMessage("Found " + ", ".join(news), 8000)

    @Slot()
    def _toggle_pause(self) -> None:
        if self.controller.service.paused:
            self.controller.service.resume()
        else:
            self.controller.service.pause()

    @Slot(bool)
    def _paused_changed(self, paused: bool) -> None:
        self.pause_button.setIcon(icon("play" if paused else "pause"))
        self.pause_button.setToolTip("Resume indexing" if paused else "Pause indexing")
        p = self.controller.service.last_progress
        if p is not None:
            p.paused = paused
            self._show_progress(p)

    @Slot(str, str, int)
    def _watch_state(self, state: str, mode: str, folders: int) -> None:
        if state == "watching":
            how = {"polling": " (polling)", "native": ""}.get(mode, "")
            self.watch_label.setText(
                f"Watching {folders} folder{'s' if folders != 1 else ''}{how}")
        elif state == "unavailable":
            self.watch_label.setText("Not watching for changes")
        else:
            self.watch_label.setText("")

    LOADING_SEARCH = "Loading the search model…"

    @Slot(str, str)
    def _memory_state(self, state: str, spec: str) -> None:
        """The service let models go while idle, or loads the text tower for a search."""
        status = self.statusBar()
        if state == "text_loading":
            status.showMessage(self.LOADING_SEARCH)
        elif state == "text_ready" and status.currentMessage() == self.LOADING_SEARCH:
            status.clearMessage()

    @Slot(str, str, str)
    def _model_state(self, state: str, spec: str, message: str) -> None:
        for panel in (self.welcome.model_panel, self.model_banner):
            panel.set_state(state, spec, message)
        self.grid.empty_text = self._empty_text()

    # -- dialogs -----------------------------------------------------------------------------

    def forget_missing(self) -> None:
        """Forget, after asking, the photos whose files are gone (kept until then, so a file
        that comes back takes its tags, names and faces back)."""
        if not self._missing:
            QMessageBox.information(self, "Forget missing photos",
                                    "No photos are missing: every file is where it was.")
            return
        answer = QMessageBox.question(
            self, "Forget missing photos?",
            f"{self._missing:,} photos' files are gone from the library folders. photoorg "
            "keeps their tags, names and faces in case they come back. Forget them for good?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.forget_missing()

    def restore_backup(self) -> None:
        """Choose a catalog backup; it replaces the catalog when photoorg starts again."""
        from photoorg.core.app.api import list_backups

        found = list_backups(self.data)
        if not found:
            QMessageBox.information(self, "Restore a catalog backup",
                                    "There is no backup yet (one is made each day).")
            return
        labels = [b.label for b in found]
        label, ok = QInputDialog.getItem(self, "Restore a catalog backup",
                                         "Replace the catalog with the backup of:", labels,
                                         0, False)
        if not ok or label not in labels:
            return
        answer = QMessageBox.question(
            self, "Restore the backup?",
            f"Changes made after {label} are lost (the current catalog is kept beside it). "
            "photoorg closes now and restores it when you start it again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            schedule_restore(self.data, found[labels.index(label)].path)
            self.close()

    def choose_folders(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if path:
            self.controller.add_folders([path])

    def choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose CLIP weights", "", "Weights (*.safetensors *.bin *.pt *.pth)")
        if path:
            arch = self.controller.effective_model().split("/")[0]
            self.controller.use_model(f"{arch}/{path}")

    def open_settings(self) -> None:
        if self._settings_pending:
            return
        self._settings_pending = True
        self.controller.settings_info_ready.connect(self._settings_with_info,
                                                    Qt.ConnectionType.SingleShotConnection)
        self.controller.load_settings_info()

    @Slot(object)
    def _settings_with_info(self, info: SettingsInfo) -> None:
        self._settings_pending = False
        dialog = SettingsDialog(self.controller.settings, self.controller.effective_model(),
                                info.folders, info.exclusions, info.cache_mb, self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.controller.apply_settings(dialog.result_values(), info.exclusions)
            self.settings = self.controller.settings
