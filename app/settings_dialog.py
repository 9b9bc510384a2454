"""Station settings: its id, the backend that receives reports, the update catalog, the lab's shared
history, and the trust store's keys."""

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout)

from flasher.errors import FlasherError
from flasher.package.trust import TrustStore
from flasher.settings import Settings


class SettingsDialog(QDialog):
    """Changes to the trust store apply at once; station id, backend URL, catalog and lab history on OK."""

    def __init__(self, settings: Settings | None, trust_store: TrustStore, station, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Station settings")
        self.resize(640, 420)
        self.settings, self.trust_store, self.station = settings, trust_store, station
        self.station_id = QLineEdit(station.station_id)
        self.station_id.setToolTip("Written into every report, so a backend knows which station did the work")
        self.backend_url = QLineEdit(settings.backend_url if settings else "")
        self.backend_url.setPlaceholderText("none: reports stay in the local history")
        self.backend_url.setToolTip("HTTP endpoint that receives each report as JSON; the outbox retries until "
                                    "it is delivered")
        self.catalog_url = QLineEdit(settings.catalog_url if settings else "")
        self.catalog_url.setPlaceholderText("none: only the firmware library's packages are offered")
        self.catalog_url.setToolTip("The signed update catalog “Update to latest” and the guided mode choose "
                                    "from: an http(s) URL, a catalog.json file or the folder holding it")
        self.history_url = QLineEdit(settings.history_url if settings else "")
        self.history_url.setPlaceholderText("none: this station's own history only")
        self.history_url.setToolTip("The lab's shared PostgreSQL history, postgresql://USER@HOST[:PORT]/DATABASE "
                                    "(password in ~/.pgpass or $PGPASSWORD): every report is delivered to it, and "
                                    "the History tab can read every station's attempts")
        self.battery_unknown_ok = QCheckBox("Update handsets that do not report their battery level")
        self.battery_unknown_ok.setChecked(bool(settings and settings.battery_unknown_ok))
        self.battery_unknown_ok.setToolTip("Many bootloaders (U-Boot, barebox) do not say how charged the handset is; "
                                           "check the battery yourself before allowing this")
        form = QFormLayout()
        form.addRow("Station id:", self.station_id)
        form.addRow("Backend URL:", self.backend_url)
        form.addRow("Update catalog:", self.catalog_url)
        form.addRow("Lab history:", self.history_url)
        form.addRow("Battery:", self.battery_unknown_ok)
        self.keys = QTreeWidget()
        self.keys.setHeaderLabels(("Key id", "Algorithm", "May sign"))
        self.keys.setRootIsDecorated(False)
        self.keys.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        import_button, remove_button = QPushButton("Import key…"), QPushButton("Remove key")
        import_button.setToolTip("Trust a publisher's public key (PEM): packages it signs can then be opened")
        remove_button.setToolTip("Stop trusting the selected key: packages only it signed are refused")
        import_button.clicked.connect(self._ask_import)
        remove_button.clicked.connect(self._ask_remove)
        key_buttons = QHBoxLayout()
        key_buttons.addWidget(import_button)
        key_buttons.addWidget(remove_button)
        key_buttons.addStretch(1)
        trust = QGroupBox("Trust store")
        trust_layout = QVBoxLayout(trust)
        trust_layout.addWidget(QLabel(str(trust_store.folder)))
        trust_layout.addWidget(self.keys)
        trust_layout.addLayout(key_buttons)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(trust)
        if settings is None:
            layout.addWidget(QLabel("Demo mode: the station id applies to this session only."))
        layout.addWidget(buttons)
        self.refresh_keys()

    def refresh_keys(self) -> None:
        self.keys.clear()
        try:
            trusted = self.trust_store.keys()
        except FlasherError as error:
            QTreeWidgetItem(self.keys, (f"unreadable: {error}", "", ""))
            return
        for key in trusted:
            QTreeWidgetItem(self.keys, (key.key_id, key.algorithm, key.scope.describe()))

    def import_key(self, path: Path) -> str:
        key = self.trust_store.import_key(Path(path))
        self.refresh_keys()
        return key.key_id

    def remove_key(self, key_id: str) -> None:
        self.trust_store.remove(key_id)
        self.refresh_keys()

    def _ask_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a public key", "", "PEM public keys (*.pem);;All files (*)")
        if name:
            try:
                self.import_key(Path(name))
            except FlasherError as error:
                QMessageBox.warning(self, "Key not imported", f"{error}\n\n{error.hint or ''}")

    def _ask_remove(self) -> None:
        item = self.keys.currentItem()
        if item is None:
            return
        key_id = item.text(0)
        answer = QMessageBox.question(self, "Remove key", f"Stop trusting key {key_id}?\n\n"
                                      "Packages signed only by this key will be refused.")
        if answer == QMessageBox.StandardButton.Yes:
            try:
                self.remove_key(key_id)
            except FlasherError as error:
                QMessageBox.warning(self, "Key not removed", str(error))

    def accept(self) -> None:
        if self.apply():
            super().accept()

    def warn(self, title: str, text: str) -> None:
        """Tests replace this."""
        QMessageBox.warning(self, title, text)

    def apply(self) -> bool:
        """Save; False (and nothing saved) when a URL could never work, as `tsuf settings` refuses it."""
        if self.settings is not None:
            proposed = dataclasses.replace(self.settings, backend_url=self.backend_url.text().strip(),
                                           catalog_url=self.catalog_url.text().strip(),
                                           history_url=self.history_url.text().strip())
            try:
                proposed.backend()
            except FlasherError as error:
                self.warn("Settings not saved", f"{error}\n\n{error.hint}".strip())
                return False
        station_id = self.station_id.text().strip()
        if station_id:
            self.station.station_id = station_id
        if self.settings is not None:
            self.settings.station_id = self.station.station_id
            self.settings.backend_url = self.backend_url.text().strip()
            self.settings.catalog_url = self.catalog_url.text().strip()
            self.settings.history_url = self.history_url.text().strip()
            self.settings.battery_unknown_ok = self.battery_unknown_ok.isChecked()
            self.settings.save()
        return True
