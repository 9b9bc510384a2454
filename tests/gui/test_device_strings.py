"""What a handset calls itself is shown as text in the app: markup is not rendered, control
characters are written as escapes."""

from PySide6.QtCore import Qt

from app.device_model import COLUMN
from app.discovery_scan import fixed_scan
from app.guided import wording
from app.guided.flow import GuidedFlow
from app.guided.steps import GuidedSetup
from app.guided.window import GuidedWindow

TIMEOUT = 30000
MARKUP_SERIAL = "<b>VH</b>\x1b[2J"
MARKUP_PRODUCT = "<img src=x>zte"


def test_a_handsets_markup_and_escapes_stay_text_in_the_table(make_bench, make_window, qtbot):
    bench = make_bench(1)
    bench.handsets[0].handset.faults.answers.update(serialno=MARKUP_SERIAL, product=MARKUP_PRODUCT)
    window = make_window(bench)
    row = window.board.rows
    qtbot.waitUntil(lambda: len(row) == 1 and all(r.serialno for r in row.values()), timeout=TIMEOUT)
    assert window.open_package(bench.package)
    qtbot.waitUntil(lambda: all(r.compatible is False for r in row.values()), timeout=TIMEOUT)  # wrong product

    def data(column: str, role=Qt.ItemDataRole.DisplayRole):
        return window.model.index(0, COLUMN[column]).data(role)
    assert data("Serial") == "<b>VH</b>\\x1b[2J"
    assert data("Handset") == MARKUP_PRODUCT
    reason = data("Package", Qt.ItemDataRole.ToolTipRole)  # quotes the product the handset claims
    assert "&lt;img src=x&gt;zte" in reason and "<img" not in reason


def test_the_guided_window_shows_a_phones_model_as_text(make_bench, qtbot):
    bench = make_bench(1)
    flow = GuidedFlow(GuidedSetup(bench.station, fixed_scan([]), lambda: None))
    window = GuidedWindow(flow)
    qtbot.addWidget(window)
    window.show_page(wording.phone_found(MARKUP_PRODUCT))
    assert MARKUP_PRODUCT in window.body.text()
    for label in (window.title, window.body, window.instruction, window.progress_text, window.code):
        assert label.textFormat() == Qt.TextFormat.PlainText
