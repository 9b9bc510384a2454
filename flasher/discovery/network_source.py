"""TCP and UDP handsets at addresses the user lists: `--targets FILE` or $TSUF_TARGETS.

Networks are not enumerable the way a USB bus is, so only listed addresses are probed:
each one in its own thread, with a short connect and three getvars. A UDP handset that
answered before is then only sent a query packet, which any host may send at any time:
a new UDP session would end the one of a host that is flashing it. A TCP address whose
fastboot port does not answer gets one quick try at the port after it, where recovery
answers ADB: a handset found there is listed in recovery at its fastboot address, with
the serial number its bootloader gave earlier (ADB does not say it).

The targets file is JSON (a list of addresses, or {"targets": [...]}) or plain text with
one address per line; blank lines and lines starting with # are skipped.
"""

import dataclasses
import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import FlasherError
from ..transport.address import open_transport, parse_address
from ..transport import udp_packets
from ..transport.errors import TransportError
from .found import PROBE_TIMEOUT, FoundDevice

TARGETS_ENV = "TSUF_TARGETS"
NETWORK_SCHEMES = ("tcp", "udp")
MAX_PROBE_THREADS = 32
QUERY_RETRY = 0.25
ADB_PROBE_TIMEOUT = 0.5
"""The try at recovery's ADB port: most addresses that miss fastboot have nothing there either."""


class BadTargets(FlasherError):
    hint = ("List one tcp:HOST[:PORT] or udp:HOST[:PORT] address per line, or a JSON list of them, "
            f"and name the file with --targets FILE or ${TARGETS_ENV}.")


def targets_file(given: str | None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The file named by --targets, else by $TSUF_TARGETS, else none."""
    name = given or environ.get(TARGETS_ENV)
    return Path(name) if name else None


def read_targets(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadTargets(f"{path}: cannot read the targets file ({exc.strerror or exc})") from None
    if text.lstrip().startswith(("[", "{")):
        addresses = _json_targets(path, text)
    else:
        addresses = [line.strip() for line in text.splitlines()]
        addresses = [line for line in addresses if line and not line.startswith("#")]
    return check_targets(addresses, str(path))


def check_targets(addresses: Sequence[str], where: str) -> list[str]:
    """The addresses, each once, if all are tcp: or udp:; BadTargets names the first that is not."""
    for address in addresses:
        try:
            scheme = parse_address(address).scheme
        except FlasherError as exc:
            raise BadTargets(f"{where}: {exc}") from None
        if scheme not in NETWORK_SCHEMES:
            raise BadTargets(f"{where}: {address!r} is not a network address; USB and serial are found by scanning")
    return list(dict.fromkeys(addresses))


def _json_targets(path: Path, text: str) -> list[str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadTargets(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict):
        data = data.get("targets")
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise BadTargets(f"{path}: JSON must be a list of address strings or {{\"targets\": [...]}}")
    return [item.strip() for item in data]


class NetworkSource:
    name = "network"

    def __init__(self, targets: Sequence[str], *, probe_timeout: float = PROBE_TIMEOUT):
        self.targets = list(targets)
        self._probe_timeout = probe_timeout
        self._known_udp: dict[str, FoundDevice] = {}
        self._serials: dict[str, str] = {}  # address -> the serial its bootloader last gave

    def scan(self) -> list[FoundDevice]:
        if not self.targets:
            return []
        with ThreadPoolExecutor(min(len(self.targets), MAX_PROBE_THREADS)) as pool:
            answers = list(pool.map(self._probe, self.targets))
        return [device for device in answers if device is not None]

    def _probe(self, address: str) -> FoundDevice | None:
        """The handset at `address`, or None when nothing answers fastboot (or recovery's ADB) there."""
        known = self._known_udp.pop(address, None)
        if known is not None:
            target = parse_address(address)
            if not _answers_udp_query(target.target, target.port, self._probe_timeout):
                return None
            self._known_udp[address] = known
            return known
        device = self._ask(address)
        if device is not None and device.link == "udp" and device.mode != "unknown":
            self._known_udp[address] = device
        return device

    def _ask(self, address: str) -> FoundDevice | None:
        scheme = parse_address(address).scheme
        try:
            transport = open_transport(address, connect_timeout=self._probe_timeout)
        except TransportError:
            return self._ask_recovery(address) if scheme == "tcp" else None
        from .probe import identify  # only once a handset answers: `tsuf devices` with none starts faster
        try:
            device = identify(transport, link=scheme, timeout=self._probe_timeout)
        except FlasherError as exc:  # connected, then no sensible answer: busy with another host?
            return FoundDevice(address, scheme, "unknown", self._serials.get(address), detail=str(exc))
        if device.serialno:
            self._serials[address] = device.serialno
        return device

    def _ask_recovery(self, address: str) -> FoundDevice | None:
        """The handset in recovery at `address`, or None when its ADB port does not greet back: a
        port that accepts and then says nothing (another program, or recovery busy with another
        host) is not taken for a handset."""
        from ..adb.transport import adb_address_for, open_adb_transport
        from .probe import identify_adb
        timeout = min(self._probe_timeout, ADB_PROBE_TIMEOUT)
        try:
            adb_address = adb_address_for(address)
            transport = open_adb_transport(adb_address, timeout=timeout)
            device = identify_adb(transport, address=address, link="tcp", serialno=self._serials.get(address),
                                  timeout=timeout)
        except FlasherError:
            return None
        return dataclasses.replace(device, detail=device.detail or f"ADB at {adb_address}")


def _answers_udp_query(host: str, port: int, timeout: float) -> bool:
    """True when a fastboot UDP device answers a query packet within `timeout`."""
    query = udp_packets.encode(udp_packets.PacketId.QUERY, 0)
    deadline = time.monotonic() + timeout
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.connect(sockaddr)
            while (left := deadline - time.monotonic()) > 0:
                sock.send(query)  # sent again on each wait: a lost datagram costs one retry
                sock.settimeout(min(left, QUERY_RETRY))
                try:
                    reply = udp_packets.decode(sock.recv(udp_packets.HEADER_SIZE + 16))
                except (socket.timeout, TransportError):
                    continue
                if reply.id is udp_packets.PacketId.QUERY and reply.sequence == 0:
                    return True
    except OSError:  # nothing listens (ICMP port unreachable), or the host cannot be resolved
        return False
    return False
