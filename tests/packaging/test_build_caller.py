"""packaging/build_caller.py: the native caller is built for one installation, or not at all."""

import importlib.util
import shutil
import subprocess
import sys

from tests.support.tools import requires_tool

from .conftest import PACKAGING

spec = importlib.util.spec_from_file_location("build_caller", PACKAGING / "build_caller.py")
build_caller = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_caller)


@requires_tool("cc", "gcc")
def test_any_path_is_compiled_in_byte_for_byte(tmp_path):
    odd = 'inst "a\\b" ?? trigraph\t\nnaïve/python'  # a quote, backslashes, ??= trigraph bait, controls
    (tmp_path / "echo.c").write_text('#include <stdio.h>\nint main(void) { fputs(TEXT, stdout); return 0; }\n')
    subprocess.run([shutil.which("cc"), f"-DTEXT={build_caller.c_string(odd)}", "-o", str(tmp_path / "echo"),
                    str(tmp_path / "echo.c")], check=True, timeout=120)
    assert subprocess.run([tmp_path / "echo"], capture_output=True, timeout=30).stdout == odd.encode()


def test_without_a_compiler_nothing_is_written_and_the_reason_is_named(tmp_path):
    output = tmp_path / "tsuf"
    result = subprocess.run([sys.executable, str(PACKAGING / "build_caller.py"), "--output", str(output),
                             "--cc", "no-such-compiler"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == "build_caller: no C compiler (no-such-compiler); tsuf keeps its Python caller\n"
    assert list(tmp_path.iterdir()) == []
