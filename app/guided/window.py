"""The guided window: one phone, four steps, one big button, plain words; the log only on request."""

from PySide6.QtCore import QTimer, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from ..icons import icon
from ..plain_text import plain_label
from .flow import GuidedFlow
from .indicator import StepIndicator
from .wording import Page

TITLE = "TSUF — update your phone"
CLOSE_POLL_MS = 100
DETAILS_REFRESH_MS = 500
# The instruction box's colour by the page's tone; translucent, so it reads on light and dark palettes.
TONE_COLOUR = {"info": "61, 123, 217", "busy": "61, 123, 217", "problem": "208, 59, 59", "success": "46, 157, 79"}
# The one primary button stands out in the palette's accent colour; the second choice stays quiet.
BUTTONS = """
QPushButton#primary { background: palette(highlight); color: palette(highlighted-text); border: none;
                      border-radius: 6px; padding: 10px 28px; }
QPushButton#primary:pressed { padding-top: 12px; padding-bottom: 8px; }
QPushButton#primary:focus { border: 2px solid palette(window-text); }
QPushButton#secondary { padding: 8px 20px; }
"""


class GuidedWindow(QWidget):
    closed = Signal()

    def __init__(self, flow: GuidedFlow, *, demo: bool = False, parent=None):
        super().__init__(parent)
        self.flow = flow
        self._closing = False
        self.setWindowTitle(TITLE + (" (demo: a virtual phone)" if demo else ""))
        self.setWindowIcon(icon("tsuf"))
        self.resize(760, 500)
        self.setStyleSheet(BUTTONS)

        self.steps = StepIndicator()
        # Pages quote the phone's model and builds: plain text, never markup.
        self.title = plain_label()
        self.title.setFont(_scaled(self.font(), 1.7, bold=True))
        self.title.setWordWrap(True)
        self.body = plain_label()
        self.body.setFont(_scaled(self.font(), 1.25))
        self.body.setWordWrap(True)
        self.instruction = plain_label()
        self.instruction.setFont(_scaled(self.font(), 1.1))
        self.instruction.setWordWrap(True)
        self.instruction.setContentsMargins(14, 10, 14, 10)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(14)
        self.progress_text = plain_label()
        self.progress_text.setFont(_scaled(self.font(), 1.1))
        self.code = plain_label()
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Show details")
        self.details_button.setCheckable(True)
        self.details_button.setFlat(True)
        self.details_button.setToolTip("The technical log of what happened, for support")
        self.details_button.toggled.connect(self._toggle_details)
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setFont(QFont("monospace", self.font().pointSize() - 1))
        self.details.setMinimumHeight(160)
        self.details.hide()
        self.secondary = QPushButton(objectName="secondary")
        self.secondary.setFont(_scaled(self.font(), 1.1))
        self.secondary.setMinimumHeight(44)
        self.secondary.clicked.connect(flow.secondary)
        self.primary = QPushButton(objectName="primary")
        self.primary.setFont(_scaled(self.font(), 1.3, bold=True))
        self.primary.setMinimumSize(260, 56)
        self.primary.setDefault(True)
        self.primary.clicked.connect(flow.primary)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self, activated=self._press_primary)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 20)
        layout.setSpacing(14)
        layout.addWidget(self.steps)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addWidget(self.instruction)
        layout.addSpacing(4)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_text)
        layout.addStretch(1)
        layout.addWidget(self.details, 3)
        buttons = QHBoxLayout()
        buttons.addWidget(self.details_button)
        buttons.addWidget(self.code)
        buttons.addStretch(1)
        buttons.addWidget(self.secondary)
        buttons.addWidget(self.primary)
        layout.addLayout(buttons)

        self._details_timer = QTimer(self, interval=DETAILS_REFRESH_MS, timeout=self._refresh_details)
        flow.page_changed.connect(self.show_page)
        flow.close_requested.connect(self.close)
        self.show_page(flow.page)

    def show_page(self, page: Page) -> None:
        self.steps.set_step(page.step, page.tone)
        self.title.setText(page.title)
        self.body.setText(page.body)
        self.instruction.setText(page.instruction)
        self.instruction.setVisible(bool(page.instruction))
        colour = TONE_COLOUR[page.tone]
        self.instruction.setStyleSheet(f"QLabel {{ background: rgba({colour}, 0.12); "
                                       f"border-left: 4px solid rgb({colour}); border-radius: 3px; }}")
        self.progress.setVisible(page.progress is not None)
        if page.progress is not None:
            done, total = page.progress
            scale = max(1, total // 1_000_000)  # QProgressBar holds ints; firmware sizes exceed them
            self.progress.setRange(0, total // scale)
            self.progress.setValue(min(done, total) // scale)
        self.progress_text.setText(page.progress_text)
        self.progress_text.setVisible(bool(page.progress_text))
        self.code.setText(page.code)
        self.primary.setText(page.button)
        self.primary.setVisible(bool(page.button))
        self.secondary.setText(page.secondary)
        self.secondary.setVisible(bool(page.secondary))
        if page.button:
            self.primary.setFocus()

    def _press_primary(self) -> None:
        if self.primary.isVisible() and self.primary.isEnabled():
            self.primary.click()

    def _toggle_details(self, shown: bool) -> None:
        self.details_button.setText("Hide details" if shown else "Show details")
        self.details.setVisible(shown)
        if shown:
            self._refresh_details()
            self._details_timer.start()
        else:
            self._details_timer.stop()

    def _refresh_details(self) -> None:
        """New lines are added at the end; what the reader selected or scrolled to stays where it is."""
        text, shown = self.flow.details(), self.details.toPlainText()
        if text == shown:
            return
        if shown and text.startswith(shown + "\n"):
            self.details.appendPlainText(text[len(shown) + 1:])  # follows the end only if it was there
        else:
            self.details.setPlainText(text)
            self.details.verticalScrollBar().setValue(self.details.verticalScrollBar().maximum())

    # -- closing ---------------------------------------------------------------------------

    def confirm(self, title: str, text: str) -> bool:
        """Ask before stopping work; tests replace this."""
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:
        if not self.flow.busy:
            self.flow.shutdown()
            self._details_timer.stop()
            event.accept()
            self.closed.emit()
            return
        event.ignore()
        if self._closing or not self.confirm("Stop and close?", "Your phone is being updated. Stop and close this "
                                             "window?\n\nStopping is safe: your phone keeps working. It may take "
                                             "a moment."):
            return
        self.stop_and_close()

    def stop_and_close(self) -> None:
        """Stop the running step, wait for it to end, then close; without asking (Ctrl-C, SIGTERM)."""
        if not self.flow.busy:
            self.close()
            return
        if self._closing:
            return
        self._closing = True
        self.flow.cancel()
        self._close_when_idle()

    def _close_when_idle(self) -> None:
        if self.flow.busy:  # keep the event loop running: the work reports back through it
            QTimer.singleShot(CLOSE_POLL_MS, self._close_when_idle)
        else:
            self.close()


def _scaled(font: QFont, factor: float, *, bold: bool = False) -> QFont:
    scaled = QFont(font)
    scaled.setPointSizeF(font.pointSizeF() * factor)
    scaled.setBold(bold)
    return scaled
