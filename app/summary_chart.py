"""Success rate and throughput per day, drawn with QPainter (QtCharts is not part of PySide6-Essentials).

Throughput is a bar per day on the right axis (MiB/s); the success rate a line on the left
axis (0-100 %). A day without attempts is an empty slot, so gaps in the lab's work show.
Hovering a day shows its figures.
"""

import math
from datetime import date, timedelta

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from flasher.history.summary import MiB, Figures, mib_per_s

SUCCESS_COLOUR = QColor("#2e9d4f")  # the device table's "done" green
LEFT, RIGHT, TOP, BOTTOM = 52, 76, 30, 30
MAX_DAYS = 366  # a longer range is drawn as its last year


def day_range(days: list[Figures]) -> list[tuple[str, Figures | None]]:
    """Every day from the first to the last, each with its figures or None."""
    if not days:
        return []
    known = {day.key: day for day in days}
    first, last = date.fromisoformat(days[0].key), date.fromisoformat(days[-1].key)
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    span = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [(day.isoformat(), known.get(day.isoformat())) for day in span]


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at or above `value`."""
    if value <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(value))
    return next(factor * step for factor in (1, 2, 5, 10) if factor * step >= value)


class SummaryChart(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.slots: list[tuple[str, Figures | None]] = []
        self.setMinimumHeight(180)
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(720, 240)

    def set_days(self, days: list[Figures]) -> None:
        self.slots = day_range(days)
        self.update()

    @property
    def throughput_top(self) -> float:
        """MiB/s at the top of the right axis."""
        rates = [figures.throughput / MiB for _, figures in self.slots if figures and figures.throughput]
        return nice_ceiling(max(rates, default=0))

    def plot_area(self) -> QRectF:
        return QRectF(LEFT, TOP, max(1, self.width() - LEFT - RIGHT), max(1, self.height() - TOP - BOTTOM))

    def slot_at(self, x: float) -> int | None:
        area = self.plot_area()
        if not self.slots or not area.left() <= x < area.right():
            return None
        return int((x - area.left()) / (area.width() / len(self.slots)))

    # -- painting ------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text, faint = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Mid)
        area = self.plot_area()
        if not self.slots:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No attempts match the filter")
            return
        top = self.throughput_top
        self._draw_axes(painter, area, top, text, faint)
        self._draw_bars(painter, area, top, palette.color(QPalette.ColorRole.Highlight))
        self._draw_success(painter, area)
        self._draw_legend(painter, text, palette.color(QPalette.ColorRole.Highlight))

    def _x(self, area: QRectF, index: int) -> float:
        return area.left() + (index + 0.5) * area.width() / len(self.slots)

    def _draw_axes(self, painter: QPainter, area: QRectF, top: float, text: QColor, faint: QColor) -> None:
        metrics = painter.fontMetrics()
        for step in range(5):
            y = area.bottom() - step * area.height() / 4
            painter.setPen(QPen(faint, 1, Qt.PenStyle.DotLine if step else Qt.PenStyle.SolidLine))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(SUCCESS_COLOUR.darker(110))
            painter.drawText(QRectF(0, y - 8, LEFT - 6, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{step * 25} %")
            painter.setPen(text)
            rate = top * step / 4
            painter.drawText(QRectF(area.right() + 6, y - 8, RIGHT - 6, 16),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"{rate:g} MiB/s")
        painter.setPen(text)
        label_width = metrics.horizontalAdvance("00-00") + 10
        every = max(1, int(label_width * len(self.slots) / area.width()) + 1)
        for index, (day, _) in enumerate(self.slots):
            if index % every == 0:
                x = self._x(area, index)
                painter.drawText(QRectF(x - label_width / 2, area.bottom() + 4, label_width, BOTTOM - 6),
                                 Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, day[5:])

    def _draw_bars(self, painter: QPainter, area: QRectF, top: float, colour: QColor) -> None:
        width = min(40.0, 0.6 * area.width() / len(self.slots))
        fill = QColor(colour)
        fill.setAlpha(150)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        for index, (_, figures) in enumerate(self.slots):
            if figures and figures.throughput:
                height = area.height() * min(1.0, figures.throughput / MiB / top)
                painter.drawRect(QRectF(self._x(area, index) - width / 2, area.bottom() - height, width, height))

    def _draw_success(self, painter: QPainter, area: QRectF) -> None:
        points = [(index, QPointF(self._x(area, index), area.bottom() - area.height() * figures.success_rate))
                  for index, (_, figures) in enumerate(self.slots) if figures and figures.success_rate is not None]
        painter.setPen(QPen(SUCCESS_COLOUR, 2.5))
        for (before, a), (after, b) in zip(points, points[1:]):
            if after == before + 1:  # a day without attempts breaks the line
                painter.drawLine(a, b)
        painter.setBrush(SUCCESS_COLOUR)
        for _, point in points:
            painter.drawEllipse(point, 3.5, 3.5)

    def _draw_legend(self, painter: QPainter, text: QColor, bar: QColor) -> None:
        metrics = painter.fontMetrics()
        x, y = float(LEFT), 8.0
        for colour, label, line in ((SUCCESS_COLOUR, "success rate (left)", True),
                                    (bar, "throughput, MiB/s (right)", False)):
            painter.setPen(QPen(colour, 2.5) if line else Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            if line:
                painter.drawLine(QPointF(x, y + 6), QPointF(x + 16, y + 6))
            else:
                painter.drawRect(QRectF(x + 3, y + 1, 10, 10))
            painter.setPen(text)
            painter.drawText(QPointF(x + 22, y + 6 + metrics.ascent() / 2 - 1), label)
            x += 22 + metrics.horizontalAdvance(label) + 24

    # -- hovering ---------------------------------------------------------------------------

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self.slot_at(event.pos().x())
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.describe(index), self)
            return True
        return super().event(event)

    def describe(self, index: int) -> str:
        day, figures = self.slots[index]
        if figures is None:
            return f"{day}: no attempts"
        return (f"{day}: {figures.attempts} attempt(s), {figures.succeeded} succeeded "
                f"({figures.success_rate:.0%}), throughput {mib_per_s(figures.throughput)}")
