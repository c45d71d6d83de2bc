"""Settings come from UNSNAG_* variables, then unsnag.toml, then the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsnag.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run each test in an empty directory with no UNSNAG_* variables set."""
    for name in ("UNSNAG_CONFIG", "UNSNAG_DATABASE_URL", "UNSNAG_CURRENCY", "UNSNAG_POLICY_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_with_nothing_configured_the_defaults_apply() -> None:
    assert load_settings() == Settings(
        database_url="sqlite:///unsnag.db", currency="USD", policy_path=None
    )


def test_unsnag_toml_in_the_current_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path / "unsnag.toml", '[unsnag]\ncurrency = "EUR"\npolicy_path = "p.yaml"\n')
    settings = load_settings()
    assert (settings.currency, settings.policy_path) == ("EUR", "p.yaml")


def test_environment_variables_win_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "unsnag.toml", '[unsnag]\ncurrency = "EUR"\ndatabase_url = "sqlite:///a.db"\n')
    monkeypatch.setenv("UNSNAG_CURRENCY", "GBP")
    settings = load_settings()
    assert (settings.currency, settings.database_url) == ("GBP", "sqlite:///a.db")


def test_unsnag_config_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "site.toml", '[unsnag]\ndatabase_url = "postgresql://db/unsnag"\n')
    monkeypatch.setenv("UNSNAG_CONFIG", str(config))
    assert load_settings().database_url == "postgresql://db/unsnag"


def test_a_missing_named_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSNAG_CONFIG", "nowhere.toml")
    with pytest.raises(SettingsError, match=r"nowhere\.toml"):
        load_settings()


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ('[unsnag]\ncurency = "EUR"\n', "curency"),
        ('[unsnag]\ncurrency = "euro"\n', "currency"),
        ('[other]\ncurrency = "EUR"\n', r"no \[unsnag\] table"),
        ("[unsnag\n", "not valid TOML"),
    ],
)
def test_a_bad_config_file_says_what_is_wrong(tmp_path: Path, body: str, complaint: str) -> None:
    write(tmp_path / "unsnag.toml", body)
    with pytest.raises(SettingsError, match=complaint):
        load_settings()
