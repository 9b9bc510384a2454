import pytest

from flasher.settings import SettingsError, load_settings


def test_tsuf_home_holds_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path))
    monkeypatch.delenv("TSUF_STATION", raising=False)
    monkeypatch.delenv("TSUF_BACKEND", raising=False)
    settings = load_settings()
    assert settings.history_path == tmp_path / "data" / "history.sqlite"
    assert settings.trust_store == tmp_path / "config" / "trust"
    assert settings.station_id


def test_saved_settings_come_back_and_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path))
    monkeypatch.delenv("TSUF_BACKEND", raising=False)
    settings = load_settings()
    settings.station_id, settings.backend_url = "bench-7", "http://127.0.0.1:9/reports"
    settings.save()
    monkeypatch.setenv("TSUF_STATION", "lab-2")
    again = load_settings()
    assert (again.station_id, again.backend_url) == ("lab-2", "http://127.0.0.1:9/reports")


def test_broken_settings_file_is_a_named_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text("{not json")
    with pytest.raises(SettingsError, match="unreadable"):
        load_settings()


def test_the_backend_token_is_kept_private_and_never_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path))
    monkeypatch.delenv("TSUF_BACKEND_TOKEN", raising=False)
    settings = load_settings()
    settings.backend_token = "s3cret"
    settings.save()
    path = tmp_path / "config" / "settings.json"
    assert path.stat().st_mode & 0o077 == 0
    shown = load_settings().to_dict()
    assert shown["backend_token"] == "(set)" and "s3cret" not in str(shown)
