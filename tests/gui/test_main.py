"""`tsuf gui --demo`: virtual handsets on every link and the signed demo package, one button away."""

from contextlib import ExitStack

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
        board = window.board
        qtbot.waitUntil(lambda: board.updater is not None, timeout=60000)
        assert board.updater.manifest.build == "B130"
        qtbot.waitUntil(lambda: len(board.rows) == 4 and all(r.compatible for r in board.rows.values()),
                        timeout=60000)
        assert {row.link for row in board.rows.values()} == {"tcp", "usb", "udp", "serial"}
        assert all(row.build == "B120" and row.slot == "a" for row in board.rows.values())
        assert "demo" in window.windowTitle()

        window.update_all_action.trigger()  # the one button
        qtbot.waitUntil(lambda: all(r.finished for r in board.rows.values()), timeout=120000)
        assert [r.state for r in board.rows.values()] == ["done"] * 4, [r.detail for r in board.rows.values()]
        qtbot.waitUntil(lambda: all(r.build == "B130" for r in board.rows.values()), timeout=30000)
        window.close()
        assert not window.isVisible()
