"""Light and dark palettes on the Fusion style, following the system's colour scheme."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

Role, Group = QPalette.ColorRole, QPalette.ColorGroup


def dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        Role.Window: "#2b2d31", Role.WindowText: "#e6e6e6", Role.Base: "#1f2023", Role.AlternateBase: "#27282c",
        Role.ToolTipBase: "#3a3c42", Role.ToolTipText: "#f0f0f0", Role.Text: "#e6e6e6", Role.Button: "#35373c",
        Role.ButtonText: "#e6e6e6", Role.BrightText: "#ff6b6b", Role.Highlight: "#3d7bd9",
        Role.HighlightedText: "#ffffff", Role.Link: "#6ea8ff", Role.PlaceholderText: "#8a8f98",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (Role.WindowText, Role.Text, Role.ButtonText):
        palette.setColor(Group.Disabled, role, QColor("#7a7d84"))
    return palette


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_palette(app: QApplication, dark: bool | None = None) -> None:
    """`dark` None follows the system; Fusion draws both palettes the same way everywhere."""
    app.setStyle("Fusion")
    dark = is_dark() if dark is None else dark
    app.setPalette(dark_palette() if dark else app.style().standardPalette())


def follow_system(app: QApplication) -> None:
    apply_palette(app)
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_palette(app))
