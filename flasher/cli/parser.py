"""The `tsuf` argument parser: every command and its options, built one command at a time.

Start-up time matters (a flash is a process of its own), so `build_parser(command)`
builds only the command a command line names and lists the others by name.
"""

import argparse

from .. import __version__
from ..virtual.families.names import FAMILY_NAMES
from .arguments import (folder, input_file, integer, iso_date, package_kinds, plain_name, positive_float, products,
                        seconds)

PORT = integer(0, 65535)
# Handsets on one station, at once or in an emulator: far above any bench, far below what exhausts it.
MAX_HANDSETS = 256
MAX_LIMIT = 10**9

# A subcommand's own --json must not reset the global one when it is not given.
JSON_FLAG = {"action": "store_true", "default": argparse.SUPPRESS, "help": "print results as JSON"}


class _OneCommandBuilt(argparse._SubParsersAction):
    """Builds the arguments of one command only (`wanted`), and lists the others by name and help.

    Start-up time: a command line names one command, and building all of them
    costs more than connecting to a handset."""

    wanted: str | None = None

    def add_parser(self, name, **kwargs):
        if self.wanted in (None, name):
            return super().add_parser(name, **kwargs)
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), kwargs.get("help")))
        self._name_parser_map[name] = None  # listed in a typo's error; never parsed on this run
        return _UNBUILT


class _Unbuilt:
    """Stands in for a command not named on the command line: takes its arguments, keeps none."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: self


_UNBUILT = _Unbuilt()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `command` one that builds only that command's arguments."""
    parser = argparse.ArgumentParser(
        prog="tsuf", description="Flash and update Android handsets over fastboot.")
    if command is not None:
        parser.register("action", "parsers", type("_Only", (_OneCommandBuilt,), {"wanted": command}))
    parser.add_argument("--version", action="version", version=f"tsuf {__version__}")
    parser.add_argument("-s", dest="address", metavar="ADDRESS", action="append",
                        help="device address: tcp:HOST[:PORT], udp:HOST[:PORT], usb:SERIAL or serial:PORT "
                             "(default from $TSUF_DEVICE); repeat for `update` on several handsets")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    getvar = commands.add_parser("getvar", help="read a device variable, or all of them")
    getvar.add_argument("name", help="variable name, or 'all'")
    _add_deadline_options(getvar)

    flash = commands.add_parser("flash", help="write an image (raw or sparse) to a partition")
    flash.add_argument("partition")
    flash.add_argument("file")
    flash.add_argument("--slot", choices=("a", "b", "other"),
                       help="slot to write (default: the active slot)")
    flash.add_argument("--no-fill", action="store_true",
                       help="send constant blocks as data, for old bootloaders that reject FILL chunks")
    flash.add_argument("--disable-verity", action="store_true",
                       help="vbmeta: set the header's flag that turns dm-verity off, as the stock client does "
                            "(an unlocked bootloader honours it)")
    flash.add_argument("--disable-verification", action="store_true",
                       help="vbmeta: set the header's flag that turns verification of the other images off")
    _add_deadline_options(flash)

    erase = commands.add_parser("erase", help="erase a partition")
    erase.add_argument("partition")
    erase.add_argument("--slot", choices=("a", "b", "other"))
    _add_deadline_options(erase)

    set_active = commands.add_parser("set-active", help="make a slot the one that boots next")
    set_active.add_argument("slot", choices=("a", "b"))
    _add_deadline_options(set_active)

    reboot = commands.add_parser("reboot", help="reboot the device")
    reboot.add_argument("target", nargs="?", choices=("bootloader", "fastboot", "recovery", "edl"),
                        help="where to: the bootloader, fastbootd, recovery, or Qualcomm's emergency download mode")
    _add_deadline_options(reboot)

    _add_bootloader_commands(commands)

    fetch = commands.add_parser("fetch", help="read a partition back into a file")
    fetch.add_argument("partition")
    fetch.add_argument("file")
    fetch.add_argument("--slot", choices=("a", "b", "other"))
    _add_deadline_options(fetch)

    emulator = commands.add_parser("emulator", help="run virtual handsets until interrupted")
    emulator.add_argument("--tcp", type=PORT, default=5554, metavar="PORT",
                          help="port of the first handset (default 5554; 0 picks free ports)")
    emulator.add_argument("--udp", type=PORT, metavar="PORT",
                          help="also serve fastboot over UDP from this port (0 picks free ports)")
    emulator.add_argument("--serial", action="store_true",
                          help="also serve each handset on a pseudo-terminal: AT port and download mode (Linux)")
    emulator.add_argument("--adb", action="store_true",
                          help="also serve recovery's ADB (sideload) on each handset's port + 1; handsets then "
                               "take two ports each")
    emulator.add_argument("--adb-keys", choices=("off", "allow", "ask"), default="off",
                          help="USB debugging in Android, on families that stay there (qualcomm, fastbootd, ...): "
                               "off (default: no adbd), allow (the user allows every new computer's key), ask "
                               "(the phone asks and nobody answers); allow and ask imply --adb")
    emulator.add_argument("--mode", choices=("bootloader", "fastbootd", "recovery", "sideload"),
                          help="power the handsets on in this mode (default: the family's; recovery and sideload "
                               "imply --adb)")
    emulator.add_argument("--family", choices=FAMILY_NAMES,
                          help="whose fastboot the handsets speak: reference (default, TSUF's own), uboot, barebox, "
                               "fastbootd, fastbootd-userdebug, qualcomm (see docs/real-handsets.md)")
    emulator.add_argument("--count", type=integer(1, MAX_HANDSETS), default=1, help="number of handsets")
    emulator.add_argument("--storage", type=folder, metavar="DIR", help="folder for the handsets' partitions")
    emulator.add_argument("--profile", type=input_file, metavar="FILE", help="device profile (JSON)")
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on")
    emulator.add_argument("--oem-key", type=input_file, metavar="PUB.pem",
                          help="the manufacturer's public key: handsets boot only builds signed with it (package "
                               "build --oem-key) and report the build they run, so `update --latest` can choose")
    emulator.add_argument("--locked", action="store_true",
                          help="handsets leave the factory with a locked bootloader (as end users' phones do)")
    emulator.add_argument("--fault", action="append", default=[], metavar="KIND:ARGUMENT",
                          help="inject a fault into every handset: stall:flash:system=2, fail:set_active=busy, "
                               "drop-on:fetch:=2, drop-after:BYTES, discard:system_b, boot-fails:b, "
                               "line-errors:BYTES, answer:serialno=VALUE")

    devices = commands.add_parser("devices", help="list the handsets in reach on USB, network and serial links")
    devices.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print them as JSON")
    devices.add_argument("--watch", action="store_true",
                         help="print arrivals (+) and departures (-) as they happen, until Ctrl-C")
    devices.add_argument("--targets", type=input_file, metavar="FILE",
                         help="file of network addresses to probe, one per line or a JSON list (default: the file "
                              "named by $TSUF_TARGETS)")

    doctor = commands.add_parser("doctor", help="explain why a handset may not be seen")
    doctor.add_argument("--targets", type=input_file, metavar="FILE", help="network addresses to probe, as for devices")

    demo = commands.add_parser("demo", help="update virtual handsets from start to finish")
    demo.add_argument("--count", type=integer(1, MAX_HANDSETS), default=4,
                      help="number of virtual handsets (default 4), and one locked on USB when usb is a link")
    demo.add_argument("--links", default="tcp,usb,udp,serial",
                      help="links the handsets use, taken in turn (default tcp,usb,udp,serial)")
    demo.add_argument("--storage", type=folder, metavar="DIR", help="keep the handsets in this folder")

    gui = commands.add_parser("gui", help="start the desktop app")
    gui.add_argument("package", nargs="?", help="signed package to open at start")
    gui.add_argument("--demo", action="store_true",
                     help="start with virtual handsets on every link and the signed demo package open")
    gui.add_argument("--guided", action="store_true",
                     help="one phone, four plain steps (connect, check, download, install), for end users; "
                          "with --demo, on one virtual phone")
    gui.add_argument("--count", type=integer(1, MAX_HANDSETS), default=4,
                     help="unlocked virtual handsets with --demo (default 4), beside the locked one on USB")
    gui.add_argument("--parallel", type=integer(1, MAX_HANDSETS), default=4, metavar="N", help="handsets updated at once (default 4)")

    server = commands.add_parser("server", help="keep one tsuf process ready so each command starts at once "
                                                "(for stations and scripts that run many commands)")
    server_commands = server.add_subparsers(dest="server_command", required=True)
    for name, help_ in (("start", "start the resident tsuf in the background"),
                        ("run", "run it in the foreground (a terminal, a service manager)")):
        serving = server_commands.add_parser(name, help=help_)
        serving.add_argument("--idle-minutes", type=integer(1, 7 * 24 * 60), default=8 * 60, metavar="N",
                             help="stop after N minutes without a command (default 480)")
    server_commands.add_parser("stop", help="stop it; commands then run in their own process again")
    server_commands.add_parser("status", help="say whether it runs (exit 3 when it does not)")

    _add_station_commands(commands)
    _add_key_commands(commands)
    _add_package_commands(commands)
    _add_cache_commands(commands)
    _add_catalog_commands(commands)
    _add_payload_commands(commands)
    return parser


def _add_bootloader_commands(commands) -> None:
    """The stock client's other verbs (flasher/cli/bootloader_commands.py)."""
    oem = commands.add_parser("oem", help="send an OEM command, as `fastboot oem ...`")
    oem.add_argument("words", nargs="+", metavar="WORD", help="the command and its arguments")
    _add_deadline_options(oem)
    flashing = commands.add_parser("flashing", help="unlock or lock the bootloader (erases the user's data), or "
                                                    "ask whether it may be unlocked")
    flashing.add_argument("action", choices=("unlock", "lock", "unlock_critical", "lock_critical",
                                             "get_unlock_ability"))
    _add_deadline_options(flashing)
    boot = commands.add_parser("boot", help="send an image and boot it once, without writing it")
    boot.add_argument("file", type=input_file, metavar="IMG")
    _add_deadline_options(boot)
    go_on = commands.add_parser("continue", help="leave fastboot and go on booting")
    _add_deadline_options(go_on)
    wipe = commands.add_parser("wipe", help="erase the user's data (userdata, cache, metadata where present); "
                                            "`tsuf -w` alone does the same, as `fastboot -w`")
    _add_deadline_options(wipe)
    format_ = commands.add_parser("format", help="make a new empty file system on a partition (ext4, made with "
                                                 "mke2fs), as `fastboot format`")
    format_.add_argument("partition")
    format_.add_argument("--fs-type", choices=("ext4",), help="the file system (default: the handset's "
                                                               "partition-type)")
    format_.add_argument("--slot", choices=("a", "b", "other"))
    _add_deadline_options(format_)
    flashall = commands.add_parser("flashall", help="flash every image of a build folder whose name is a partition "
                                                    "of the handset, then reboot")
    flashall.add_argument("folder", nargs="?", metavar="DIR", help="folder of NAME.img (default $ANDROID_PRODUCT_OUT)")
    flashall.add_argument("--slot", choices=("a", "b", "other"), help="slot to write (default: the active slot)")
    flashall.add_argument("-w", dest="wipe", action="store_true", help="also erase the user's data")
    flashall.add_argument("--skip-reboot", action="store_true", help="stay in the bootloader afterwards")
    flashall.add_argument("--skip-secondary", action="store_true",
                          help="leave the other slot alone: no NAME_other.img")
    _add_deadline_options(flashall)


def _add_deadline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=seconds, default=30.0, metavar="SECONDS",
                        help="longest a handset may stay silent before the command fails (default 30)")
    parser.add_argument("--deadline", type=seconds, metavar="SECONDS",
                        help="longest one device command may run, however busy the handset says it is "
                             "(default 120; flash and erase 1200)")


def _add_trust_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust-store", type=folder, metavar="DIR",
                        help="folder of trusted public keys (default: $TSUF_TRUST_STORE, else 'trust' "
                             "in the user's config folder)")


def _add_station_commands(commands) -> None:
    update = commands.add_parser("update", help="update handsets with a signed package, a vendor OTA or factory "
                                                "images (A/B, verified)")
    update.add_argument("package", nargs="?",
                        help="signed package (.zip), a vendor OTA zip (payload.bin), or factory images (the zip with "
                             "android-info.txt); or --latest")
    update.add_argument("--unsigned-factory-images", action="store_true",
                        help="flash factory images, which nobody signed for TSUF, without asking (only as the "
                             "manufacturer published them)")
    update.add_argument("--otacert", action="store_true",
                        help="for a vendor OTA: trust the certificate inside the OTA zip itself (only for a zip "
                             "from the manufacturer; the trust store's OEM certificates are asked first)")
    update.add_argument("--latest", action="store_true",
                        help="choose each handset's package from the library and the catalog: the newest build, "
                             "as a delta when one applies (docs/catalog.md)")
    update.add_argument("--catalog", metavar="URL",
                        help="with --latest: signed catalog (http(s) URL, file or folder; default: the settings' "
                             "catalog, $TSUF_CATALOG)")
    update.add_argument("--dry-run", action="store_true", help="check everything and show the plan; write nothing")
    update.add_argument("--full", metavar="PACKAGE",
                        help="full package to use for handsets a delta package cannot be applied to")
    _add_update_run_options(update)

    _add_ddi_commands(commands)

    history = commands.add_parser("history", help="past update attempts: this station's, or the lab's shared "
                                                  "history; --summary for the lab summary")
    output = history.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="print CSV")
    output.add_argument("--json", **JSON_FLAG)
    for option, meta in (("--serial", "SERIAL"), ("--product", "PRODUCT"), ("--result", "RESULT"),
                         ("--station", "ID")):
        history.add_argument(option, metavar=meta)
    history.add_argument("--since", type=iso_date, metavar="DATE",
                         help="attempts started at or after this UTC date or time (2026-01-31, 2026-01-31T12:00:00Z)")
    history.add_argument("--until", type=iso_date, metavar="DATE", help="attempts started before this UTC date or time")
    history.add_argument("--limit", type=integer(1, MAX_LIMIT), metavar="N", help="the newest N attempts at most")
    history.add_argument("--deliver", action="store_true", help="send waiting reports to the backend now")
    history.add_argument("--summary", action="store_true",
                         help="attempts, success rate, median time and throughput per product, station and day; "
                              "the top failure codes")
    source = history.add_mutually_exclusive_group()
    source.add_argument("--history", metavar="URL",
                        help="read the lab's shared history at postgresql://USER@HOST[:PORT]/DATABASE "
                             "(default: the settings' history URL)")
    source.add_argument("--local", action="store_true", help="read this station's own history")

    settings = commands.add_parser("settings", help="show or change this station's settings")
    settings.add_argument("--station", metavar="ID", help="station id written into every report")
    settings.add_argument("--backend", metavar="URL", help="HTTP endpoint that receives reports ('' for none)")
    settings.add_argument("--backend-token-file", type=input_file, metavar="FILE",
                          help="file holding the backend's bearer token")
    settings.add_argument("--battery-unknown", choices=("allow", "refuse"),
                          help="station mode (the app) updates handsets that do not report their battery; "
                               "refused by default")
    settings.add_argument("--backend-plain-http", choices=("allow", "refuse"),
                          help="send the token over plain http to another machine (a lab LAN without TLS); "
                               "refused by default")
    settings.add_argument("--history", metavar="URL",
                          help="lab's shared history, postgresql://USER@HOST[:PORT]/DATABASE: reports are "
                               "delivered to it and `tsuf history` reads it ('' for none)")
    settings.add_argument("--backend-ca", metavar="FILE",
                          help="CA certificate (PEM) the backend's HTTPS certificate is checked against")
    settings.add_argument("--catalog", metavar="URL",
                          help="signed update catalog for `update --latest`: http(s) URL, file or folder ('' for none)")
    settings.add_argument("--ddi", metavar="URL",
                          help="rollout server speaking hawkBit DDI, https://HOST/TENANT: reports go to it, "
                               "`tsuf ddi poll` takes its assignments ('' for none)")
    settings.add_argument("--ddi-token-file", type=input_file, metavar="FILE",
                          help="file holding the rollout server's gateway token (or the secret per-handset "
                               "tokens are made from)")
    settings.add_argument("--ddi-auth", choices=("gateway", "target"),
                          help="one gateway token for every handset, or a target token per handset")


def _add_ddi_commands(commands) -> None:
    ddi = commands.add_parser("ddi", help="updates a rollout server (hawkBit DDI) assigns to the handsets")
    ddi_commands = ddi.add_subparsers(dest="ddi_command", metavar="ACTION", required=True)
    poll = ddi_commands.add_parser("poll", help="ask the server about each handset (-s, else every one in reach) "
                                                "and carry out what it assigns")
    poll.add_argument("--every", type=seconds, metavar="SECONDS",
                      help="keep polling at this interval until interrupted (station mode)")
    poll.add_argument("--targets", type=input_file, metavar="FILE",
                      help="network addresses to probe without -s, as for devices (default: $TSUF_TARGETS)")
    _add_update_run_options(poll)


def _add_update_run_options(parser: argparse.ArgumentParser) -> None:
    """How updates run, for `update` and for the updates a rollout server assigns."""
    parser.add_argument("--no-reboot", action="store_true", help="switch slots but do not reboot")
    parser.add_argument("--force-without-backup", action="store_true",
                        help="handsets without slots: update even if their partitions cannot be backed up first")
    parser.add_argument("--parallel", type=integer(1, MAX_HANDSETS), default=8, metavar="N",
                        help="handsets updated at once (default 8)")
    parser.add_argument("--return-timeout", type=seconds, default=120.0, metavar="SECONDS",
                        help="how long to wait for each handset after its reboot, a phone's user allowing USB "
                             "debugging included (default 120)")
    _add_deadline_options(parser)
    parser.add_argument("--json", **JSON_FLAG)
    _add_trust_store_option(parser)


def _add_key_commands(commands) -> None:
    keys = commands.add_parser("keys", help="signing keys and the trust store")
    if keys is _UNBUILT:
        return  # another command: not worth importing the package roles (25 ms)
    from ..package.roles import MAX_THRESHOLD, ROLES
    key_commands = keys.add_subparsers(dest="keys_command", metavar="KEYS_COMMAND", required=True)
    generate = key_commands.add_parser("generate", help="make a key pair: NAME.pem (private) and NAME.pub.pem")
    generate.add_argument("name", type=plain_name)
    generate.add_argument("--algorithm", choices=("ed25519", "ecdsa-p256"), default="ed25519")
    generate.add_argument("--out", type=folder, metavar="DIR", default=".", help="folder for the key files (default: here)")
    import_key = key_commands.add_parser("import", help="trust a public key (PEM), for everything unless scoped")
    import_key.add_argument("pem", type=input_file)
    _add_scope_options(import_key)
    _add_trust_store_option(import_key)
    scope = key_commands.add_parser("scope", help="change what a trusted key may sign")
    scope.add_argument("key_id")
    _add_scope_options(scope)
    _add_trust_store_option(scope)
    threshold = key_commands.add_parser("threshold", help="how many keys in scope must sign a package or a catalog")
    threshold.add_argument("role", choices=ROLES)
    threshold.add_argument("count", type=integer(1, MAX_THRESHOLD))
    _add_trust_store_option(threshold)
    list_keys = key_commands.add_parser("list", help="list the trusted keys, their scopes and the thresholds")
    _add_trust_store_option(list_keys)
    remove = key_commands.add_parser("remove", help="stop trusting a key (revoke it)")
    remove.add_argument("key_id")
    _add_trust_store_option(remove)


def _add_scope_options(parser: argparse.ArgumentParser) -> None:
    # Left out, an option keeps the key's scope as it is (on import: everything).
    parser.add_argument("--products", type=products, metavar="P1,P2", default=argparse.SUPPRESS,
                        help="products whose packages the key may sign, or 'any' (default on import: any)")
    parser.add_argument("--kinds", type=package_kinds, metavar="KINDS", default=argparse.SUPPRESS,
                        help="package kinds it may sign: full, delta, sideload, or 'none' (default on import: all)")
    parser.add_argument("--catalogs", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                        help="whether it may sign catalogs (default on import: yes)")


def _add_package_commands(commands) -> None:
    package = commands.add_parser("package", help="build, inspect and verify signed update packages")
    package_commands = package.add_subparsers(dest="package_command", metavar="PACKAGE_COMMAND", required=True)
    build = package_commands.add_parser("build", help="build and sign a package")
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=folder, metavar="DIR", help="folder of <partition>.img files")
    source.add_argument("--from-update-zip", type=input_file, metavar="ZIP", help="Android update zip with android-info.txt")
    source.add_argument("--target", metavar="NEW", help="delta package: the new build (folder of images or full package)")
    build.add_argument("--source", metavar="OLD", help="delta package: the build it applies to (folder or full package)")
    build.add_argument("--source-build", metavar="BUILD", help="delta package: the source build's name, for a folder")
    build.add_argument("--workers", type=integer(1, 1024), metavar="N", help="delta package: windows diffed at once (default: cores)")
    build.add_argument("--describe", type=input_file, metavar="FILE.json",
                       help="product, build, rollback index... (required unless the target is a package)")
    build.add_argument("--key", type=input_file, metavar="PRIVATE.pem", action="append", required=True,
                       help="signing key; repeat to sign with several keys")
    build.add_argument("--oem-key", type=input_file, metavar="PRIVATE.pem", help="also make boot metadata (vbmeta) signed by this key")
    build.add_argument("--install", choices=("fastboot", "sideload"), default="fastboot",
                       help="sideload: a package recovery installs (locked handsets); sign it with the OEM key")
    build.add_argument("-o", "--output", metavar="OUT.zip", required=True)
    build.add_argument("--json", **JSON_FLAG)
    _add_trust_store_option(build)
    # SUPPRESS keeps the global `tsuf --json` when the subcommand's flag is absent.
    inspect = package_commands.add_parser("inspect", help="show what a package holds and who signed it")
    inspect.add_argument("package")
    inspect.add_argument("--json", **JSON_FLAG)
    _add_trust_store_option(inspect)
    verify = package_commands.add_parser("verify", help="check signature, archive and every image hash")
    verify.add_argument("package")
    verify.add_argument("--json", **JSON_FLAG)
    _add_trust_store_option(verify)


def _add_payload_commands(commands) -> None:
    payload = commands.add_parser("payload", help="inspect and extract Android A/B OTA packages (payload.bin)")
    payload_commands = payload.add_subparsers(dest="payload_command", metavar="PAYLOAD_COMMAND", required=True)
    inspect = payload_commands.add_parser("inspect", help="partitions, operations, hashes and signature of an OTA")
    extract = payload_commands.add_parser("extract", help="build partition images from an OTA, every hash checked")
    for command in (inspect, extract):
        command.add_argument("ota", metavar="OTA", type=input_file, help="OTA zip or payload.bin")
        command.add_argument("--properties", type=input_file, metavar="FILE",
                             help="payload_properties.txt, for a bare payload.bin (an OTA zip carries its own)")
        command.add_argument("--otacert", action="store_true",
                             help="also check the signature with the certificate inside the OTA zip (trusts "
                                  "whoever made the zip: only for a zip from a source you trust)")
        command.add_argument("--deadline", type=seconds, metavar="SECONDS",
                             help="longest the command may run (default: no limit)")
        command.add_argument("--json", **JSON_FLAG)
        _add_trust_store_option(command)
    extract.add_argument("partitions", nargs="*", metavar="PARTITION", help="partitions to extract (default: all)")
    extract.add_argument("--out", type=folder, metavar="DIR", required=True, help="folder for the NAME.img files")
    extract.add_argument("--source-dir", type=folder, metavar="DIR",
                         help="incremental OTA: the source build's images (NAME.img)")
    trust = payload_commands.add_parser("trust", help="trust a maker's OTA certificate (otacert) for OTA payloads")
    trust.add_argument("certificate", metavar="CERT.pem", type=input_file, help="X.509 certificate or public key")
    certificates = payload_commands.add_parser("certificates", help="list the OEM certificates trusted for OTAs")
    untrust = payload_commands.add_parser("untrust", help="stop trusting an OEM certificate")
    untrust.add_argument("key_id", metavar="KEY_ID")
    for command in (trust, certificates, untrust):
        command.add_argument("--json", **JSON_FLAG)
        _add_trust_store_option(command)


def _add_catalog_commands(commands) -> None:
    catalog = commands.add_parser("catalog", help="build and show signed update catalogs")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", metavar="CATALOG_COMMAND", required=True)
    build = catalog_commands.add_parser("build",
                                        help="sign a catalog of packages and vendor OTAs, for a web server or a folder")
    build.add_argument("packages", nargs="+", metavar="PACKAGE",
                       help="signed packages and vendor OTA zips (payload.bin) to list")
    build.add_argument("--key", type=input_file, metavar="PRIVATE.pem", action="append", required=True,
                       help="signing key; repeat to sign with several keys")
    build.add_argument("-o", "--output", metavar="catalog.json", required=True,
                       help="the catalog file; packages are listed by their path from its folder")
    build.add_argument("--version", type=integer(1, (1 << 32) - 1), metavar="N",
                       help="catalog version (default: one more than the catalog replaced, at least the Unix time)")
    build.add_argument("--expires-in", type=positive_float(3650, "days"), default=30.0, metavar="DAYS",
                       help="days until stations refuse the catalog as stale (default 30)")
    build.add_argument("--base-url", metavar="URL", help="list packages under this URL instead of relative paths")
    build.add_argument("--json", **JSON_FLAG)
    _add_trust_store_option(build)
    show = catalog_commands.add_parser("show", help="fetch, verify and list a catalog")
    show.add_argument("location", nargs="?", metavar="URL",
                      help="http(s) URL, file or folder (default: the settings' catalog)")
    show.add_argument("--json", **JSON_FLAG)
    _add_trust_store_option(show)

    library = commands.add_parser("library", help="local folders of packages, indexed for update --latest")
    library_commands = library.add_subparsers(dest="library_command", metavar="LIBRARY_COMMAND", required=True)
    add = library_commands.add_parser("add", help="add a folder to the library and index it")
    add.add_argument("folder", type=folder)
    _add_trust_store_option(add)
    remove = library_commands.add_parser("remove", help="take a folder out of the library")
    remove.add_argument("folder", type=folder)
    list_library = library_commands.add_parser("list", help="the library's folders and packages")
    list_library.add_argument("--json", **JSON_FLAG)
    scan = library_commands.add_parser("scan", help="index the folders and the firmware cache again")
    scan.add_argument("--json", **JSON_FLAG)
    _add_trust_store_option(scan)


def _add_cache_commands(commands) -> None:
    cache = commands.add_parser("cache", help="the local firmware cache (sources for delta packages)")
    cache_commands = cache.add_subparsers(dest="cache_command", metavar="CACHE_COMMAND", required=True)
    list_cache = cache_commands.add_parser("list", help="list the cached images and packages, most recently used first")
    list_cache.add_argument("--json", **JSON_FLAG)
    add = cache_commands.add_parser("add", help="copy an image or package into the cache")
    add.add_argument("file", type=input_file)
    prune = cache_commands.add_parser("prune", help="evict least recently used entries to fit a size")
    prune.add_argument("--max-size", metavar="SIZE", help="e.g. 8G, 500M, 1048576 (default: the cache's limit)")
