"""Serial link frames: encoding, and a receive buffer that survives any input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flasher.transport.errors import FrameTooLarge
from flasher.transport.serial.framing import (CORRUPTED, HEADER_SIZE, MAX_FRAME, MAX_PAYLOAD, Corrupted, Frame,
                                              FrameKind, FrameReader, encode)


def test_frames_round_trip_whole_and_byte_by_byte():
    frames = [Frame(FrameKind.DATA, 0, b""), Frame(FrameKind.DATA_MORE, 255, bytes(range(256)) * 16),
              Frame(FrameKind.ACK, 7), Frame(FrameKind.HELLO, 0, b"TSUF-DL\x01")]
    wire = b"".join(encode(f.kind, f.sequence, f.payload) for f in frames)
    assert FrameReader().feed(wire) == frames
    reader = FrameReader()
    assert [event for i in range(len(wire)) for event in reader.feed(wire[i:i + 1])] == frames
    assert reader.buffered == 0


def test_the_layout_is_sync_header_check_payload_crc():
    wire = encode(FrameKind.DATA, 5, b"abc")
    assert wire[:2] == b"\xa5\x5a" and wire[2:4] == b"\x01\x05" and wire[4:6] == b"\x00\x03"
    assert len(wire) == HEADER_SIZE + 3 + 4


def test_the_reader_resynchronises_after_garbage():
    frame = encode(FrameKind.DATA, 1, b"payload")
    garbage = b"AT+CGMI\r\n\xa5\xa5\x5a\x00\xff" + bytes(range(256))
    assert FrameReader().feed(garbage + frame + garbage + frame) == [Frame(FrameKind.DATA, 1, b"payload")] * 2


def test_a_corrupted_payload_is_reported_and_the_next_frame_still_arrives():
    bad = bytearray(encode(FrameKind.DATA, 1, b"x" * 100))
    bad[50] ^= 0x10
    good = encode(FrameKind.DATA, 1, b"x" * 100)
    reader = FrameReader()
    assert reader.feed(bytes(bad) + good) == [CORRUPTED, Frame(FrameKind.DATA, 1, b"x" * 100)]
    assert reader.corrupted == 1


def test_a_damaged_length_is_caught_by_the_header_check_without_waiting():
    bad = bytearray(encode(FrameKind.DATA, 1, b"abc"))
    bad[5] ^= 0x40  # length 3 -> 67: without the header check the reader would wait for 64 more bytes
    good = encode(FrameKind.ACK, 2)
    assert FrameReader().feed(bytes(bad) + good) == [Frame(FrameKind.ACK, 2)]


def test_a_truncated_frame_is_recovered_by_the_repeat_that_follows():
    frame = encode(FrameKind.DATA, 3, b"y" * 1000)
    dropped = frame[:400] + frame[401:]
    events = FrameReader().feed(dropped + frame)
    assert events[-1] == Frame(FrameKind.DATA, 3, b"y" * 1000)


def test_payloads_are_bounded():
    encode(FrameKind.DATA, 0, bytes(MAX_PAYLOAD))
    with pytest.raises(FrameTooLarge):
        encode(FrameKind.DATA, 0, bytes(MAX_PAYLOAD + 1))


@given(st.lists(st.one_of(st.binary(max_size=3000),
                          st.builds(lambda kind, seq, payload, cut: encode(kind, seq, payload)[cut:],
                                    st.sampled_from(FrameKind), st.integers(0, 255), st.binary(max_size=600),
                                    st.integers(0, 20))),
                max_size=12))
def test_any_bytes_give_frames_or_nothing_in_bounded_memory(chunks):
    reader = FrameReader()
    for chunk in chunks:
        for event in reader.feed(chunk):
            assert isinstance(event, (Frame, Corrupted))
        assert reader.buffered < MAX_FRAME
