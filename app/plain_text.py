"""Strings from handsets and packages in the app's widgets: shown as text, never as markup.

QLabel, QMessageBox and tooltips take a string that looks like HTML for rich text, so a
handset answering `serialno` with `<img src=...>` would be rendered. Labels that can show
such strings are set to plain text (`plain_label`); tooltips and rich labels get the string
escaped (`tooltip`, `html_text`). Table cells show control characters as escapes (`cell`).
"""

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as TextQt  # convertFromPlainText lives in QtGui's Qt namespace
from PySide6.QtWidgets import QLabel

from flasher.device_text import printable


def plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def tooltip(text: str) -> str:
    """A tooltip that shows `text` as it is, whatever markup it holds."""
    return TextQt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal) if text else ""


def html_text(text: str) -> str:
    """`text` to put inside a rich-text label's markup."""
    return html.escape(str(text))


def cell(text: str) -> str:
    """A one-line table cell: control characters (a newline, an escape) written as escapes."""
    return printable(text, None)
