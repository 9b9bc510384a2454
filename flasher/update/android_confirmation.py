"""Confirming the new build on a phone, which boots Android and stays there.

Its bootloader cannot say which build runs, so after the switch and reboot the
session waits for the phone's adbd (at the fastboot TCP port + 1, or the same
`usb:SERIAL`), authenticates with the station's key (the phone's user may have
to allow USB debugging: the face shows ALLOW_PROMPT meanwhile), waits for
sys.boot_completed and reads the build. The outcomes:

| what the phone offers | result |
|---|---|
| ADB, the expected build on the new slot, boot completed | SUCCESS; images not read back are "verified boot" |
| ADB, booted on the old slot | ROLLED_BACK |
| ADB, another build, or boot not completed in time | WRONG_BUILD |
| ADB, but its user never allowed this computer | NOT_AUTHORIZED |
| no ADB, but the phone is seen under its serial in Android | BOOTED_NOT_CONFIRMED |
| nothing (a link ADB does not run on, or it never appears) | NOT_CONFIRMED |
"""

import time

from ..adb.client import ANDROID, AdbDevice
from ..adb.errors import Unauthorized
from ..adb.host_key import station_key
from ..adb.transport import adb_address_for
from ..discovery.waiting import poll_until, wait_for_adb
from ..errors import FlasherError
from ..history.codes import Result
from ..transport import usb
from ..transport.address import parse_address
from ..transport.errors import UnsupportedLink

ALLOW_PROMPT = "Allow USB debugging on the phone"
VERIFIED_BOOT = "verified boot: the slot booted with the expected build"
BOOT_POLL = 0.5
SHOWN_PROPERTY = 200
"""A phone's property goes into the report's message cut to this many characters."""


def confirm_through_adb(session, target_slot: str) -> None:
    """Set the session's result from what the phone's ADB says (see the table above).
    `target_slot` is "" when the host does not choose it (recovery installs the update):
    the build alone then tells the new slot from the old."""
    report, build = session.report, session.manifest.build or "the new build"
    installed = f"slot {target_slot} is active and the handset rebooted into it" if target_slot else \
        "installed through recovery and rebooted"
    try:
        address = adb_address_for(session.address)
        key = station_key(session.station.key_folder)
    except FlasherError as exc:
        why = f"over {session.address} there is no ADB to ask" if isinstance(exc, UnsupportedLink) else \
            f"the station's ADB key cannot be used: {exc} ({exc.hint})"
        report.set_result(Result.NOT_CONFIRMED, phase="confirm", message=f"{installed}; {why}, so {build} is not "
                                                                         "confirmed")
        return
    timeout = session.options.return_timeout
    deadline = time.monotonic() + timeout

    def prompt() -> None:
        session.say("WARNING", f"the phone asks whether to trust this computer: {ALLOW_PROMPT}")
        session.show("confirming", ALLOW_PROMPT)
    try:
        with wait_for_adb(address, ANDROID, timeout=timeout, key=key, on_prompt=prompt,
                          on_progress=session.waiting_for("the phone's ADB")) as device:
            _judge(session, device, target_slot, deadline)
    except Unauthorized as exc:
        rerun = "; the update run again from the bootloader then confirms it without writing anything" \
            if target_slot else ", then check the build it runs"
        report.set_result(Result.NOT_AUTHORIZED, phase="confirm",
                          message=f"{installed}, but USB debugging was not allowed for this computer within "
                                  f"{timeout:g} s, so {build} is not confirmed ({ALLOW_PROMPT}{rerun}) [{exc}]")
    except FlasherError as exc:
        if _seen_in_android(session):
            report.set_result(Result.BOOTED_NOT_CONFIRMED, phase="confirm",
                              message=f"the phone booted (it is back as {session.serialno}) but offers no ADB "
                                      f"(USB debugging is off), so {build} is not confirmed")
        else:
            report.set_result(Result.NOT_CONFIRMED, phase="confirm",
                              message=f"{installed}; it offered no ADB within {timeout:g} s ({exc}), so {build} "
                                      "is not confirmed")
    if report.result not in (Result.WRONG_BUILD.name, Result.NOT_AUTHORIZED.name):  # a rerun confirms these
        session.station.journal.clear(session.serialno, session.package_sha256)


def _judge(session, device: AdbDevice, target_slot: str, deadline: float) -> None:
    report, build = session.report, session.manifest.build
    named = build or "the new build"
    serial = device.getprop("ro.serialno")
    if session.report.device_serial and serial and serial != session.report.device_serial:
        report.set_result(Result.WRONG_BUILD, phase="confirm",
                          message=f"another handset ({serial[:SHOWN_PROPERTY]}) answered at {device.address}")
        return
    completed = poll_until(lambda _left: device.getprop("sys.boot_completed") == "1" or None,
                           timeout=max(deadline - time.monotonic(), 0.0), poll=BOOT_POLL,
                           on_progress=session.waiting_for("Android to finish booting")) is not None
    running, fingerprint, slot = (device.getprop(name)[:SHOWN_PROPERTY] for name in
                                  ("ro.build.version.incremental", "ro.build.fingerprint", "ro.boot.slot_suffix"))
    slot = slot.removeprefix("_")
    session.say("INFO", f"the phone runs {fingerprint or running or 'an unknown build'} on slot {slot or '?'}"
                        f"{'' if completed else ', boot not completed'}")
    target_slot = target_slot or slot
    report.to_slot = report.to_slot or slot
    if (slot and slot == report.from_slot and slot != target_slot) or \
            (build and running != build and running and running == report.from_build):
        report.set_result(Result.ROLLED_BACK, phase="confirm",
                          message=f"{named} did not boot; the phone fell back to {running or 'its old build'} "
                                  f"on slot {slot or '?'}")
    elif (build and running != build) or (slot and slot != target_slot):
        report.set_result(Result.WRONG_BUILD, phase="confirm",
                          message=f"came back on slot {slot or '?'} running {running or 'an unknown build'}")
    elif not completed:
        report.set_result(Result.WRONG_BUILD, phase="confirm",
                          message=f"{named} started on slot {target_slot} but its boot did not complete in time")
    elif not build:
        report.set_result(Result.BOOTED_NOT_CONFIRMED, phase="confirm",
                          message=f"slot {target_slot} booted and runs {fingerprint or running or 'a build'}; the "
                                  "images state no build to compare it with")
    else:
        for target, method in report.verification.items():
            if method != "read back":
                report.verification[target] = VERIFIED_BOOT
        report.set_result(Result.SUCCESS, message=f"running {build} on slot {target_slot}, confirmed through ADB "
                                                  f"({fingerprint})")


def _seen_in_android(session) -> bool:
    """The phone is on USB under its serial, neither in fastboot nor answering ADB: Android with
    USB debugging off (it shows as a media device). Other links cannot see it."""
    if parse_address(session.address).scheme != "usb" or not session.report.device_serial:
        return False
    try:
        return usb.seen_outside_fastboot(session.report.device_serial)
    except FlasherError:
        return False
