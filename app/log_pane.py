"""The live log: every handset's lines, or one handset's, from a chosen level up."""

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from .session_feed import LogEntry

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_LINES = 20000  # the pane is a live view; the per-attempt log files keep everything
ALL = "All handsets"


def format_entry(entry: LogEntry, name: str) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.at))
    return f"{stamp} {entry.level:7} {name}: {entry.text}"


class LogPane(QWidget):
    """`name_of(address)` names a handset in the lines (its serial number once known)."""

    def __init__(self, name_of: Callable[[str], str] = lambda address: address, parent=None):
        super().__init__(parent)
        self.name_of = name_of
        self.entries: deque[LogEntry] = deque(maxlen=MAX_LINES)
        self.device = QComboBox()
        self.device.addItem(ALL, "")
        self.device.setToolTip("Show the lines of one handset, or of all of them")
        self.level = QComboBox()
        self.level.addItems(LEVELS)
        self.level.setCurrentText("INFO")
        self.level.setToolTip("Show lines of this level and above")
        copy, save = QPushButton("Copy"), QPushButton("Save…")
        copy.setToolTip("Copy the selected lines, or all shown lines when nothing is selected")
        save.setToolTip("Save the shown lines to a text file")
        copy.clicked.connect(self.copy)
        save.clicked.connect(self._ask_save)
        self.view = QPlainTextEdit(readOnly=True)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setPlaceholderText("Lines from the handsets appear here as they work.")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Log of"))
        bar.addWidget(self.device, 1)
        bar.addWidget(QLabel("from level"))
        bar.addWidget(self.level)
        bar.addStretch(1)
        bar.addWidget(copy)
        bar.addWidget(save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.device.currentIndexChanged.connect(self._refill)
        self.level.currentTextChanged.connect(self._refill)

    def _shows(self, entry: LogEntry) -> bool:
        device = self.device.currentData()
        level_ok = LEVELS.index(entry.level) >= LEVELS.index(self.level.currentText()) \
            if entry.level in LEVELS else True
        return level_ok and (not device or entry.address == device)

    def _format(self, entry: LogEntry) -> str:
        return format_entry(entry, self.name_of(entry.address) if entry.address else "station")

    def _add_device(self, address: str) -> None:
        if self.device.findData(address) < 0:
            name = self.name_of(address)
            self.device.addItem(name if name == address else f"{name} ({address})", address)

    def add(self, entries: list[LogEntry]) -> None:
        self.entries.extend(entries)
        for address in dict.fromkeys(entry.address for entry in entries if entry.address):
            self._add_device(address)
        shown = [self._format(entry) for entry in entries if self._shows(entry)]
        if shown:  # one append per batch: the view lays out once
            self.view.appendPlainText("\n".join(shown))

    def show_device(self, address: str) -> None:
        self._add_device(address)
        self.device.setCurrentIndex(self.device.findData(address))

    def shown_text(self) -> str:
        return self.view.toPlainText()

    def _refill(self) -> None:
        self.view.setPlainText("\n".join(self._format(entry) for entry in self.entries if self._shows(entry)))

    def copy(self) -> None:
        selected = self.view.textCursor().selectedText().replace("\u2029", "\n")
        QGuiApplication.clipboard().setText(selected or self.shown_text())

    def _ask_save(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save log", "tsuf-log.txt", "Text files (*.txt)")
        if name:
            self.save(Path(name))

    def save(self, path: Path) -> None:
        Path(path).write_text(self.shown_text() + "\n", encoding="utf-8")
