"""The virtual phone's adbd in Android: authenticated as a real one, a few services.

A host's CNXN gets AUTH TOKEN, never CNXN, until the host proves a key the phone
trusts (its SIGNATURE matches a key in adb_keys) or sends its RSAPUBLICKEY and the
user allows it (usb_debugging.py); a wrong signature gets a new token. Once
authorized its banner says "device::" and it offers:

- `shell:getprop NAME`: ro.build.fingerprint, ro.build.version.incremental,
  sys.boot_completed ("1" once boot completed, "" before, as init sets it),
  ro.serialno, ro.boot.slot_suffix, ro.product.name; "" for any other property;
- `reboot:` and `reboot:TARGET` as recovery's (bootloader, recovery, sideload, fastboot);
- nothing else (CLSE).
"""

import logging

from ..adb import auth, packets
from ..adb.connection import AdbConnection, Role
from ..adb.errors import AdbError
from ..adb.events import AuthAnswered, Connected, OpenRequested
from ..adb.link import AdbLink
from ..transport.base import Transport
from ..transport.errors import LinkTimeout, TransportError
from .handset import DATA_TIMEOUT, IDLE_TIMEOUT, Handset
from .recovery import AdbSessionEnded, reboot_if_asked

log = logging.getLogger("tsuf.virtual.adbd")

ASK_POLL = 0.1
"""How often an unanswered key prompt looks whether the user has allowed it."""


def properties(handset: Handset) -> dict[str, str]:
    product, build = handset.profile.product, handset.running_build
    return {
        "ro.build.fingerprint": f"TSUF/{product}/{product}:14/{build}/{build}:user/release-keys",
        "ro.build.version.incremental": build,
        "sys.boot_completed": "1" if handset.boot_completed else "",
        "ro.serialno": handset.serialno,
        "ro.boot.slot_suffix": f"_{handset.running_slot}" if handset.running_slot else "",
        "ro.product.name": product,
    }


class AndroidAdbSession:
    """One host connection to the phone's adbd."""

    def __init__(self, handset: Handset, link: Transport):
        self.handset = handset
        product = handset.profile.product
        self.adb = AdbLink(link, AdbConnection(
            Role.DEVICE, f"device::ro.product.name={product};ro.product.model={product};"
                         f"ro.product.device={product};features=", authenticate=True))
        self._token = self._public_key = b""
        self._asked = False
        self._log = log.getChild(handset.serialno)

    def run(self) -> None:
        try:
            while self.handset.android_adb_online:
                try:
                    event = self.adb.next_event(ASK_POLL if self._asked else IDLE_TIMEOUT)
                except LinkTimeout:
                    if not self._asked:
                        raise
                    self._authorize_if_allowed()
                    continue
                self._handle(event)
        except (AdbSessionEnded, TransportError, AdbError) as exc:
            self._log.debug("adbd session ended: %s", exc)
        except Exception:  # a handset bug ends the session, never the server
            self._log.exception("adbd session crashed")
        finally:
            self.adb.close()

    def _handle(self, event) -> None:
        if isinstance(event, Connected):
            self._asked = False
            self._challenge()
        elif isinstance(event, AuthAnswered) and event.kind == packets.AUTH_SIGNATURE:
            if self.handset.usb_debugging.signed_by_trusted(self._token, event.data):
                self._authorize()
            else:
                self._challenge()  # adbd sends a new token; the host may try another key
        elif isinstance(event, AuthAnswered) and event.kind == packets.AUTH_RSAPUBLICKEY:
            self._public_key = event.data
            self.handset._note("adbd: asking the user to allow USB debugging")
            if self.handset.usb_debugging.offer(event.data):
                self._authorize()
            else:
                self._asked = True
        elif isinstance(event, OpenRequested):
            self._open(event)
        self.adb.flush(DATA_TIMEOUT)

    def _challenge(self) -> None:
        self._token = auth.new_token()
        self.adb.connection.challenge(self._token)

    def _authorize_if_allowed(self) -> None:
        if self.handset.usb_debugging.is_trusted(self._public_key):
            self._authorize()
            self.adb.flush(DATA_TIMEOUT)

    def _authorize(self) -> None:
        self._asked = False
        self.handset._note("adbd: host authorized")
        self.adb.connection.authorize()

    def _open(self, request: OpenRequested) -> None:
        connection = self.adb.connection
        name, _, argument = request.service.partition(":")
        reboot_if_asked(self.handset, self.adb, request)
        command, _, prop = argument.partition(" ")
        if name != "shell" or command != "getprop" or not prop or " " in prop:
            connection.refuse(request)
            return
        stream = connection.accept(request)
        connection.send(stream, properties(self.handset).get(prop, "").encode() + b"\n")
        connection.close(stream)
