"""The virtual phone's "USB debugging" setting and the keys its user allowed.

`off`: no adbd in Android at all (most phones in users' hands). `allow`: the user
taps "Allow" as soon as the phone asks about a new computer's key. `ask`: the phone
asks and nobody answers until `allow_waiting()` (a test, or the emulator's user).
Allowed keys are kept one line each in `adb_keys`, as /data/misc/adb/adb_keys is on
a phone, so they survive reboots.
"""

import enum
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from ..adb import auth
from ..atomic import write_atomically


class Debugging(enum.Enum):
    OFF = "off"
    ALLOW = "allow"
    ASK = "ask"


class UsbDebugging:
    def __init__(self, path: Path, setting: Debugging = Debugging.ALLOW):
        self.path = Path(path)
        self.setting = setting
        self._lock = threading.Lock()
        self._waiting: list[bytes] = []

    @property
    def enabled(self) -> bool:
        return self.setting is not Debugging.OFF

    def trusted(self) -> list[rsa.RSAPublicKey]:
        keys = []
        with self._lock:
            lines = self.path.read_bytes().splitlines() if self.path.exists() else []
        for line in lines:
            try:
                keys.append(auth.decode_public_key(line))
            except ValueError:
                continue  # a damaged line trusts nothing, as adbd skips it
        return keys

    def signed_by_trusted(self, token: bytes, signature: bytes) -> bool:
        return any(auth.signature_matches(key, token, signature) for key in self.trusted())

    def offer(self, payload: bytes) -> bool:
        """The host sent its public key: the phone asks its user. True when allowed now."""
        try:
            auth.decode_public_key(payload)
        except ValueError:
            return False  # not a key: the phone shows nothing
        line = payload.rstrip(b"\0").strip()
        if self.setting is Debugging.ALLOW:
            self._trust(line)
            return True
        with self._lock:
            if line not in self._waiting:
                self._waiting.append(line)
        return False

    def is_trusted(self, payload: bytes) -> bool:
        try:
            key = auth.decode_public_key(payload)
        except ValueError:
            return False
        return key.public_numbers() in {trusted.public_numbers() for trusted in self.trusted()}

    @property
    def asking(self) -> bool:
        """A key waits for the user's answer."""
        with self._lock:
            return bool(self._waiting)

    def allow_waiting(self) -> None:
        """The user taps "Allow" on every key the phone asked about."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        for line in waiting:
            self._trust(line)

    def _trust(self, line: bytes) -> None:
        with self._lock:
            lines = self.path.read_bytes().splitlines() if self.path.exists() else []
            if line not in lines:
                write_atomically(self.path, b"".join(existing + b"\n" for existing in lines + [line]))
