"""`kms serve --trial` refuses what would make a trial reach beyond this machine or fight
its own DNS answerer: one line each, exit code 2, before serving (the trial itself is
tests/e2e/test_readme_trial.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.kms_process import free_port, kms


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--host", "0.0.0.0"], "'host' must be a loopback address"),  # noqa: S104
        (["--dns-resolver", "127.0.0.1:53"], "--trial answers DNS itself"),
        (["--trial-zones", "a..b"], "setting 'trial_zones': 'a..b' is not a zone name"),
    ],
)
def test_trial_refusals(tmp_path: Path, flags: list[str], message: str) -> None:
    data_dir = tmp_path / "data"
    args = ["serve", "--trial", "--data-dir", str(data_dir), "--port", str(free_port())]
    result = kms(*args, *flags, check=False)
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (data_dir / "kms.db").exists()
