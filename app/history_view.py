"""Past attempts on this station, from the local history: filter, read a log, export CSV."""

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from flasher.history.codes import Result
from flasher.history.report import Report
from flasher.history.store import Filter, HistoryStore, write_csv

from .icons import icon

COLUMNS = ("Started (UTC)", "Serial", "Product", "Builds", "Slots", "Result", "Time", "Message")
LIMIT = 1000  # the view is for reading; the CSV export has no limit
ANY = "any result"


def _result_icon(report: Report):
    if report.result == Result.SUCCESS.name:
        return icon("status-ok")
    if report.result == Result.CANCELLED.name:
        return icon("status-cancelled")
    return icon("status-warning" if report.result == Result.ROLLED_BACK.name else "status-failed")


class HistoryView(QWidget):
    log_requested = Signal(object)  # Report

    def __init__(self, history: HistoryStore, parent=None):
        super().__init__(parent)
        self.history = history
        self.reports: list[Report] = []
        self.serial, self.product = QLineEdit(), QLineEdit()
        self.serial.setPlaceholderText("serial number")
        self.product.setPlaceholderText("product")
        self.result = QComboBox()
        self.result.addItems([ANY] + [result.name for result in Result])
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
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Filter:"))
        for widget in (self.serial, self.product, self.result):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        for line in (self.serial, self.product):
            line.textChanged.connect(self.refresh)
        self.result.currentTextChanged.connect(self.refresh)
        self.refresh()

    def current_filter(self, limit: int | None = LIMIT) -> Filter:
        result = self.result.currentText()
        return Filter(device_serial=self.serial.text().strip() or None, product=self.product.text().strip() or None,
                      result=None if result == ANY else result, limit=limit)

    def refresh(self) -> None:
        self.reports = self.history.query(self.current_filter())
        self.table.setRowCount(len(self.reports))
        for number, report in enumerate(self.reports):
            seconds = sum(report.durations.values())
            cells = (report.started_at.replace("T", " ")[:19], report.device_serial, report.product,
                     f"{report.from_build or '?'} → {report.to_build}",
                     f"{report.from_slot} → {report.to_slot}" if report.to_slot else "",
                     report.result, f"{seconds:.1f} s", report.message)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == COLUMNS.index("Result"):
                    item.setIcon(_result_icon(report))
                if column == COLUMNS.index("Message"):
                    item.setToolTip(report.message)
                item.setData(Qt.ItemDataRole.UserRole, report.report_id)
                self.table.setItem(number, column, item)

    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export history", "tsuf-history.csv", "CSV files (*.csv)")
        if name:
            self.export_csv(Path(name))

    def export_csv(self, path: Path) -> int:
        reports = self.history.query(self.current_filter(limit=None))
        with open(path, "w", newline="", encoding="utf-8") as out:
            write_csv(reports, out)
        return len(reports)
