"""The open package: what it holds, who signed it, and whether the station trusts the signer."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from .board import Board
from .device_row import human_bytes
from .icons import icon
from .plain_text import html_text, plain_label


class PackagePanel(QFrame):
    open_requested = Signal()

    def __init__(self, board: Board, parent=None):
        super().__init__(parent)
        self.board = board
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(False)  # the window takes drops anywhere
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.open_button = QPushButton(icon("package"), "Open package…")
        self.open_button.setToolTip("Choose a signed update package (.zip), or drop one on the window (Ctrl+O)")
        self.open_button.clicked.connect(self.open_requested)
        self.fields: dict[str, QLabel] = {}
        grid = QGridLayout()  # two compact rows leave the height to the device table
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        tips = {
            "Product": "The product the package is built for; other handsets refuse it",
            "Build": "The build the handsets will run after the update",
            "Type": "full: whole images; delta: changes against one exact build",
            "Size": "Total size of the images, as written to each handset",
            "Signed by": "The keys that admitted the package: their role and what the trust store lets them sign",
            "Trust": "Only packages signed by a key this station's trust store allows for their product and kind open",
        }
        places = {"Product": (0, 0, 1), "Build": (0, 2, 1), "Type": (0, 4, 1), "Signed by": (0, 6, 1),
                  "Size": (1, 0, 3), "Trust": (1, 4, 3)}  # (row, column, columns spanned by the value)
        for name, tip in tips.items():
            # What the package says is shown as text; only the Trust line is ours and styled.
            label = QLabel("—") if name == "Trust" else plain_label("—")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setToolTip(tip)
            self.fields[name] = label
            caption = QLabel(f"<b>{name}:</b>")
            caption.setToolTip(tip)
            row, column, span = places[name]
            grid.addWidget(caption, row, column)
            grid.addWidget(label, row, column + 1, 1, span)
        for column in (1, 3, 5, 7):
            grid.setColumnStretch(column, 1)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(grid)
        board.package_changed.connect(self.refresh)
        self.refresh()

    def show_opening(self, name: str) -> None:
        self.title.setText(f"<b>Checking {html_text(name)}…</b> (signature, then every image hash)")

    def show_refused(self, name: str, error: Exception) -> None:
        hint = getattr(error, "hint", "") or ""
        self.title.setText(f"<b style='color:#d03b3b'>{html_text(name)} refused:</b> {html_text(error)}"
                           + (f"<br>{html_text(hint)}" if hint else ""))
        self.title.setWordWrap(True)

    def refresh(self) -> None:
        updater = self.board.updater
        if updater is None:
            self.title.setText("<b>No package open.</b> Open one (Ctrl+O) or drop it on the window.")
            for label in self.fields.values():
                label.setText("—")
            return
        manifest = updater.manifest
        self.title.setText(f"<b>{html_text(self.board.package_path.name)}</b>")
        self.title.setToolTip(str(self.board.package_path))
        self.fields["Product"].setText(html_text(manifest.product or "not named"))
        rollback = "not stated" if manifest.rollback_index is None else manifest.rollback_index
        self.fields["Build"].setText(html_text(f"{manifest.build or 'not stated'} (rollback index {rollback})"))
        self.fields["Type"].setText("factory images" if not manifest.signed else
                                    f"vendor OTA ({'incremental' if manifest.type == 'delta' else 'full'})"
                                    if manifest.signer else manifest.type)
        images = ", ".join(f"{entry.partition} {human_bytes(entry.size)}" for entry in manifest.images)
        self.fields["Size"].setText(f"{human_bytes(manifest.total_size)} ({images})")
        if not manifest.signed:
            left_out = "; ".join(f"{name} not written: {why}" for name, why in updater.left_out.items())
            self.fields["Signed by"].setText("nobody: factory images, opened on your word")
            self.fields["Trust"].setText("<span style='color:#b7791f'>⚠ not signed</span> (android-info.txt "
                                         "requirements are checked on each handset)"
                                         + (f"; {html_text(left_out)}" if left_out else ""))
            return
        if manifest.signer:
            self.fields["Signed by"].setText(html_text(manifest.signer))
            self.fields["Trust"].setText("<span style='color:#2e9d4f'>✓ trusted</span> (vendor OTA: its payload "
                                         "signatures checked with a trusted OEM certificate, every image built "
                                         "and hashed)")
            return
        trusted = updater.reader.trusted
        self.fields["Signed by"].setText(trusted.admission.describe())
        unknown = f"; {len(trusted.admission.unknown)} signature(s) by unknown keys ignored" \
            if trusted.admission.unknown else ""
        self.fields["Trust"].setText(f"<span style='color:#2e9d4f'>✓ trusted</span> "
                                     f"(signature checked, every image hash verified){unknown}")
