"""Factory images as manufacturers publish them (android-info.txt, NAME.img, super_empty.img,
vbmeta.img stating the build), for the android phone profile."""

import hashlib
import zipfile
from pathlib import Path

from flasher.package.bootmeta import make_boot_metadata
from tests.support.handsets import android_super_empty
from tests.support.packages import PRODUCT, make_images

MiB = 1 << 20
FACTORY_SIZES = {"boot": 1 * MiB, "product": 1 * MiB + 3, "system": 5 * MiB + 4096 + 17, "vendor": 2 * MiB}


def factory_zip(path: Path, *, oem_key=None, build: str = "B130", android_info: str = f"require board={PRODUCT}\n",
                extra: dict[str, bytes] | None = None, sizes: dict[str, int] = FACTORY_SIZES,
                images_folder: Path | None = None) -> Path:
    """A factory zip; with `oem_key` its vbmeta.img states `build`, signed as the phone's verified
    boot expects. `extra` adds entries as they are (system_other.img, fastboot-info.txt...)."""
    folder = images_folder or make_images(path.parent / f"{path.stem}-images", sizes)
    images = {image.stem: image.read_bytes() for image in sorted(folder.glob("*.img")) if image.stem in sizes}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("android-info.txt", android_info)
        for name, data in images.items():
            archive.writestr(f"{name}.img", data)
        archive.writestr("super_empty.img", android_super_empty())
        if oem_key is not None:
            archive.writestr("vbmeta.img", make_boot_metadata(
                {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in images.items()}, 5,
                oem_key, build))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path
