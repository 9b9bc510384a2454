"""The four steps in a row (1 Connect, 2 Check, 3 Download, 4 Install): done, current or still to come."""

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .wording import STEPS

GREEN, RED = QColor("#2e9d4f"), QColor("#d03b3b")
DIAMETER = 34


class StepIndicator(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.current, self.tone = 1, "info"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Steps")

    def sizeHint(self) -> QSize:
        return QSize(560, DIAMETER + 2 * self.fontMetrics().height() + 12)

    def set_step(self, current: int, tone: str) -> None:
        self.current, self.tone = current, tone
        self.setAccessibleDescription(f"Step {current} of {len(STEPS)}: {STEPS[current - 1]}")
        self.update()

    def state_of(self, step: int) -> str:
        """done, current, problem or to come; a finished update shows every step done."""
        if step < self.current or (step == self.current and self.tone == "success"):
            return "done"
        if step == self.current:
            return "problem" if self.tone == "problem" else "current"
        return "to come"

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        muted = palette.color(palette.ColorGroup.Disabled, palette.ColorRole.WindowText)
        accent = palette.color(palette.ColorRole.Highlight)
        width = self.width() / len(STEPS)
        top = 4
        centres = [width * index + width / 2 for index in range(len(STEPS))]
        for index in range(len(STEPS) - 1):  # the line joining each step to the next
            painter.setPen(QPen(GREEN if self.state_of(index + 1) == "done" else muted, 3))
            y = int(top + DIAMETER / 2)
            painter.drawLine(int(centres[index] + DIAMETER / 2 + 4), y, int(centres[index + 1] - DIAMETER / 2 - 4), y)
        number_font = QFont(self.font())
        number_font.setBold(True)
        number_font.setPointSizeF(self.font().pointSizeF() * 1.2)
        for index, name in enumerate(STEPS):
            state = self.state_of(index + 1)
            colour = {"done": GREEN, "current": accent, "problem": RED}.get(state, muted)
            circle = QRectF(centres[index] - DIAMETER / 2, top, DIAMETER, DIAMETER)
            painter.setPen(QPen(colour, 2))
            painter.setBrush(colour if state != "to come" else Qt.BrushStyle.NoBrush)
            painter.drawEllipse(circle)
            painter.setFont(number_font)
            painter.setPen(QColor("white") if state != "to come" else muted)
            mark = {"done": "✓", "problem": "!"}.get(state, str(index + 1))
            painter.drawText(circle, Qt.AlignmentFlag.AlignCenter, mark)
            label_font = QFont(self.font())
            label_font.setBold(state in ("current", "problem"))
            painter.setFont(label_font)
            painter.setPen(palette.color(palette.ColorRole.WindowText) if state != "to come" else muted)
            label = QRectF(centres[index] - width / 2, top + DIAMETER + 4, width, self.fontMetrics().height() * 1.5)
            painter.drawText(label, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        painter.end()
