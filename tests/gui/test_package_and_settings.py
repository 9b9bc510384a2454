"""Opening packages (dialog-free and by drag and drop), refusals, settings, history export, log saving."""

import csv
import dataclasses

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.board import station_policy
from app.settings_dialog import SettingsDialog
from flasher.package import keys
from flasher.settings import load_settings
from tests.gui.test_main_window import TIMEOUT, open_and_check
from tests.support.packages import make_keys, make_package


def drop_event(path) -> tuple[QDropEvent, QMimeData]:
    """The event, and its data, which the caller must keep alive (the event does not own it)."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    return QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier), data


def test_a_package_dropped_on_the_window_opens(make_bench, make_window, qtbot):
    bench = make_bench(1)
    window = make_window(bench)
    event, data = drop_event(bench.package)
    window.dragEnterEvent(event)
    assert event.isAccepted()
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.board.updater is not None, timeout=TIMEOUT)
    assert window.board.package_path == bench.package
    assert window.package_panel.fields["Product"].text() == "tsuf_zte_ab"
    key_id = bench.keys.signing.key_id
    assert window.package_panel.fields["Signed by"].text() == (
        f"key {key_id[:16]} (package signer: full, delta, sideload packages for any product; catalogs)")


def test_an_untrusted_package_is_refused_with_what_to_do(make_bench, make_window, qtbot, tmp_path):
    bench = make_bench(1)
    stranger = make_keys(tmp_path / "stranger")
    untrusted = make_package(tmp_path / "stranger", stranger)
    window = make_window(bench)
    window.open_package(untrusted)
    qtbot.waitUntil(lambda: "refused" in window.package_panel.title.text(), timeout=TIMEOUT)
    text = window.package_panel.title.text()
    assert "not in the trust store" in text and "tsuf keys import" in text
    assert window.board.updater is None and not window.update_all_action.isEnabled()


def test_settings_import_and_remove_keys_and_save_the_station(make_bench, make_window, qtbot, tmp_path,
                                                             monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TSUF_STATION", raising=False)
    monkeypatch.delenv("TSUF_BACKEND", raising=False)
    bench = make_bench(1)
    window = make_window(bench)
    dialog = SettingsDialog(load_settings(), bench.keys.trust_store, window.board.station, window)
    qtbot.addWidget(dialog)
    assert dialog.keys.topLevelItemCount() == 1
    _, public = keys.write_key_pair(keys.generate_key(), tmp_path / "other", "other")
    key_id = dialog.import_key(public)
    assert dialog.keys.topLevelItemCount() == 2
    assert dialog.keys.topLevelItem(0).text(2).endswith("packages for any product; catalogs")
    dialog.remove_key(key_id)
    assert [key.key_id for key in bench.keys.trust_store.keys()] != [key_id]
    assert dialog.keys.topLevelItemCount() == 1
    dialog.station_id.setText("bench-7")
    dialog.backend_url.setText("https://reports.example/tsuf")
    dialog.apply()
    assert window.board.station.station_id == "bench-7"
    saved = load_settings()
    assert (saved.station_id, saved.backend_url) == ("bench-7", "https://reports.example/tsuf")
    assert not saved.battery_unknown_ok
    warnings = []
    dialog.warn = lambda title, text: warnings.append(text)
    dialog.history_url.setText("http://db.lab/tsuf")  # not PostgreSQL: refused, as `tsuf settings` refuses it
    assert not dialog.apply() and "is not a PostgreSQL URL" in warnings[0]
    assert load_settings().history_url == ""
    dialog.history_url.setText("postgresql://tsuf@db.lab/tsuf")
    assert dialog.apply() and load_settings().history_url == "postgresql://tsuf@db.lab/tsuf"


def test_station_mode_updates_handsets_without_a_battery_report_only_when_allowed(make_bench, make_window, qtbot,
                                                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path / "home"))
    bench = make_bench(1)
    window = make_window(bench)
    window.settings = load_settings()
    window.board.options = dataclasses.replace(window.board.options, policy=station_policy(window.settings))
    assert not window.board.options.policy.battery_unknown_ok  # station mode asks first
    dialog = SettingsDialog(window.settings, bench.keys.trust_store, window.board.station, window)
    qtbot.addWidget(dialog)
    dialog.battery_unknown_ok.setChecked(True)
    dialog.apply()
    window.settings_saved()
    assert window.board.options.policy.battery_unknown_ok
    assert load_settings().battery_unknown_ok


def test_history_exports_csv_and_the_log_saves(make_bench, make_window, qtbot, tmp_path):
    bench = make_bench(1)
    window = make_window(bench)
    open_and_check(qtbot, window, bench)
    window.update_all_action.trigger()
    qtbot.waitUntil(lambda: window.board.done_count == 1, timeout=TIMEOUT)
    history = window.history_view
    qtbot.waitUntil(lambda: history.table.rowCount() == 1, timeout=TIMEOUT)
    assert history.export_csv(tmp_path / "history.csv") == 1
    with open(tmp_path / "history.csv", newline="") as file:
        (row,) = list(csv.DictReader(file))
    assert (row["result"], row["device_serial"], row["to_build"]) == ("SUCCESS", "VH000001", "B130")
    history.serial.setText("nobody")
    assert history.table.rowCount() == 0

    window.log_pane.save(tmp_path / "log.txt")
    saved = (tmp_path / "log.txt").read_text()
    assert "VH000001: done: running B130 on slot b" in saved
    window.log_pane.copy()
    from PySide6.QtGui import QGuiApplication
    assert "done: running B130" in QGuiApplication.clipboard().text()


def test_factory_images_open_only_when_the_user_says_yes(make_bench, make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from tests.support.factory import factory_zip
    bench = make_bench(1)
    factory = factory_zip(tmp_path / "image-tsuf.zip", oem_key=bench.keys.oem, extra={"system_other.img": b"o" * 4096})
    window = make_window(bench)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2]) or answers.pop(0))
    window.open_package(factory)
    qtbot.waitUntil(lambda: "refused" in window.package_panel.title.text(), timeout=TIMEOUT)
    assert "nobody signed" in window.package_panel.title.text() and window.board.updater is None
    window.open_package(factory)
    qtbot.waitUntil(lambda: window.board.updater is not None, timeout=TIMEOUT)
    assert len(asked) == 2 and "factory images that nobody signed" in asked[0]
    fields = window.package_panel.fields
    assert fields["Type"].text() == "factory images" and fields["Signed by"].text().startswith("nobody")
    assert "system_other.img not written" in fields["Trust"].text() and fields["Build"].text().startswith("B130")


def test_a_vendor_ota_opens_with_its_oem_signer(make_bench, make_window, qtbot, tmp_path):
    import os

    from tests.payload import generator
    bench = make_bench(1)
    key = generator.rsa_key()
    certificate = tmp_path / "otacert.pem"
    certificate.write_bytes(generator.certificate_pem(key))
    bench.keys.trust_store.import_oem_certificate(certificate)
    payload = generator.Payload()
    payload.add_full("boot", os.urandom(8192))
    properties = payload.write(tmp_path / "payload.bin", key)
    ota = generator.ota_zip(tmp_path / "ota.zip", tmp_path / "payload.bin", properties, None,
                            "ota-type=AB\npre-device=tsuf_zte_ab\npost-build-incremental=B130\n")
    window = make_window(bench)
    window.open_package(ota)
    qtbot.waitUntil(lambda: window.board.updater is not None, timeout=TIMEOUT)
    fields = window.package_panel.fields
    assert fields["Type"].text() == "vendor OTA (full)" and "signed by" in fields["Signed by"].text()
    assert "✓ trusted" in fields["Trust"].text() and fields["Build"].text().startswith("B130")
