"""Raw fastboot over TCP for tests that check a device's exact bytes (wordings, INFO lines)."""

from flasher.transport.tcp import TcpTransport

TIMEOUT = 30.0


class Wire:
    """One host session: `command` returns every response packet up to OKAY, FAIL or DATA."""

    def __init__(self, address: str):
        _scheme, host, port = address.split(":")
        self.link = TcpTransport.connect(host, int(port))

    def command(self, text: str) -> list[bytes]:
        self.link.write(text.encode(), TIMEOUT)
        return self.replies()

    def replies(self) -> list[bytes]:
        packets = []
        while True:
            packet = self.link.read(256, TIMEOUT)
            packets.append(packet)
            if packet[:4] in (b"OKAY", b"FAIL", b"DATA"):
                return packets

    def last(self, text: str) -> bytes:
        """The final response to `text` (OKAY..., FAIL..., DATA...)."""
        return self.command(text)[-1]

    def download(self, data: bytes) -> list[bytes]:
        """download:SIZE, then the data if the device asked for it; all the packets it sent."""
        packets = self.command(f"download:{len(data):08x}")
        if packets[-1][:4] != b"DATA":
            return packets
        self.link.write(data, TIMEOUT)
        return packets + self.replies()

    def upload_after(self, text: str) -> tuple[list[bytes], bytes]:
        """Send a command that answers DATA; return the packets and the bytes that followed."""
        packets = self.command(text)
        if packets[-1][:4] != b"DATA":
            return packets, b""
        size = int(packets[-1][4:], 16)
        data = b""
        while len(data) < size:
            data += self.link.read(size - len(data), TIMEOUT)
        return packets + self.replies(), data

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
