import pytest

from flasher.transport import udp_packets as packets
from flasher.transport.errors import (BadInit, HandshakeFailed, ShortPacket, TransportError, UnexpectedReply,
                                      UnknownPacketId, WrongSequence)
from flasher.transport.udp_packets import Init, Packet, PacketId


def test_header_is_id_flags_and_big_endian_sequence():
    assert packets.encode(PacketId.FASTBOOT, 0x1234, b"getvar:version", continuation=True) == \
        b"\x03\x01\x12\x34getvar:version"
    assert packets.encode(PacketId.QUERY, 0) == b"\x01\x00\x00\x00"


def test_decode_reads_back_what_encode_wrote():
    datagram = packets.encode(PacketId.INIT, 0xFFFF, b"\x00\x01\x04\x00")
    assert packets.decode(datagram) == Packet(PacketId.INIT, 0xFFFF, False, b"\x00\x01\x04\x00")
    assert packets.decode(b"\x03\x01\x00\x07abc").continuation


def test_flag_bits_other_than_continuation_are_ignored():
    assert not packets.decode(b"\x03\xfe\x00\x00").continuation


@pytest.mark.parametrize("datagram", [b"", b"\x03", b"\x03\x00\x00"])
def test_packets_shorter_than_the_header_are_refused(datagram):
    with pytest.raises(ShortPacket):
        packets.decode(datagram)


def test_unknown_ids_are_refused():
    with pytest.raises(UnknownPacketId, match="id 4"):
        packets.decode(b"\x04\x00\x00\x00")


def test_a_reply_must_carry_the_request_sequence():
    request = Packet(PacketId.FASTBOOT, 7)
    packets.check_reply(request, Packet(PacketId.FASTBOOT, 7))
    packets.check_reply(request, Packet(PacketId.ERROR, 7, payload=b"busy"))
    with pytest.raises(WrongSequence):
        packets.check_reply(request, Packet(PacketId.FASTBOOT, 6))
    with pytest.raises(UnexpectedReply):
        packets.check_reply(request, Packet(PacketId.INIT, 7))


def test_sequence_numbers_wrap_at_16_bits():
    assert packets.next_sequence(0xFFFF) == 0
    assert packets.previous_sequence(0) == 0xFFFF


def test_query_payload_is_the_next_expected_sequence():
    assert packets.query_payload(0x0102) == b"\x01\x02"
    assert packets.parse_query_payload(b"\x01\x02") == 0x0102
    with pytest.raises(ShortPacket):
        packets.parse_query_payload(b"\x01")


def test_init_payload_is_version_and_max_packet_size():
    assert Init(1, 8192).encode() == b"\x00\x01\x20\x00"
    assert packets.parse_init_payload(b"\x00\x01\x04\x00") == Init(1, 1024)
    assert packets.parse_init_payload(b"\x00\x02\x02\x00") == Init(2, 512)


@pytest.mark.parametrize("payload, error", [
    (b"\x00\x00\x04\x00", "version 0"),
    (b"\x00\x01\x01\xff", "511 bytes"),
])
def test_unusable_init_is_refused_as_a_handshake_failure(payload, error):
    with pytest.raises(BadInit, match=error) as info:
        packets.parse_init_payload(payload)
    assert isinstance(info.value, HandshakeFailed)


def test_short_init_is_refused():
    with pytest.raises(ShortPacket):
        packets.parse_init_payload(b"\x00\x01\x04")


def test_packet_errors_are_link_errors_with_a_hint():
    assert issubclass(ShortPacket, TransportError)
    assert "UDP" in ShortPacket("x").hint
