"""The device families a virtual handset can be (see docs/real-handsets.md).

Kept apart from the family modules so the profile can check a name without
importing the handset.
"""

FAMILY_NAMES = ("reference", "uboot", "barebox", "fastbootd", "fastbootd-userdebug", "qualcomm", "android")
DEFAULT_FAMILY = "reference"
