"""The journal's files are named by the handset's serial number, which the handset chooses."""

import pytest

from flasher.update.journal import Journal, JournalEntry

SHA = "ab" * 32


@pytest.mark.parametrize("serial", ["../../../outside", "/etc/passwd", "..", "", "a\x1b]0;x\x07", "CON"])
def test_a_hostile_serials_entry_and_backups_stay_in_the_journal_folder(tmp_path, serial):
    folder = tmp_path / "journal"
    journal = Journal(folder)
    entry = JournalEntry(serial, SHA, "a", "b", verified=["boot"], backups={"boot": "00" * 32})
    journal.save(entry)
    assert [path.parent for path in tmp_path.rglob("*") if path.is_file()] == [folder]
    assert journal.load(serial, SHA) == entry
    assert journal.backup_path(entry, "boot").resolve().is_relative_to(folder.resolve() / "backups")
    journal.clear(serial, SHA)
    assert not list(folder.glob("*.json"))


def test_two_serials_that_clean_up_alike_keep_their_own_entries(tmp_path):
    journal = Journal(tmp_path)
    for serial, slot in (("../x", "a"), ("/x", "b")):
        journal.save(JournalEntry(serial, SHA, slot, "b" if slot == "a" else "a"))
    assert journal.load("../x", SHA).active_slot == "a"
    assert journal.load("/x", SHA).active_slot == "b"
    journal.forget("../x")
    assert journal.load("../x", SHA) is None and journal.load("/x", SHA) is not None


def test_a_plain_serial_keeps_its_readable_file_name(tmp_path):
    Journal(tmp_path).save(JournalEntry("ZTE0001", SHA, "a", "b"))
    assert [path.name for path in tmp_path.iterdir()] == [f"ZTE0001-{SHA[:16]}.json"]
