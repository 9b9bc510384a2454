"""Past attempts: this station's, or the whole lab's when a shared history is set. Filter them, read a
log, export CSV, and see the lab summary with its chart.

The station's own SQLite history is read on the GUI thread (it is a local file). The lab's
PostgreSQL history is read in a worker, again every REMOTE_REFRESH_MS while the view is
shown, and when it cannot be read the view says so and shows the station's own attempts.
"""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
                               QWidget)

from flasher.errors import FlasherError
from flasher.history.codes import Result
from flasher.history.query import Filter, HistoryReader
from flasher.history.report import Report
from flasher.history.store import HistoryStore, write_csv
from flasher.history.summary import Summary, summarize
from flasher.settings import Settings

from .icons import icon
from .jobs import Jobs, Outcome
from .plain_text import cell, tooltip
from .summary_view import SummaryView

COLUMNS = ("Started (UTC)", "Serial", "Product", "Builds", "Slots", "Result", "Time", "Station", "Message")
LIMIT = 1000  # the view is for reading; the CSV export and the summary have no limit
ANY = "any result"
PERIODS = {"any time": None, "today": 0, "last 7 days": 6, "last 30 days": 29}  # days before today
REMOTE_REFRESH_MS = 30_000


def _result_icon(report: Report):
    if report.result == Result.SUCCESS.name:
        return icon("status-ok")
    if report.result == Result.CANCELLED.name:
        return icon("status-cancelled")
    return icon("status-warning" if report.result == Result.ROLLED_BACK.name else "status-failed")


def _line(placeholder: str) -> QLineEdit:
    line = QLineEdit()
    line.setPlaceholderText(placeholder)
    line.setClearButtonEnabled(True)
    return line


class HistoryView(QWidget):
    log_requested = Signal(object)  # Report

    def __init__(self, history: HistoryStore, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.history = history
        self.shared: HistoryReader | None = None
        problem = ""
        try:
            self.shared = settings.shared_history() if settings else None
        except FlasherError as error:
            problem = f"The lab's history is not used: {error}. {error.hint}"
        self.showing: HistoryReader = history
        self.reports: list[Report] = []
        self.summary_shown: Summary | None = None
        self.serial, self.product, self.station = _line("serial number"), _line("product"), _line("station")
        self.result = QComboBox()
        self.result.addItems([ANY] + [result.name for result in Result])
        self.period = QComboBox()
        self.period.addItems(list(PERIODS))
        self.period.setToolTip("Attempts started in this period (UTC days)")
        export = QPushButton("Export CSV…")
        export.setToolTip("Save the attempts that match the filter as CSV (all of them, not only those shown)")
        export.clicked.connect(self._ask_export)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Double-click an attempt to read its full log")
        self.table.cellDoubleClicked.connect(lambda row, _: self.log_requested.emit(self.reports[row]))
        self.summary = SummaryView()
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.table, "Attempts")
        self.pages.addTab(self.summary, "Summary")
        self.source = QLabel()
        self.pages.setCornerWidget(self.source)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #d03b3b")
        self.notice.setText(problem)
        self.notice.setVisible(bool(problem))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Filter:"))
        for widget in (self.serial, self.product, self.station, self.result, self.period):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.notice)
        layout.addWidget(self.pages)
        for line in (self.serial, self.product, self.station):
            line.textChanged.connect(self.refresh)
        for combo in (self.result, self.period):
            combo.currentTextChanged.connect(self.refresh)
        self.pages.currentChanged.connect(self.refresh)
        self._reading = False
        self._read_again = False
        if self.shared is not None:
            self._jobs = Jobs(1, self)
            self._timer = QTimer(self, interval=REMOTE_REFRESH_MS, timeout=self._refresh_if_shown)
            self._timer.start()
        self.refresh()

    def current_filter(self, limit: int | None = LIMIT) -> Filter:
        result = self.result.currentText()
        days = PERIODS[self.period.currentText()]
        since = None if days is None else (datetime.now(timezone.utc).date() - timedelta(days=days)).isoformat()
        return Filter(device_serial=self.serial.text().strip() or None, product=self.product.text().strip() or None,
                      station_id=self.station.text().strip() or None, result=None if result == ANY else result,
                      since=since, limit=limit)

    def refresh(self) -> None:
        where, summary = self.current_filter(), self.pages.currentWidget() is self.summary
        if self.shared is None:
            self._show(self.history, *_read(self.history, where, summary))
        elif self._reading:
            self._read_again = True  # the filter changed while the lab's history was being read
        else:
            self._reading = True
            self._jobs.start(lambda: _read(self.shared, where, summary), self._shared_read)

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.refresh()

    def _shared_read(self, outcome: Outcome) -> None:
        self._reading = False
        if outcome.error is None:
            self.notice.hide()
            self._show(self.shared, *outcome.value)
        elif isinstance(outcome.error, FlasherError):
            self.notice.setText(f"The lab's history cannot be read: {outcome.error}. Showing this station's own "
                                "attempts until it can.")
            self.notice.show()
            self._show(self.history, *_read(self.history, self.current_filter(),
                                            self.pages.currentWidget() is self.summary))
        else:
            raise outcome.error
        if self._read_again:
            self._read_again = False
            self.refresh()

    def _show(self, reader: HistoryReader, reports: list[Report], summary: Summary | None) -> None:
        self.showing = reader
        self.source.setText(f"This station's history ({reader.location})" if reader is self.history
                            else f"Lab history: {reader.location}")
        if summary is not None:
            self.summary_shown = summary
            self.summary.show_summary(summary)
        self.reports = reports
        self.table.setRowCount(len(reports))
        for number, report in enumerate(reports):
            cells = (report.started_at.replace("T", " ")[:19], report.device_serial, report.product,
                     f"{report.from_build or '?'} → {report.to_build}",
                     f"{report.from_slot} → {report.to_slot}" if report.to_slot else "",
                     report.result, f"{report.duration:.1f} s", report.station_id, report.message)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(cell(text))  # reports quote what handsets said
                if column == COLUMNS.index("Result"):
                    item.setIcon(_result_icon(report))
                if column == COLUMNS.index("Message"):
                    item.setToolTip(tooltip(report.message))
                item.setData(Qt.ItemDataRole.UserRole, report.report_id)
                self.table.setItem(number, column, item)

    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export history", "tsuf-history.csv", "CSV files (*.csv)")
        if name:
            try:
                self.export_csv(Path(name))
            except FlasherError as error:
                QMessageBox.warning(self, "History not exported", f"{error}\n\n{error.hint}")

    def export_csv(self, path: Path) -> int:
        reports = self.showing.query(self.current_filter(limit=None))
        with open(path, "w", newline="", encoding="utf-8") as out:
            write_csv(reports, out)
        return len(reports)


def _read(reader: HistoryReader, where: Filter, summary: bool) -> tuple[list[Report], Summary | None]:
    """The attempts to list and, when it is shown, the summary of every attempt that matches."""
    return reader.query(where), summarize(reader.summary_rows(replace(where, limit=None))) if summary else None
