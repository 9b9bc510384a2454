"""The main window: package panel, device table, log and history, and the actions on them."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHeaderView, QLabel, QMainWindow, QMessageBox,
                               QSpinBox, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget)

from flasher.history.report import Report
from flasher.package.factory import is_factory_zip
from flasher.settings import Settings

from .board import Board, station_policy
from .device_model import COLUMN, DeviceModel
from .guided.flow import GuidedFlow
from .guided.steps import GuidedSetup
from .guided.window import GuidedWindow
from .history_view import HistoryView
from .icons import icon
from .log_file_dialog import LogFileDialog
from .log_pane import LogPane
from .package_panel import PackagePanel
from .plain_text import cell
from .progress_delegate import ProgressDelegate
from .report_delivery import ReportDelivery
from .settings_dialog import SettingsDialog

CLOSE_POLL_MS = 100
LOG_HEIGHT = 150  # the log pane's first height: a few lines, so ten handsets fit at 1280x800
LOG_MIN_HEIGHT = 90
HISTORY_SHARE = 0.45  # of the table's and the pane's height, when the History tab is opened
# The texts that set a column's width: State and Progress are never cut, the rest fit their usual
# contents and say the rest on hover; Message takes what is left.
COLUMN_SAMPLES = {"Handset": "unidentified", "Serial": "0123456789A", "Link": "serial", "Mode": "fastbootd",
                  "Slot": "Slot", "Build": "Build", "Battery": "Battery", "Package": "✗ needs unlock",
                  "State": "waiting for the handset (59 s)",
                  "Progress": "100% · 999.9 / 999.9 MiB · 99.9 MiB/s · 9:59 left"}
ICON_COLUMNS = ("Handset", "Link")
TITLE = "TSUF — flashing station"


class MainWindow(QMainWindow):
    def __init__(self, board: Board, *, settings: Settings | None = None, demo: bool = False,
                 delivery: ReportDelivery | None = None, guided: Callable[[], GuidedSetup] | None = None):
        super().__init__()
        self.board, self.settings, self.demo, self.delivery = board, settings, demo, delivery
        self.guided, self.guided_window = guided, None
        self._closing = False
        self.setWindowTitle(TITLE + (" (demo: virtual handsets)" if demo else ""))
        self.setWindowIcon(icon("tsuf"))
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.package_panel = PackagePanel(board)
        self.package_panel.open_requested.connect(self.ask_open_package)
        self.model = DeviceModel(board, self)
        self.table = self._make_table()
        self.log_pane = LogPane(self._name_of)
        self.history_view = HistoryView(board.station.history, settings)
        self.history_view.log_requested.connect(self.show_report_log)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.log_pane, "Log")
        self.tabs.addTab(self.history_view, "History")
        # The handsets come first: extra height goes to the table, the log keeps a few lines and
        # folds away (View → Log and history, or drag the handle down).
        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        self.tabs.setMinimumHeight(LOG_MIN_HEIGHT)  # the summary's chart would hold it taller
        self.tabs.currentChanged.connect(self._room_for_history)
        self._sized = False
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.package_panel)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.counters = QLabel()
        self.counters.setToolTip("Handsets updated and failed since the app started")
        self.activity = QLabel()
        self.statusBar().addPermanentWidget(self.activity)
        self.statusBar().addPermanentWidget(self.counters)
        self._make_actions()

        board.log_lines.connect(self.log_pane.add)
        board.report_recorded.connect(lambda _report: self.history_view.refresh())
        board.counters_changed.connect(self._show_counters)
        board.package_changed.connect(self._update_actions)
        board.package_changed.connect(self._hint_next_step)
        board.package_failed.connect(self._package_refused)
        board.latest_failed.connect(self._latest_failed)
        board.rows_changed.connect(lambda _addresses: self._update_actions())
        board.rows_reset.connect(self._update_actions)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self._show_counters()
        self._update_actions()

    # -- building ------------------------------------------------------------------

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setItemDelegateForColumn(COLUMN["Progress"], ProgressDelegate(table))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        metrics = table.fontMetrics()
        rows = table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(metrics.height() + 8)  # dense: a bench of ten fits without scrolling
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for title, sample in COLUMN_SAMPLES.items():
            icon_room = 24 if title in ICON_COLUMNS else 0
            table.setColumnWidth(COLUMN[title], metrics.horizontalAdvance(sample) + 20 + icon_room)
        table.doubleClicked.connect(lambda index: self.show_row_log(self.model.address_at(index.row())))
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        return table

    def _action(self, text: str, slot, *, shortcut=None, icon_name: str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({keys})" if tip and keys else tip or text)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        self.open_action = self._action("Open package…", self.ask_open_package, shortcut="Ctrl+O",
                                        icon_name="package", tip="Open a signed update package")
        self.update_action = self._action("Update selected", self.update_selected, shortcut="Ctrl+U",
                                          icon_name="update", tip="Update the selected handsets")
        self.update_all_action = self._action("Update all compatible", self.update_all, shortcut="Ctrl+Shift+U",
                                              icon_name="update",
                                              tip="Update every handset the package fits that is not done yet")
        self.latest_action = self._action("Update to latest", self.update_selected_latest, shortcut="Ctrl+Alt+U",
                                          icon_name="update",
                                          tip="Update the selected handsets to the newest build in the catalog and "
                                              "the library, each by the smallest package that reaches it")
        self.latest_all_action = self._action("Update all to latest", self.update_all_latest,
                                              shortcut="Ctrl+Alt+Shift+U", icon_name="update",
                                              tip="Update every handset not busy or done to the newest build in "
                                                  "the catalog and the library")
        self.cancel_action = self._action("Cancel selected", self.cancel_selected, shortcut="Esc",
                                          icon_name="status-cancelled",
                                          tip="Stop the selected updates; their active slot stays untouched")
        self.cancel_all_action = self._action("Cancel all", self.cancel_all, shortcut="Shift+Esc",
                                              tip="Stop every update (and station mode)")
        self.reboot_action = self._action("Reboot to bootloader", self.reboot_selected, shortcut="Ctrl+B",
                                          tip="Reboot the selected handsets into the bootloader")
        self.again_action = self._action("Mark idle again", self.clear_selected, shortcut="Ctrl+R",
                                         tip="Clear the finished state of the selected handsets so they can be "
                                             "updated again")
        self.log_action = self._action("Show full log", self.show_selected_log, shortcut="Ctrl+L",
                                       tip="Open the selected handset's full log of its last attempt")
        self.station_action = self._action("Station mode", self.board.set_station_mode, shortcut="Ctrl+M",
                                           icon_name="tsuf",
                                           tip="Update every compatible handset as soon as it is plugged in")
        self.station_action.setCheckable(True)
        self.settings_action = self._action("Settings…", self.show_settings, shortcut="Ctrl+,",
                                            tip="Station id, backend URL, update catalog and the trust store")
        self.guided_action = self._action("Guided mode…", self.open_guided, shortcut="Ctrl+G",
                                          tip="One phone, four plain steps, for someone who is not a technician; "
                                              "this window waits meanwhile")
        self.log_shown_action = self._action("Log and history", self.show_log_pane, shortcut="Ctrl+Shift+L",
                                             tip="Show or fold away the log and history below the handsets")
        self.log_shown_action.setCheckable(True)
        self.log_shown_action.setChecked(True)
        quit_action = self._action("Quit", self.close, shortcut="Ctrl+Q", tip="Close TSUF")
        self.parallel = QSpinBox(minimum=1, maximum=32, value=self.board.parallel)
        self.parallel.setPrefix("at most ")
        self.parallel.setSuffix(" at once")
        self.parallel.setToolTip("How many handsets are updated at the same time; the others wait, queued")
        self.parallel.valueChanged.connect(self.board.set_parallel)

        toolbar = self.addToolBar("Actions")
        toolbar.setObjectName("actions")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.open_action, None, self.update_action, self.update_all_action, self.latest_all_action,
                       self.cancel_action, self.cancel_all_action, None, self.station_action):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        toolbar.addWidget(self.parallel)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addActions([self.open_action, quit_action])
        device_menu = menus.addMenu("&Handsets")
        device_menu.addActions([self.update_action, self.update_all_action, self.latest_action,
                                self.latest_all_action, self.cancel_action, self.cancel_all_action,
                                self.reboot_action, self.again_action, self.log_action])
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.log_shown_action)
        station_menu = menus.addMenu("&Station")
        station_menu.addActions([self.station_action, self.guided_action, self.settings_action])
        self.table.addActions([self.update_action, self.latest_action, self.cancel_action, self.reboot_action,
                               self.again_action, self.log_action])

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._sized:  # sizes given before the first show are only proportions
            self._sized = True
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([total - LOG_HEIGHT, LOG_HEIGHT])

    def _room_for_history(self) -> None:
        """The history needs more than the log's few lines: opening it gives it part of the table's height."""
        if self.tabs.currentWidget() is not self.history_view:
            return
        table, pane = self.splitter.sizes()
        wanted = int((table + pane) * HISTORY_SHARE)
        if pane < wanted:
            self.splitter.setSizes([table + pane - wanted, wanted])

    def show_log_pane(self, shown: bool) -> None:
        self.log_shown_action.setChecked(shown)
        self.tabs.setVisible(shown)

    # -- state shown ------------------------------------------------------------------

    def _name_of(self, address: str) -> str:
        row = self.board.rows.get(address)
        return row.serialno if row is not None and row.serialno else address

    def selected_addresses(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.address_at(row) for row in rows]

    def _update_actions(self) -> None:
        selected = [self.board.rows[a] for a in self.selected_addresses() if a in self.board.rows]
        has_package = self.board.updater is not None
        self.open_action.setEnabled(not self.board.busy)
        self.update_action.setEnabled(has_package and any(not r.active and not r.finished for r in selected))
        self.update_all_action.setEnabled(has_package and bool(self.board.compatible_idle()))
        can_choose = self.board.latest is not None
        self.latest_action.setEnabled(can_choose and any(not r.active for r in selected))
        self.latest_all_action.setEnabled(can_choose and bool(self._latest_candidates()))
        self.guided_action.setEnabled(self.guided is not None and not self.board.busy)
        self.cancel_action.setEnabled(any(r.active for r in selected))
        self.cancel_all_action.setEnabled(self.board.busy)
        self.reboot_action.setEnabled(any(not r.active for r in selected))
        self.again_action.setEnabled(any(r.finished for r in selected))
        self.log_action.setEnabled(any(r.report is not None for r in selected))
        self.station_action.setEnabled(has_package)
        self.station_action.setChecked(self.board.station_mode)
        running = sum(1 for row in self.board.rows.values() if row.active)
        self.activity.setText(f"{len(self.board.rows)} handset(s), {running} updating" if self.board.rows
                              else "Looking for handsets…")

    def _show_counters(self) -> None:
        self.counters.setText(f"This shift: <b style='color:#2e9d4f'>{self.board.done_count} done</b> · "
                              f"<b style='color:#d03b3b'>{self.board.failed_count} failed</b>")

    # -- package ---------------------------------------------------------------------

    def ask_open_package(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a package, a vendor OTA or factory images", "",
                                              "Packages, vendor OTAs and factory images (*.zip *.bin)")
        if name:
            self.open_package(Path(name))

    def open_package(self, path: Path) -> bool:
        unsigned = is_factory_zip(Path(path)) and self._flash_unsigned(Path(path))
        if not self.board.open_package(path, unsigned_factory_images=unsigned):
            self.statusBar().showMessage("Wait for the running updates to end before opening another package", 5000)
            return False
        self.package_panel.show_opening(Path(path).name)
        return True

    def _flash_unsigned(self, path: Path) -> bool:
        """The user's word for factory images, asked each time such a file is opened."""
        answer = QMessageBox.question(
            self, "Unsigned factory images",
            f"{path.name} holds factory images that nobody signed for TSUF: they are written as they are.\n\n"
            "Flash them only if they come from the handset's manufacturer. Open them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _hint_next_step(self) -> None:
        if self.demo and self.board.updater is not None:
            # Short enough to sit beside the counters at 1280 px.
            self.statusBar().showMessage("Demo: virtual handsets, one locked. “Update all to latest” gives each its "
                                         "own package; Ctrl+Shift+U updates all with the open one.")

    def _package_refused(self, error: Exception) -> None:
        name = self.board.package_path.name if self.board.package_path else "the package"
        self.package_panel.show_refused(getattr(error, "filename", None) or name, error)

    def dragEnterEvent(self, event) -> None:
        if any(url.toLocalFile().endswith(".zip") for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.toLocalFile().endswith(".zip"):
                self.open_package(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return

    # -- actions --------------------------------------------------------------------

    def confirm(self, title: str, text: str) -> bool:
        """Ask before anything that writes or interrupts; tests replace this."""
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _confirm_update(self, addresses: list[str]) -> bool:
        manifest = self.board.updater.manifest
        unfit = [a for a in addresses if self.board.rows[a].compatible is False]
        text = (f"Write {manifest.product} {manifest.build} to the inactive slot of {len(addresses)} handset(s), "
                "then switch and reboot them?\n\nKeep them plugged in until they show done.")
        if unfit:
            text += f"\n\n{len(unfit)} of them refused the package when checked; they will fail again."
        return self.confirm("Update handsets", text)

    def update_selected(self) -> None:
        chosen = [a for a in self.selected_addresses()
                  if not self.board.rows[a].active and not self.board.rows[a].finished]
        if chosen and self.board.updater and self._confirm_update(chosen):
            self.statusBar().clearMessage()
            self.board.update(chosen)

    def update_all(self) -> None:
        chosen = self.board.compatible_idle()
        if chosen and self._confirm_update(chosen):
            self.statusBar().clearMessage()  # the demo's hint has been followed
            self.board.update(chosen)

    def _latest_candidates(self) -> list[str]:
        return [a for a, row in self.board.rows.items() if not row.active and not row.finished]

    def _confirm_latest(self, addresses: list[str]) -> bool:
        return self.confirm("Update to latest", f"Update {len(addresses)} handset(s) to the newest build?\n\n"
                            "Each gets the smallest package that reaches it (a delta when one starts from its "
                            "build), downloaded once for all that need it. Handsets already up to date are left "
                            "alone.\n\nKeep them plugged in until they show done.")

    def update_selected_latest(self) -> None:
        chosen = [a for a in self.selected_addresses() if not self.board.rows[a].active]
        if chosen and self._confirm_latest(chosen):
            self.statusBar().clearMessage()
            self.board.update_latest(chosen)

    def update_all_latest(self) -> None:
        chosen = self._latest_candidates()
        if chosen and self._confirm_latest(chosen):
            self.statusBar().clearMessage()
            self.board.update_latest(chosen)

    def _latest_failed(self, error: Exception) -> None:
        hint = getattr(error, "hint", "")
        self.statusBar().showMessage(f"Update to latest: {error}" + (f" — {hint}" if hint else ""))

    def cancel_selected(self) -> None:
        self.board.cancel([a for a in self.selected_addresses() if self.board.rows[a].active])

    def cancel_all(self) -> None:
        self.board.cancel_all()

    def clear_selected(self) -> None:
        self.board.clear_finished(self.selected_addresses())

    def reboot_selected(self) -> None:
        chosen = [a for a in self.selected_addresses() if not self.board.rows[a].active]
        if chosen and self.confirm("Reboot to bootloader",
                                   f"Reboot {len(chosen)} handset(s) into the bootloader? "
                                   "Whatever they are doing now is interrupted."):
            self.board.reboot_to_bootloader(chosen)

    # -- logs -------------------------------------------------------------------------

    def show_row_log(self, address: str) -> None:
        """A row's full log when it has finished an attempt; else its live lines."""
        row = self.board.rows.get(address)
        if row is not None and row.report is not None and row.report.log_path:
            self.show_report_log(row.report)
        else:
            self.show_log_pane(True)
            self.tabs.setCurrentWidget(self.log_pane)
            self.log_pane.show_device(address)

    def show_selected_log(self) -> None:
        for address in self.selected_addresses()[:1]:
            self.show_row_log(address)

    def show_report_log(self, report: Report) -> LogFileDialog:
        dialog = LogFileDialog(f"Log of {cell(report.device_serial)}: {report.result} ({report.started_at[:19]})",
                               Path(report.log_path), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.last_log_dialog = dialog
        return dialog

    # -- guided mode ------------------------------------------------------------------------

    def open_guided(self) -> None:
        """The guided window in place of this one; the board rests meanwhile, so one host has the phone."""
        if self.guided is None or self.board.busy or self.guided_window is not None:
            return
        self.board.set_paused(True)
        self._open_guided_when_free()

    def _open_guided_when_free(self) -> None:
        if self.board.probing:  # a probe still has a handset; it lets go within seconds
            QTimer.singleShot(CLOSE_POLL_MS, self._open_guided_when_free)
            return
        flow = GuidedFlow(self.guided())
        window = self.guided_window = GuidedWindow(flow, demo=self.demo)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.closed.connect(self._guided_closed)
        self.hide()
        window.show()
        flow.start()

    def _guided_closed(self) -> None:
        self.guided_window = None
        self.board.set_paused(False)
        self.show()

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.board.trust_store, self.board.station, self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.settings_saved()

    def settings_saved(self) -> None:
        """A new backend URL and the battery policy take effect at once."""
        if self.settings is None:
            return
        self.board.options = dataclasses.replace(self.board.options, policy=station_policy(self.settings))
        if self.delivery is not None:
            self.delivery.configure(self.settings)
            if self.delivery.problem:
                self.statusBar().showMessage(f"Reports are not sent: {self.delivery.problem}")

    # -- closing ------------------------------------------------------------------------

    def closeEvent(self, event) -> None:
        if not self.board.busy:
            self.board.shutdown()
            event.accept()
            return
        event.ignore()
        if self._closing:
            return
        if not self.confirm("Updates are running", "Cancel the running updates and close?\n\n"
                            "Handsets that have not switched slots keep booting what they booted before; "
                            "TSUF waits for each session to stop safely."):
            return
        self.stop_and_close()

    def stop_and_close(self) -> None:
        """Cancel every session, wait for each to end, then close; without asking (Ctrl-C, SIGTERM)."""
        if self.guided_window is not None:  # the guided window stops first, then this one
            self.guided_window.closed.connect(self.stop_and_close)
            self.guided_window.stop_and_close()
            return
        if not self.board.busy:
            self.close()
            return
        if self._closing:
            return
        self._closing = True
        self.board.cancel_all()
        self.statusBar().showMessage("Stopping the updates safely, then closing…")
        self._close_when_idle()

    def _close_when_idle(self) -> None:
        if self.board.busy:  # keep the event loop running: sessions report back through it
            QTimer.singleShot(CLOSE_POLL_MS, self._close_when_idle)
        else:
            self.close()
