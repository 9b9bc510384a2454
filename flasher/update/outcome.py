"""How an update session ends when something goes wrong: its errors, and the report's code for any error."""

from ..delta.errors import DeltaSourceMismatch, PatchRejected
from ..fastboot import BootloaderLocked, SwitchIgnored
from ..discovery.waiting import HandsetNotFound
from ..errors import FlasherError
from ..history.codes import Result
from ..package.errors import PackageError
from ..protocol.errors import CommandFailed, ProtocolError
from ..transport.errors import LinkClosed, LinkTimeout, TransportError
from . import dynamic, preflight, sideload_path


class Cancelled(FlasherError):
    hint = "The active slot was not touched; run the update again to finish it."


class VerifyFailed(FlasherError):
    hint = ("The handset did not store what was sent; it stays on its current slot. "
            "Run the update again; if it fails twice the handset's storage may be failing.")


def result_for(error: FlasherError, phase: str) -> Result:
    if isinstance(error, preflight.PreflightRefused):
        return error.result
    if isinstance(error, VerifyFailed):
        return Result.VERIFY_FAILED
    if isinstance(error, DeltaSourceMismatch):
        return Result.DELTA_SOURCE_MISMATCH
    if isinstance(error, PatchRejected):
        return Result.PATCH_REJECTED
    if isinstance(error, PackageError):
        return Result.PACKAGE_CORRUPT
    if isinstance(error, HandsetNotFound):  # not back after a reboot, in the mode the session waited for
        return Result.DID_NOT_RETURN
    if isinstance(error, dynamic.NoUserspaceFastboot):
        return Result.DEVICE_REFUSED
    if sideload := sideload_path.result_for(error):
        return sideload
    if isinstance(error, LinkClosed):
        return Result.LINK_LOST
    if isinstance(error, LinkTimeout):
        return Result.LINK_TIMEOUT
    if isinstance(error, TransportError):  # could not connect, or the handshake failed
        return Result.LINK_LOST
    if isinstance(error, ProtocolError):
        return Result.PROTOCOL_VIOLATION
    if isinstance(error, SwitchIgnored):
        return Result.SWITCH_FAILED
    if isinstance(error, BootloaderLocked):
        return Result.NEEDS_UNLOCK
    if isinstance(error, CommandFailed):
        return {"write": Result.WRITE_FAILED, "switch": Result.SWITCH_FAILED}.get(phase, Result.DEVICE_REFUSED)
    return Result.INTERNAL_ERROR
