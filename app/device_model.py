"""The device table's model: one row per handset, columns that say what each holds."""

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from .board import Board
from .device_row import DeviceRow, battery_text, battery_tip
from .icons import STATUS_ICON, link_icon, status_icon
from .plain_text import cell, tooltip

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # (percent or -1, text) for the progress delegate
ADDRESS_ROLE = Qt.ItemDataRole.UserRole + 2

# (title, tooltip); the order is the table's.
COLUMNS = (
    ("Handset", "Status icon and the product name the handset reports"),
    ("Serial", "The handset's serial number: its identity across links and reboots"),
    ("Link", "How the station reaches it: USB, serial, TCP or UDP (hover a cell for the address)"),
    ("Mode", "fastboot (bootloader), fastbootd, recovery (ADB) or recovery (ADB sideload), or unknown when "
             "the handset does not answer"),
    ("Slot", "The A/B slot the handset boots now; an update writes the other one"),
    ("Build", "The build the handset runs now"),
    ("Battery", "Battery charge, estimated from the voltage the handset reports (hover a cell for the volts); "
                "the package sets the minimum"),
    ("Package", "Whether the open package fits this handset (checked without writing): "
                "✓ fits, ✓ has it (already runs its build), ✗ refused (hover for why), … checking; "
                "after “Update to latest”, the package chosen for it and why"),
    ("State", "What the update is doing: idle, checking, writing <partition>, verifying, switching, "
              "rebooting, confirming, then done, failed, rolled back or cancelled; “waiting for the handset” "
              "(orange) when no byte has moved for a few seconds"),
    ("Progress", "Bytes written of the package's images (or downloaded, for update to latest), speed over the "
                 "last seconds and time left, or how long no byte has moved (stalled)"),
    ("Message", "The outcome in words, with what to do when something failed; double-click a row for its full log"),
)
COLUMN = {title: number for number, (title, _) in enumerate(COLUMNS)}

_FAILED_STATES = {"failed", "rolled back"}
WARNING_COLOUR = "#c77700"  # readable on the light and the dark palette


class DeviceModel(QAbstractTableModel):
    def __init__(self, board: Board, parent=None):
        super().__init__(parent)
        self.board = board
        self._addresses: list[str] = list(board.rows)
        board.rows_reset.connect(self._reset)
        board.rows_changed.connect(self._changed)

    def address_at(self, row: int) -> str:
        return self._addresses[row]

    def row_of(self, address: str) -> int:
        return self._addresses.index(address)

    def _reset(self) -> None:
        self.beginResetModel()
        self._addresses = list(self.board.rows)
        self.endResetModel()

    def _changed(self, addresses: list[str]) -> None:
        if list(self.board.rows) != self._addresses:
            self._reset()
            return
        rows = [self._addresses.index(a) for a in addresses if a in self.board.rows]
        if rows:  # one signal for the span: repaints stay cheap however many rows moved
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._addresses)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.board.rows.get(self._addresses[index.row()])
        if row is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:  # what the handset said, as text
            return cell(self._text(row, column))
        if role == Qt.ItemDataRole.DecorationRole:
            if column == COLUMN["Handset"]:  # busy states without an icon of their own show the working one
                return status_icon(row.state if row.state in STATUS_ICON or not row.active else "queued")
            if column == COLUMN["Link"]:
                return link_icon(row.link)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(self._tooltip(row, column))
        if role == Qt.ItemDataRole.ForegroundRole and column in (COLUMN["Package"], COLUMN["State"]):
            return self._colour(row, column)
        if role == PROGRESS_ROLE:
            percent = row.done * 100 // row.total if row.total and not row.finished else -1
            return percent, row.progress_text()
        if role == ADDRESS_ROLE:
            return row.address
        return None

    def _text(self, row: DeviceRow, column: int) -> str:
        match COLUMNS[column][0]:
            case "Handset":
                return row.product or "unidentified"
            case "Serial":
                return row.serialno
            case "Link":
                return row.link_name
            case "Mode":
                return row.mode_text
            case "Slot":
                return row.slot
            case "Build":
                return row.build
            case "Battery":
                return battery_text(row.battery_mv)
            case "Package":
                if row.choice:
                    return row.choice
                if row.assigned:
                    return f"assigned by server: {row.assigned}"
                if row.compatible is not None and self.board.up_to_date(row):
                    return "✓ has it"  # also once it was updated: it runs the package's build now
                return _compat_mark(row)
            case "State":
                return row.state_text
            case "Progress":
                return row.progress_text()
            case "Message":
                if row.finished or row.detail.endswith("…"):
                    return row.detail
                return "" if row.active else row.mode_note
        return ""

    @staticmethod
    def _tooltip(row: DeviceRow, column: int) -> str:
        match COLUMNS[column][0]:
            case "Link":
                return row.address
            case "Battery":
                return battery_tip(row.battery_mv)
            case "Package":
                return row.choice_tip or row.compat_reason or _compat_mark(row)
            case "State" if row.stalled_for() is not None:
                return (f"{row.state} {row.detail}: no byte has moved for {row.stalled_for():.0f} s. A handset "
                        "writing a large partition can take a while; one that never answers fails at the "
                        "command's deadline.")
            case "Message" | "State":
                return row.detail or row.mode_note
        return COLUMNS[column][1]

    @staticmethod
    def _colour(row: DeviceRow, column: int):
        if column == COLUMN["Package"]:
            if row.choice:
                return QBrush(QColor("#d03b3b")) if row.choice.startswith("✗") else None
            if row.compatible is False:
                return QBrush(QColor("#d03b3b"))
            return QBrush(QColor("#2e9d4f")) if row.compatible else None
        if row.state in _FAILED_STATES:
            return QBrush(QColor("#d03b3b"))
        if row.stalled_for() is not None:
            return QBrush(QColor(WARNING_COLOUR))
        return QBrush(QColor("#2e9d4f")) if row.state == "done" else None


def _compat_mark(row: DeviceRow) -> str:
    if row.compatible is True:
        return "✓ fits"
    if row.compatible is False:
        return "✗ " + row.compat_reason.split(":")[0].lower().replace("_", " ")
    return "… checking" if row.compat_reason == "checking…" else ""
