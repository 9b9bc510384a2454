"""The window never freezes: while eight handsets are stuck mid-update, it keeps ticking and shows their progress.

Each handset is reached through a real TCP relay that, once the host has sent it 1.5 MiB, holds the
handset's answers until the test lets them through: every session is then blocked on a read. A window
that did device I/O on its own thread would stop ticking; ours must tick on, however slow the machine.
bench/gui_stall.py measures how long the window's stalls are (speed is measured there, not here).
"""

import socket
import threading
import time

from PySide6.QtCore import QTimer

TICK_MS = 10
HOLD_AFTER = 1536 * 1024
TICKS_WHILE_HELD = 30


class HoldingRelay:
    """Forwards TCP to one handset; after HOLD_AFTER bytes from the host, holds the handset's answers."""

    def __init__(self, target: str):
        host, port = target.removeprefix("tcp:").rsplit(":", 1)
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp:127.0.0.1:{self._listener.getsockname()[1]}"
        self._answering = threading.Event()
        self._answering.set()
        self.holding = threading.Event()
        """Set once an answer is being held: the session behind it waits on a read."""
        self._sent = 0
        self._armed = True
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def release(self) -> None:
        self._answering.set()

    def close(self) -> None:
        self.release()
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                host_side, _ = self._listener.accept()
                handset_side = socket.create_connection(self._upstream)
            except OSError:
                return
            self._sockets += [host_side, handset_side]
            threading.Thread(target=self._pump, args=(host_side, handset_side, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(handset_side, host_side, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_host: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_host:
                    with self._lock:
                        self._sent += len(data)
                        if self._armed and self._sent > HOLD_AFTER:
                            self._armed = False
                            self._answering.clear()
                elif not self._answering.is_set():
                    self.holding.set()
                    self._answering.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_the_gui_stays_live_while_eight_handsets_are_stuck_mid_update(make_bench, make_window, qtbot):
    from app.discovery_scan import fixed_scan
    bench = make_bench(8)
    relays = [HoldingRelay(address) for address in bench.addresses]
    try:
        window = make_window(bench, parallel=8, scan=fixed_scan([relay.address for relay in relays]))
        rows = window.board.rows
        qtbot.waitUntil(lambda: len(rows) == 8 and all(r.serialno for r in rows.values()), timeout=30000)
        window.open_package(bench.package)
        qtbot.waitUntil(lambda: all(r.compatible for r in rows.values()), timeout=30000)

        ticks: list[float] = []
        timer = QTimer(interval=TICK_MS, timeout=lambda: ticks.append(time.monotonic()))
        timer.start()
        window.update_all_action.trigger()
        qtbot.waitUntil(lambda: all(relay.holding.is_set() for relay in relays), timeout=60000)
        # Every session now waits on its handset. The window must go on: ticks, and progress so far shown.
        held_at = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= held_at + TICKS_WHILE_HELD, timeout=20000)
        qtbot.waitUntil(lambda: all(0 < r.done < r.total for r in rows.values()), timeout=20000)
        assert not any(r.finished for r in rows.values())  # all still mid-update: the figures came as they went
        for relay in relays:
            relay.release()
        qtbot.waitUntil(lambda: all(r.finished for r in rows.values()), timeout=60000)
        timer.stop()
        assert all(r.state == "done" for r in rows.values()), [r.detail for r in rows.values()]
    finally:
        for relay in relays:
            relay.close()
