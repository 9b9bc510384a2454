"""The station's ADB key, kept as the stock adb keeps its own.

`adbkey` is the PEM private key, `adbkey.pub` the public key line a phone stores
when its user allows USB debugging. A phone that already trusts the user's stock
adb trusts TSUF too when both use the same key, so TSUF takes the stock key when
there is one (the folder stock adb uses: $ANDROID_USER_HOME, else
$ANDROID_SDK_HOME/.android, else ~/.android) and otherwise makes its own,
owner-only, in TSUF's data folder.
"""

import getpass
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..atomic import PRIVATE_FILE, private_folder, write_atomically
from . import auth
from .errors import AdbError

KEY_NAME = "adbkey"


class HostKeyError(AdbError):
    """The ADB key file exists but is not a key adb can use."""

    hint = ("Move the file aside: TSUF then makes a new key, and the phone asks once more to allow "
            "USB debugging from this computer.")


@dataclass(frozen=True)
class HostKey:
    private_key: rsa.RSAPrivateKey
    path: Path
    comment: str

    def sign(self, token: bytes) -> bytes:
        return auth.sign_token(self.private_key, token)

    def public_payload(self) -> bytes:
        return auth.public_key_payload(self.private_key.public_key(), self.comment)


def stock_key_path() -> Path:
    """Where the stock adb keeps its key."""
    if user_home := os.environ.get("ANDROID_USER_HOME"):
        return Path(user_home) / KEY_NAME
    if sdk_home := os.environ.get("ANDROID_SDK_HOME"):
        return Path(sdk_home) / ".android" / KEY_NAME
    return Path.home() / ".android" / KEY_NAME


def station_key(data_dir: Path) -> HostKey:
    """The stock adb's key when there is one, else TSUF's own in `data_dir/adb` (made once)."""
    stock = stock_key_path()
    if stock.exists():
        return load_key(stock)
    own = Path(data_dir) / "adb" / KEY_NAME
    return load_key(own) if own.exists() else create_key(own)


def load_key(path: Path) -> HostKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise HostKeyError(f"{path}: not a readable ADB key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != auth.KEY_BITS:
        raise HostKeyError(f"{path}: an ADB key is {auth.KEY_BITS}-bit RSA")
    return HostKey(key, path, _comment())


def create_key(path: Path) -> HostKey:
    """A new key in `path` (PEM, owner-only) and its public line in `path`.pub, as adb writes them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=auth.KEY_BITS)
    private_folder(path.parent)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_atomically(path, pem, mode=PRIVATE_FILE)
    host_key = HostKey(key, path, _comment())
    write_atomically(path.with_name(path.name + ".pub"), host_key.public_payload().rstrip(b"\0") + b"\n",
                     mode=0o644)
    return host_key


def _comment() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname() or 'unknown'}"
