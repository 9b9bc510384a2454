"""One attempt's full log file (the report's log_path), read-only."""

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout

from .plain_text import plain_label

# A log bigger than this is shown by its end; the file itself is complete.
MAX_SHOWN = 4 << 20


def read_log(path: Path) -> str:
    try:
        size = path.stat().st_size
        with open(path, "rb") as file:
            if size > MAX_SHOWN:
                file.seek(size - MAX_SHOWN)
            text = file.read().decode("utf-8", "replace")
    except OSError as error:
        return f"cannot read {path}: {error.strerror or error}"
    return (f"[first {size - MAX_SHOWN} bytes not shown; open the file for all of it]\n" if size > MAX_SHOWN
            else "") + text


class LogFileDialog(QDialog):
    def __init__(self, title: str, path: Path, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(900, 560)
        self.path = Path(path)
        self.view = QPlainTextEdit(readOnly=True)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlainText(read_log(self.path))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        folder = buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole)
        folder.setToolTip("Show the log file in the file manager")
        folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path.parent))))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label(str(self.path)))
        layout.addWidget(self.view)
        layout.addWidget(buttons)
