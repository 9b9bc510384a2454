"""Errors of the ADB layer and the sideload built on it."""

from ..errors import FlasherError

_RECONNECT = "Reconnect the handset (or reboot it into recovery again) and try again."
_SIDELOAD_MODE = ("Put the handset in sideload mode: in recovery choose \"Apply update from ADB\", "
                  "or run `adb reboot sideload`, then try again.")


class AdbError(FlasherError):
    hint = "Check the cable or network link and that the handset shows recovery, then try again."


class AdbProtocolError(AdbError):
    """The peer broke ADB's message rules; the connection is unusable afterwards."""

    hint = _RECONNECT


class BadMagic(AdbProtocolError):
    """A header whose magic is not its command XOR 0xFFFFFFFF."""


class PayloadTooLarge(AdbProtocolError):
    """A message announcing more payload than this side offered to accept."""


class BadChecksum(AdbProtocolError):
    """A payload that does not add up to its header's checksum (version 0x01000000 peers)."""


class BadHandshake(AdbProtocolError):
    """A CNXN this side cannot work with (version, payload size, banner)."""


class AuthRequired(AdbError):
    """The daemon asks the host to authenticate (RSA keys or TLS), which recovery never does."""

    hint = ("This is Android's own ADB, which wants a trusted computer; TSUF updates through recovery, "
            "which needs none. Reboot the handset into recovery (sideload), then try again.")


class Unauthorized(AdbError):
    """Android's adbd was offered the station's key and its user has not allowed it (yet)."""

    hint = ("Allow USB debugging on the phone: unlock its screen and accept this computer's key "
            "(tick \"Always allow from this computer\"), then try again.")


class ServiceRefused(AdbError):
    """The daemon closed a stream instead of opening it: it has no such service in its state."""


class SideloadError(AdbError):
    """A sideload that did not install the package."""

    hint = _SIDELOAD_MODE


class SideloadUnavailable(SideloadError):
    """The handset is not in sideload mode: it refused the sideload-host service."""


class SideloadRefused(SideloadError):
    """The handset answered FAILFAIL: it checked the package and refused it."""

    hint = ("Use the package signed with this handset's OEM key, built for its product and not older than "
            "the build it runs. The handset keeps its current build.")


class BadBlockRequest(SideloadError):
    """The handset asked for a block the package does not have, or asked in a form ADB does not use."""

    hint = "The handset's recovery misbehaves; reboot it into recovery and try again. It keeps its current build."


class SideloadInterrupted(SideloadError):
    """The link dropped before the handset answered; retrying starts over cleanly.

    `served_all` is true when the handset had been sent every block: it may then
    have installed the package, so check the build it runs before retrying.
    """

    hint = ("Reconnect the handset and run the update again; the handset keeps its current build and "
            "the next attempt starts from the first block.")

    def __init__(self, message: str, hint: str | None = None, *, served_all: bool = False):
        super().__init__(message, hint)
        self.served_all = served_all


class SideloadTimeout(SideloadInterrupted):
    """The handset stayed silent past the deadline."""


class SideloadCancelled(SideloadError):
    """The caller cancelled; the link was closed, so the handset keeps its current build."""

    hint = "Run the update again to install the package."


class PackageUnreadable(SideloadError):
    """The package file cannot be served as it was when the sideload began."""

    hint = "Keep the package file unchanged while it is being sideloaded, then try again."
