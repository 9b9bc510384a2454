"""Every sentence the guided mode shows, in plain words. No Qt here.

One module, so the wording stays consistent and tests can read all of it: an end
user never meets "slot", "fastboot" or "sparse" unless they open the details.
Each function returns the `Page` the window shows for one moment of one step.
"""

from dataclasses import dataclass

from flasher.catalog.errors import CatalogError, DownloadError, DownloadFailed
from flasher.errors import FlasherError
from flasher.history.codes import Result
from flasher.package.errors import BadSignature, PackageError, UnsignedPackage, UntrustedPackage
from flasher.selection.choose import NoUpdateFor, OnlyForUnlocked, size_text
from flasher.transport.errors import TransportError
from flasher.update.android_confirmation import ALLOW_PROMPT
from flasher.update.session import Cancelled

STEPS = ("Connect", "Check", "Download", "Install")
CONNECT, CHECK, DOWNLOAD, INSTALL = 1, 2, 3, 4

# Words that belong to the technical log only; tests hold every page to this.
JARGON = ("slot", "fastboot", "sparse", "partition", "bootloader", "preflight", "sideload", "delta", "rollback",
          "vbmeta", "flash", "adb", "recovery", "manifest", "hash", "sha256", "catalog", "package", "serial")

CABLE = "Keep the cable plugged in"
SUPPORT = "If it happens again, contact support and show them the details (press “Show details”)."
KEPT = "Nothing was changed on your phone."
# A user's first fear after a failure: said whenever the attempt stopped before the phone was set to
# start the new software.
STILL_WORKS = "Your phone still works with its old software, as before."


@dataclass(frozen=True)
class Page:
    step: int  # 1 to 4: the step the indicator shows as current
    title: str
    body: str
    instruction: str = ""  # what to do, or what to keep in mind, in a box of its own
    button: str = ""  # the primary button; "" hides it
    secondary: str = ""  # a quieter second choice (stop, start over); "" hides it
    tone: str = "info"  # info, busy, problem, success: the colour of the instruction box and the step
    progress: tuple[int, int] | None = None  # (done, total); (0, 0) is busy without figures
    progress_text: str = ""
    code: str = ""  # "Code 301": what a user reads out to support

    @property
    def texts(self) -> list[str]:
        """What a user reads on this page (tests check it for jargon)."""
        return [self.title, self.body, self.instruction, self.button, self.secondary, self.progress_text]


# -- 1 Connect -------------------------------------------------------------------------

def waiting_for_phone() -> Page:
    return Page(CONNECT, "Connect your phone", "Plug your phone into this computer with its USB cable.",
                "If your phone is not found after a few seconds, turn it off, then hold the Volume Down and "
                "Power keys together until it shows a menu, and leave it on that screen.",
                tone="busy", progress=(0, 0), progress_text="Looking for your phone…")


def several_phones(count: int) -> Page:
    return Page(CONNECT, "More than one phone is connected",
                f"{count} phones are plugged into this computer. This window updates one phone at a time.",
                "Unplug every phone except the one you want to update.", tone="problem")


def phone_not_ready() -> Page:
    return Page(CONNECT, "Your phone is connected but not ready",
                "Your phone needs to be on its update screen before it can be updated.",
                "Turn it off, then hold the Volume Down and Power keys together until it shows a menu, and "
                "leave it on that screen.", tone="problem")


def phone_found(model: str | None) -> Page:
    return Page(CONNECT, "Your phone is connected", "Found your phone" + (f" (model {model})." if model else "."),
                f"{CABLE} from now on.", button="Check for an update")


# -- 2 Check ---------------------------------------------------------------------------

def checking() -> Page:
    return Page(CHECK, "Checking for an update", "Looking for the newest software for your phone…",
                CABLE + ".", tone="busy", progress=(0, 0))


def battery_low(percent: int | None, needed: int) -> Page:
    level = f"Your phone's battery is at about {percent} %." if percent is not None else \
        "Your phone says its battery is too low."
    return Page(CHECK, "Charge your phone first", f"{level} Charge it to at least {needed} % first.",
                "Leave it charging for a while (you can keep it plugged into this computer), then press "
                "“Check again”.", button="Check again", tone="problem")


def update_found(current: str, new: str, size: int, *, on_this_computer: bool, battery: int | None) -> Page:
    """Nothing to download when the update is already on this computer: the button says what happens."""
    charge = f"Battery: about {battery} %. " if battery is not None else ""
    if on_this_computer:
        return Page(CHECK, "An update is available",
                    f"Your phone runs {current}. The newest software is {new}. It is already on this computer.",
                    f"{charge}{CABLE} while the update is made ready.", button="Get the update ready")
    return Page(CHECK, "An update is available",
                f"Your phone runs {current}. The newest software is {new}. The download is {size_text(size)}.",
                f"{charge}{CABLE} while the update downloads.", button="Download the update")


def up_to_date(build: str) -> Page:
    return Page(CHECK, "Your phone is up to date",
                f"Your phone already runs the newest software ({build}). There is nothing to install.",
                "You can unplug it now.", button="Done", secondary="Update another phone", tone="success")


# -- 3 Download ------------------------------------------------------------------------

def downloading(done: int, total: int) -> Page:
    return Page(DOWNLOAD, "Downloading the update", "Your phone is not changed while the update downloads.",
                f"{CABLE}. If the download stops, it continues where it stopped next time.",
                secondary="Stop", tone="busy", progress=(done, total), progress_text=download_text(done, total))


def download_text(done: int, total: int) -> str:
    return f"Downloading the update: {size_text(done)} of {size_text(total)}"


def checking_download(done: int, total: int) -> Page:
    return Page(DOWNLOAD, "Checking the update", "Making sure the update arrived complete and unchanged…",
                CABLE + ".", secondary="Stop", tone="busy", progress=(done, total),
                progress_text="Checking the update…")


def ready_to_install(new: str) -> Page:
    return Page(INSTALL, "Ready to install",
                f"The update to {new} is downloaded and checked. Installing takes a few minutes, and your phone "
                "will restart by itself.",
                f"{CABLE} until this window says it is finished, and do not use the phone meanwhile.",
                button="Install the update")


# -- 4 Install -------------------------------------------------------------------------

INSTALLING = "Installing. Keep the cable plugged in; your phone will restart by itself."

# What the session is doing (its states), as a user would say it.
STATE_WORDS = {
    "connecting": "Connecting to your phone",
    "checking": "Checking your phone",
    "reading": "Reading your phone's current software",
    "downloading": "The short update does not fit your phone; getting the complete one",
    "backing up": "Saving a copy of your phone's current software",
    "writing": "Copying the new software to your phone",
    "verifying": "Checking the new software on your phone",
    "sideloading": "Sending the new software to your phone",
    "installing": "Your phone is installing the new software",
    "switching": "Getting your phone ready to start the new software",
    "rebooting": "Your phone is restarting",
    "confirming": "Making sure your phone starts the new software",
    ALLOW_PROMPT: "On your phone, tap “Allow” when it asks to allow USB debugging from this computer, so that it "
                  "can tell which software it now runs",
    "restoring": "Putting your phone's previous software back",
}


def installing(state: str, done: int, total: int) -> Page:
    words = STATE_WORDS.get(state, "Installing")
    if total > 0 and state == "downloading":
        words = f"{words}: {size_text(done)} of {size_text(total)}"
    elif total > 0:
        words = f"{words}: {done * 100 // total} %"
    else:
        words += "…"
    return Page(INSTALL, "Installing the update", INSTALLING, "Do not unplug your phone or use it until this "
                "window says it is finished.", tone="busy", progress=(done, total), progress_text=words)


def installed(build: str) -> Page:
    return Page(INSTALL, "Your phone is updated", f"Your phone now runs {build}.",
                "You can unplug it now.", button="Done", secondary="Update another phone", tone="success")


# -- problems ----------------------------------------------------------------------------

# Each result code's plain meaning: (what happened, what to do).
RESULT_WORDS: dict[Result, tuple[str, str]] = {
    Result.SUCCESS: ("The update was installed.", "You can unplug your phone."),
    Result.ROLLED_BACK: ("Your phone could not start the new software, so it went back to the software it had "
                         "before. It works as it did.", "Try again. " + SUPPORT),
    Result.RESTORED: ("The new software could not be installed, so your phone's previous software was put back. "
                      "It works as it did.", "Try again. " + SUPPORT),
    Result.CANCELLED: ("The update was stopped before it finished. Your phone keeps the software it had.",
                       "Start again when you are ready."),
    Result.DRY_RUN: ("This was only a check: nothing was installed.", "Start again to install the update."),
    Result.NEEDS_REBOOT: ("The new software is installed, but your phone has not restarted into it yet.",
                          "Restart your phone by holding its Power key, then check again."),
    Result.NOT_CONFIRMED: ("The new software is installed and your phone restarted into it, but it cannot tell "
                           "this computer which software it now runs.",
                           "Check the software version in your phone's settings once it has started."),
    Result.BOOTED_NOT_CONFIRMED: ("The new software is installed and your phone restarted, but with USB debugging "
                                  "off it cannot tell this computer which software it now runs.",
                                  "Check the software version in your phone's settings once it has started."),
    Result.NOT_AUTHORIZED: ("The new software is installed and your phone restarted, but it was not allowed to "
                            "tell this computer which software it runs.",
                            "Allow USB debugging on the phone when it asks, then check again."),
    Result.LAST_GOOD_SLOT: ("Your phone has not yet started the software it was last given, so nothing was "
                            "changed: its working software is kept safe. " + KEPT,
                            "Restart your phone by holding its Power key, then start again."),
    Result.SNAPSHOT_MERGING: ("Your phone is still finishing the last update it installed by itself. " + KEPT,
                              "Start your phone normally and leave it on until that update is done (up to an "
                              "hour), then try again."),
    Result.IN_PROGRESS: ("The update was interrupted before it finished.",
                         "Plug your phone in and start again: the update continues where it stopped."),
    Result.PACKAGE_UNTRUSTED: ("The update is not signed by a publisher this computer trusts, so it was not used. "
                               + KEPT, "Contact support and show them the details (press “Show details”)."),
    Result.PACKAGE_CORRUPT: ("The update is damaged or is not what it says it is, so it was not used. " + KEPT,
                             "Try again later. " + SUPPORT),
    Result.INCOMPATIBLE_PRODUCT: ("This update is not made for your phone's model. " + KEPT,
                                  "Contact support to get the update made for your phone."),
    Result.INCOMPATIBLE_LAYOUT: ("This update does not fit your phone's storage. " + KEPT,
                                 "Contact support to get the update made for your phone."),
    Result.ROLLBACK_REFUSED: ("Your phone refuses this update because it is older than software it has had "
                              "before. " + KEPT, "Nothing to do: your phone keeps its newer software."),
    Result.BATTERY_LOW: ("Your phone's battery is too low to update safely. " + KEPT,
                         "Charge it for a while, then try again."),
    Result.NO_BACKUP: ("A safety copy of your phone's software could not be made, so the update did not start. "
                       + KEPT, "Try again. " + SUPPORT),
    Result.DELTA_SOURCE_MISMATCH: ("The update does not match the software on your phone. " + KEPT,
                                   "Try again later. " + SUPPORT),
    Result.PATCH_REJECTED: ("The update does not match the software on your phone. " + KEPT,
                            "Try again later. " + SUPPORT),
    Result.NEEDS_UNLOCK: ("Your phone is locked to its maker's software, and this update can only be installed "
                          "on phones that are not. " + KEPT,
                          "Contact support to get your phone maker's own update for it."),
    Result.NO_SIDELOAD_LINK: ("Your phone is connected in a way that cannot carry this update. " + KEPT,
                              "Connect it with a USB cable and try again."),
    Result.LINK_LOST: ("The connection to your phone was lost during the update.",
                       "Check that the cable is plugged in firmly at both ends (or try another cable or USB "
                       "port), then try again: the update continues where it stopped."),
    Result.LINK_TIMEOUT: ("Your phone stopped answering during the update.",
                          "Check that the cable is plugged in firmly at both ends, then try again: the update "
                          "continues where it stopped."),
    Result.DEVICE_REFUSED: ("Your phone refused one of the update's steps.",
                            "Restart your phone on its update screen and try again. " + SUPPORT),
    Result.PROTOCOL_VIOLATION: ("Your phone answered in a way this program does not understand, so the update "
                                "stopped.", "Try again. " + SUPPORT),
    Result.WRITE_FAILED: ("The new software could not be copied to your phone. It keeps the software it had.",
                          "Try again. " + SUPPORT),
    Result.VERIFY_FAILED: ("The new software did not arrive intact on your phone, so it was not used. Your phone "
                           "keeps the software it had.", "Try again. " + SUPPORT),
    Result.SIDELOAD_REFUSED: ("Your phone checked the update and refused it. It keeps the software it had.",
                              "Contact support and show them the details (press “Show details”)."),
    Result.SWITCH_FAILED: ("Your phone could not be set to start the new software. It keeps the software it had.",
                           "Try again. " + SUPPORT),
    Result.DID_NOT_RETURN: ("Your phone did not come back after restarting.",
                            "Wait a minute with the cable plugged in. If it still does not start, hold its Power "
                            "key for 10 seconds, then plug it in and try again."),
    Result.WRONG_BUILD: ("Your phone restarted, but not with the new software.", "Try again. " + SUPPORT),
    Result.INTERNAL_ERROR: ("Something went wrong in this program.", "Try again. " + SUPPORT),
    Result.HOST_INTERRUPTED: ("The update was interrupted because this computer stopped.",
                              "Plug your phone in and start again: the update continues where it stopped."),
}


def failed(step: int, result: Result, *, old_software_kept: bool = False) -> Page:
    """The result page of an update that did not succeed: what happened, whether the phone still
    works as before (`old_software_kept`, from where the attempt stopped), what to do, and its code."""
    happened, to_do = RESULT_WORDS[result]
    if old_software_kept and not _says_kept(happened):
        happened = f"{happened} {STILL_WORKS}"
    title = "The update was stopped" if result is Result.CANCELLED else "Your phone was not updated"
    return Page(step, title, happened, to_do, button="Try again", tone="problem", code=f"Code {result.code}")


def _says_kept(happened: str) -> bool:
    return any(words in happened for words in (KEPT, "works as it did", "keeps the software it had",
                                               "keeps the software", STILL_WORKS))


def old_software_kept(report) -> bool:
    """True when the attempt stopped before the phone was set to start the new software: nothing was
    written (connect, checks), or only the other copy of the software was (A/B: write, verify), or the
    new software was only being sent (before recovery installs it)."""
    if report.phase in ("connect", "preflight"):
        return True
    if report.path == "fastboot-ab":
        return report.phase in ("write", "verify")
    return report.path == "sideload" and report.phase in ("recovery", "sideload")


def problem(step: int, error: BaseException) -> Page:
    """A step that stopped before any update ran (no connection, no update, a bad download)."""
    happened, to_do, title = _error_words(error)
    return Page(step, title, happened, to_do, button="Try again", tone="problem")


def _error_words(error: BaseException) -> tuple[str, str, str]:
    if isinstance(error, Cancelled):
        return ("The download was stopped. " + KEPT, "Press “Try again” when you are ready; it continues where it "
                "stopped.", "The download was stopped")
    if isinstance(error, OnlyForUnlocked):
        return (*RESULT_WORDS[Result.NEEDS_UNLOCK], "This update is not for your phone")
    if isinstance(error, NoUpdateFor):
        return ("This computer has no update for your phone. " + KEPT,
                "Contact support to ask whether there is an update for your phone.", "No update found")
    if isinstance(error, DownloadFailed):
        return ("The download stopped: the update server could not be reached. " + KEPT,
                "Check this computer's internet connection, then press “Try again”; the download continues "
                "where it stopped.", "The download did not finish")
    if isinstance(error, DownloadError):
        return ("The update was damaged on the way, so it was thrown away. " + KEPT,
                "Try again. " + SUPPORT, "The download was damaged")
    if isinstance(error, CatalogError):
        return ("The list of updates could not be trusted, so it was not used. " + KEPT,
                "Try again later. " + SUPPORT, "Updates could not be checked")
    if isinstance(error, PackageError):
        result = Result.PACKAGE_UNTRUSTED if isinstance(error, (UntrustedPackage, UnsignedPackage, BadSignature)) \
            else Result.PACKAGE_CORRUPT
        return (*RESULT_WORDS[result], "The update cannot be used")
    if isinstance(error, TransportError):
        return ("Your phone stopped answering. " + KEPT,
                "Check that the cable is plugged in firmly at both ends, then press “Try again”.",
                "Your phone is not answering")
    if isinstance(error, FlasherError):
        return ("The update could not go on. " + KEPT, "Try again. " + SUPPORT, "Something went wrong")
    return (*RESULT_WORDS[Result.INTERNAL_ERROR], "Something went wrong")
