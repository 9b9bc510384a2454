import pytest

from tests.interop.aosp import StockAdb


@pytest.fixture
def stock_adb(tmp_path):
    """Debian's `adb` with its own server and HOME; its server is stopped afterwards."""
    client = StockAdb(tmp_path / "home")
    yield client
    client.stop()
