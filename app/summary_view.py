"""The lab summary, for people who would rather look than read: a headline, the chart per day,
the figures per product and station, and the failure codes seen most. The numbers come from
flasher.history.summary, as `tsuf history --summary` prints them."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from flasher.history.codes import Result
from flasher.history.summary import Figures, Summary, mib_per_s, percent, seconds

from .summary_chart import SummaryChart

GROUP_COLUMNS = ("", "Attempts", "Succeeded", "Median time", "Throughput")
FAILURE_COLUMNS = ("Code", "Result", "Attempts")


def _table(columns: tuple[str, ...], stretch: int) -> QTableWidget:
    """Figures keep their width; the `stretch` column (a name) takes the rest."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def _cell(text: str, *, number: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


def _retry_tip(code: int) -> str:
    try:
        return "running the update again may succeed" if Result.from_code(code).retryable else \
            "running the same update again will not help"
    except ValueError:  # a code from a newer TSUF on another station
        return ""


class SummaryView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.chart = SummaryChart()
        self.chart.setToolTip("Success rate (line, left axis) and throughput (bars, right axis) per UTC day")
        self.groups = _table(GROUP_COLUMNS, stretch=0)
        self.groups.setToolTip("Median time is over successful attempts; throughput is bytes sent over time spent")
        self.failures = _table(FAILURE_COLUMNS, stretch=1)
        figures = QVBoxLayout()
        figures.addWidget(self.groups, 3)
        figures.addWidget(QLabel("Top failure codes"))
        figures.addWidget(self.failures, 2)
        body = QHBoxLayout()
        body.addWidget(self.chart, 3)
        body.addLayout(figures, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addLayout(body, 1)

    def show_summary(self, summary: Summary) -> None:
        total = summary.total
        self.headline.setText(
            "No attempts match the filter." if not total.attempts else
            f"<b>{total.attempts}</b> attempt(s) on {len(summary.by_station)} station(s): "
            f"<b>{percent(total.success_rate)}</b> succeeded, median time {seconds(total.median_duration)}, "
            f"throughput {mib_per_s(total.throughput)}")
        self.chart.set_days(summary.by_day)
        self.groups.setRowCount(0)
        for title, groups in (("By product", summary.by_product), ("By station", summary.by_station)):
            if groups:
                self._add_section(title, groups)
        self.failures.setRowCount(len(summary.top_failures))
        for row, failure in enumerate(summary.top_failures):
            for column, item in enumerate((_cell(str(failure.code), number=True),
                                           _cell(failure.result, tip=_retry_tip(failure.code)),
                                           _cell(str(failure.count), number=True))):
                self.failures.setItem(row, column, item)

    def _add_section(self, title: str, groups: list[Figures]) -> None:
        row = self.groups.rowCount()
        self.groups.insertRow(row)
        heading = _cell(title)
        font = QFont(heading.font())
        font.setBold(True)
        heading.setFont(font)
        self.groups.setItem(row, 0, heading)
        self.groups.setSpan(row, 0, 1, len(GROUP_COLUMNS))
        for figures in groups:
            row = self.groups.rowCount()
            self.groups.insertRow(row)
            cells = (_cell(figures.key), _cell(str(figures.attempts), number=True),
                     _cell(percent(figures.success_rate), number=True),
                     _cell(seconds(figures.median_duration), number=True),
                     _cell(mib_per_s(figures.throughput), number=True))
            for column, item in enumerate(cells):
                self.groups.setItem(row, column, item)
