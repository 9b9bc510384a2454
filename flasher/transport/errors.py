"""Link errors: the bytes could not be moved, whatever they meant."""

from ..errors import FlasherError


class TransportError(FlasherError):
    hint = "Check the cable or network link and that the handset is in fastboot mode, then try again."


class BadAddress(TransportError):
    hint = "Use tcp:HOST[:PORT], udp:HOST[:PORT], usb:SERIAL or serial:PORT."


class UnsupportedLink(TransportError):
    hint = "Connect the handset over a link this version supports: tcp:, udp:, usb: or serial:."


class ConnectFailed(TransportError):
    hint = "Check that the handset is on, in fastboot mode and reachable at that address."


class HandshakeFailed(TransportError):
    hint = "The peer at that address does not speak fastboot; check the address and port."


class LinkTimeout(TransportError):
    hint = ("The handset stopped answering. Keep it connected; if it stays silent, "
            "reconnect it and run the command again.")


class SourceEnded(TransportError):
    """A file being sent ended before the bytes announced for it."""

    hint = "Do not modify the image while it is being flashed; start the flash again."


class LinkClosed(TransportError):
    hint = "The handset disconnected. Reconnect it and run the command again."


class UdpProtocolError(TransportError):
    """The peer broke the fastboot-over-UDP packet rules.

    A TransportError, not a protocol.ProtocolError: these rules are about how
    bytes move on this link, not what fastboot commands mean, and transport/
    does not import protocol/.
    """

    hint = "The peer does not speak fastboot over UDP; check the address and port, then reconnect."


class ShortPacket(UdpProtocolError):
    pass


class UnknownPacketId(UdpProtocolError):
    pass


class WrongSequence(UdpProtocolError):
    pass


class UnexpectedReply(UdpProtocolError):
    pass


class BadInit(UdpProtocolError, HandshakeFailed):
    pass


class DeviceReportedError(TransportError):
    hint = "The handset reported an error on the UDP link; reconnect it and run the command again."


class SerialLinkError(TransportError):
    """The serial link layer could not carry a packet (see docs/protocols/serial.md)."""

    hint = "Check the cable and that the handset is in download mode, then run the command again."


class FrameTooLarge(SerialLinkError):
    pass


class SerialPortGone(LinkClosed):
    hint = "The serial port went away (unplugged or rebooted). Reconnect the handset and run the command again."


class AtCommandFailed(SerialLinkError):
    hint = "The modem port refused the command; check that this is the handset's AT port and its vendor."
