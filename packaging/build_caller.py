"""Build the native `tsuf` caller (packaging/caller/tsuf.c) for the interpreter running this.

    .venv/bin/python packaging/build_caller.py [--output PATH] [--cc CC]

Without --output it replaces this environment's `tsuf` script (pip's, which starts Python
before anything else) with the native caller: with a resident tsuf up (`tsuf server
start`) a command then starts in about a millisecond instead of 30-40; without one the
caller runs this interpreter's tsuf, as the script did. The interpreter and the flasher
package folder are compiled in, and the resident tsuf serves only callers of its own
installation. `pip install` writes its script back; run this again after it.
Exits 0 when built, 1 with a one-line reason when not (no C compiler, a compile error).
"""

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from flasher.cli import resident

SOURCE = Path(__file__).resolve().parent / "caller" / "tsuf.c"
COMPILE_SECONDS = 120


def c_string(text: str) -> str:
    """A C string literal of `text`'s bytes: a path may hold quotes, backslashes, anything."""
    escaped = "".join(chr(byte) if 0x20 <= byte < 0x7F and byte not in b'"\\?' else f"\\{byte:03o}"
                      for byte in os.fsencode(text))
    return f'"{escaped}"'


def build(output: Path, compiler: str) -> None:
    """Compile beside `output` and move the result into place, so a running `tsuf` never sees half a file."""
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".tsuf-caller-", dir=output.parent)
    os.close(handle)
    try:
        # POSIX 2008, plus what glibc and macOS keep outside it (SO_NOSIGPIPE on macOS).
        subprocess.run([compiler, "-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                        "-D_DARWIN_C_SOURCE",
                        f"-DTSUF_PYTHON={c_string(sys.executable)}",
                        f"-DTSUF_PACKAGE={c_string(resident.package_folder())}",
                        "-o", partial, str(SOURCE)], check=True, capture_output=True, text=True,
                       timeout=COMPILE_SECONDS)
        os.chmod(partial, 0o755)
        os.replace(partial, output)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(sysconfig.get_path("scripts")) / "tsuf",
                        help="where to write the caller (default: this environment's tsuf)")
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"), help="the C compiler (default: $CC or cc)")
    args = parser.parse_args(argv)
    if not resident.supported():
        print("build_caller: the resident tsuf needs Unix sockets and fork; tsuf keeps its Python caller",
              file=sys.stderr)
        return 1
    compiler = shutil.which(args.cc)
    if compiler is None:
        print(f"build_caller: no C compiler ({args.cc}); tsuf keeps its Python caller", file=sys.stderr)
        return 1
    try:
        build(args.output, compiler)
    except subprocess.CalledProcessError as error:
        print(f"build_caller: {args.cc} failed:\n{error.stderr.strip()}", file=sys.stderr)
        return 1
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"build_caller: cannot build {args.output}: {error}", file=sys.stderr)
        return 1
    print(f"build_caller: {args.output} is the native caller")
    return 0


if __name__ == "__main__":
    sys.exit(main())
