"""Settings from a config file and KMS_* variables: whole numbers are whole numbers, and
limits that would switch a safeguard off are refused at start, with the setting's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from acme_server.settings import SettingsError, load_settings


@pytest.mark.parametrize("raw", [" 5", "5 ", "1_000", "\u00b2", "\u0661\u0662", "5.0", "five", ""])
def test_an_integer_from_the_environment_is_ascii_digits(raw: str) -> None:
    with pytest.raises(SettingsError, match="'rate_limit_orders_per_hour': cannot use"):
        load_settings(env={"KMS_RATE_LIMIT_ORDERS_PER_HOUR": raw})


@pytest.mark.parametrize("toml", ["0.5", "true", "1e3"])
def test_an_integer_in_the_config_file_is_a_toml_integer(tmp_path: Path, toml: str) -> None:
    config = tmp_path / "kms.toml"
    config.write_text(f"rate_limit_requests_per_second = {toml}\n")
    with pytest.raises(SettingsError, match="'rate_limit_requests_per_second': cannot use"):
        load_settings(env={}, config_file=config)


def test_integers_are_read_when_well_formed(tmp_path: Path) -> None:
    config = tmp_path / "kms.toml"
    config.write_text("rate_limit_requests_per_second = 50\n")
    settings = load_settings(env={"KMS_RATE_LIMIT_ORDERS_PER_HOUR": "1000"}, config_file=config)
    assert (settings.rate_limit_requests_per_second, settings.rate_limit_orders_per_hour) == (
        50,
        1000,
    )


@pytest.mark.parametrize(
    "name",
    [
        "RATE_LIMIT_ORDERS_PER_HOUR",
        "RATE_LIMIT_FAILED_VALIDATIONS_PER_HOUR",
        "RATE_LIMIT_REQUESTS_PER_SECOND",
    ],
)
def test_a_rate_limit_of_zero_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match=f"'{name.lower()}': must be at least 1"):
        load_settings(env={f"KMS_{name}": "0"})


def test_a_negative_challenge_wait_is_refused() -> None:
    with pytest.raises(SettingsError, match="'challenge_wait_ms': must not be negative"):
        load_settings(env={"KMS_CHALLENGE_WAIT_MS": "-1"})
