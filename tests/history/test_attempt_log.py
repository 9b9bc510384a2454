import hashlib
import logging

from flasher.history.attempt_log import AttemptLog


def test_log_file_tail_and_hash(tmp_path):
    log = AttemptLog(tmp_path / "VH1" / "attempt.log")
    logger = logging.getLogger("tsuf.test.attempt")
    logger.setLevel(logging.DEBUG)
    handler = log.handler()
    logger.addHandler(handler)
    try:
        for number in range(100):
            logger.info("line %d", number)
        log.write("ERROR", "verify failed")
    finally:
        logger.removeHandler(handler)
    tail, digest = log.close()
    text = (tmp_path / "VH1" / "attempt.log").read_text()
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert tail.splitlines()[-1].endswith("verify failed")
    assert "line 99" in tail and "line 0 " not in tail
    assert len(text.splitlines()) == 101
    log.write("INFO", "after close is ignored")


def test_a_devices_text_cannot_fake_a_line_or_reach_the_reader_raw(tmp_path):
    log = AttemptLog(tmp_path / "attempt.log")
    log.write("INFO", "(bootloader) ok\n2026-01-01T00:00:00.000Z INFO    done: \x1b]0;pwned\x07")
    log.close()
    text = (tmp_path / "attempt.log").read_text()
    assert len(text.splitlines()) == 1
    assert "\x1b" not in text and "\\x0a2026-01-01" in text and "\\x1b]0;pwned\\x07" in text
