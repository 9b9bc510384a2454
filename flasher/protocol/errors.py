"""Errors raised when a peer breaks the fastboot protocol, or a command fails."""

from ..errors import FlasherError

_RECONNECT = "Unplug and reconnect the handset (or restart its bootloader) and try again."


class ProtocolError(FlasherError):
    """The peer sent something the fastboot protocol does not allow.

    The connection is unusable afterwards: the two sides no longer agree on
    where one packet ends and the next begins.
    """

    hint = _RECONNECT


class ResponseTooLong(ProtocolError):
    """A response packet was longer than the 256 bytes fastboot allows."""


class MalformedResponse(ProtocolError):
    """A response did not start with a known status, or its fields were garbage."""


class UnexpectedData(ProtocolError):
    """The device started a data phase the command does not have."""


class DataSizeMismatch(ProtocolError):
    """A data phase's announced size broke the command's bound, or the data overran it."""


class TooManyInfo(ProtocolError):
    """The device kept sending INFO lines without ever finishing the command."""


class CommandTooLong(FlasherError):
    """A command is longer than the device's command buffer."""

    hint = "Use a shorter partition or variable name."


class UsageError(FlasherError):
    """The host used the protocol out of order (a bug in the caller)."""


class CommandFailed(FlasherError):
    """The device answered FAIL."""

    hint = "Read the device's message above; the handset was not changed by this command."

    def __init__(self, command: str, reason: str, hint: str | None = None):
        super().__init__(f"{command}: device refused: {reason or '(no reason given)'}", hint)
        self.command = command
        self.reason = reason
