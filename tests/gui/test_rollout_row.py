"""A handset's row says which build the lab's rollout server (hawkBit DDI, here a real goosebit) assigns it."""

from app.device_model import COLUMN
from flasher.history.ddi import Assignments, DdiServer
from flasher.selection.assigned import AssignedUpdate
from tests.gui.test_main_window import TIMEOUT
from tests.support.goosebit import GoosebitServer, make_swu
from tests.support.packages import PRODUCT


def test_the_row_shows_the_build_the_server_assigns(make_bench, make_window, qtbot, tmp_path):
    bench = make_bench(2)
    goosebit = GoosebitServer()
    try:
        goosebit.rollout(goosebit.upload(make_swu(tmp_path, bench.package, version="130", product=PRODUCT,
                                                  hw_revision="10000")))
        rollout = AssignedUpdate(DdiServer(goosebit.url), Assignments(tmp_path / "ddi.sqlite"), bench.keys.trust_store,
                                 downloads=tmp_path / "downloads")
        window = make_window(bench, rollout=rollout.assigned_build)
        rows = window.board.rows
        qtbot.waitUntil(lambda: len(rows) == 2 and all(row.assigned for row in rows.values()), timeout=TIMEOUT)
        for address in bench.addresses:
            text = window.model.index(window.model.row_of(address), COLUMN["Package"]).data()
            assert text == "assigned by server: 130"
    finally:
        goosebit.close()
