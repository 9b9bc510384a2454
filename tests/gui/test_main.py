"""`tsuf gui --demo`: virtual handsets on every link and the signed demo package, one button away."""

from contextlib import ExitStack

from app.device_model import COLUMN
from app.main import open_window
from flasher.cli.main import _HANDLERS, build_parser


def test_the_gui_command_is_wired_into_tsuf():
    args = build_parser().parse_args(["gui", "--demo", "--parallel", "2"])
    assert (args.command, args.demo, args.parallel, args.package) == ("gui", True, 2, None)
    assert _HANDLERS["gui"] == ("gui_command", "run_gui")


def test_demo_starts_with_handsets_on_every_link_and_the_package_open(qtbot):
    with ExitStack() as stack:
        window = open_window(stack, demo=True, count=4)
        qtbot.addWidget(window)
        window.confirm = lambda title, text: True
        board, rows = window.board, window.board.rows
        qtbot.waitUntil(lambda: board.updater is not None, timeout=60000)
        assert board.updater.manifest.build == "B130"
        qtbot.waitUntil(lambda: len(rows) == 5 and all(r.compatible is not None for r in rows.values()),
                        timeout=60000)
        *unlocked, locked = rows
        assert [rows[a].link for a in unlocked] == ["tcp", "usb", "udp", "serial"] and locked == "usb:VH000005"
        assert all(row.build == "B120" and row.slot == "a" for row in rows.values())
        assert "demo" in window.windowTitle()
        # The open package is for fastboot: the locked handset does not fit, and the row says why.
        assert all(rows[a].compatible for a in unlocked) and rows[locked].compatible is False
        assert rows[locked].compat_reason == (
            "NEEDS_UNLOCK: This handset's bootloader is locked, and this package can only be installed on an "
            "unlocked one (Use the manufacturer's signed update for tsuf_zte_ab, or unlock the bootloader "
            "(this erases the user's data).)")
        assert package_text(window, locked) == "✗ needs unlock"

        window.update_all_action.trigger()  # the one button
        qtbot.waitUntil(lambda: all(rows[a].finished for a in unlocked), timeout=120000)
        assert [rows[a].state for a in unlocked] == ["done"] * 4, [rows[a].detail for a in unlocked]
        assert not rows[locked].finished and not rows[locked].active

        window.latest_all_action.trigger()  # the locked one is left: it gets the manufacturer's update
        qtbot.waitUntil(lambda: rows[locked].finished, timeout=120000)
        assert rows[locked].state == "done", rows[locked].detail
        assert rows[locked].report.path == "sideload"
        assert package_text(window, locked).endswith(" through recovery: the bootloader is locked")
        qtbot.waitUntil(lambda: all(r.build == "B130" for r in rows.values()), timeout=30000)
        window.close()
        assert not window.isVisible()


def package_text(window, address: str) -> str:
    return window.model.index(window.model.row_of(address), COLUMN["Package"]).data()
