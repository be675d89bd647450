"""`kms cert auto-renew <ref> on|off`: server-driven renewal toggled from a shell, the
profile's default applied at issuance, and CSR certificates refused with a one-line error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from acme_server.services.certificates.auto_renewal import CANNOT_AUTO_RENEW
from testkit.kms_process import kms, kms_json


@pytest.fixture(scope="module")
def common(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("cli-auto-renew") / "data"
    kms("init", "--data-dir", str(path))
    return ["--data-dir", str(path)]


def test_profile_default_then_toggled(common: list[str]) -> None:
    off = kms_json("cert", "issue", "--cn", "before.test", *common)
    assert off["autoRenew"] is False  # the default profile does not auto-renew
    kms("profile", "update", "default", "--auto-renew", *common)
    on = kms_json("cert", "issue", "--cn", "after.test", *common)
    assert on["autoRenew"] is True
    assert on["renewal"] == {
        "status": None,
        "lastError": None,
        "attempts": 0,
        "nextAttemptAt": None,
    }

    assert kms_json("cert", "auto-renew", on["id"], "off", *common) == {
        "certificateId": on["id"],
        "autoRenew": False,
    }
    assert kms_json("cert", "show", on["id"], *common)["autoRenew"] is False
    shown = kms("cert", "auto-renew", off["serialNumber"], "on", *common).stdout
    assert shown.strip() == f"Auto-renewal of {off['serialNumber']} ({off['id']}): on"
    assert kms_json("cert", "show", off["id"], *common)["autoRenew"] is True


def test_csr_certificate_and_bad_input_are_refused(common: list[str], tmp_path: Path) -> None:
    key, csr = tmp_path / "k.pem", tmp_path / "r.csr"
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=csr-auto.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    issued = kms_json("cert", "issue", "--csr", str(csr), *common)
    refused = kms("cert", "auto-renew", issued["id"], "on", *common, check=False)
    assert refused.returncode == 2
    assert CANNOT_AUTO_RENEW in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    # Turning it off is always allowed.
    assert kms("cert", "auto-renew", issued["id"], "off", *common).returncode == 0

    unknown = kms("cert", "auto-renew", "no-such-cert", "on", *common, check=False)
    assert unknown.returncode == 2 and "no certificate" in unknown.stderr
    bad = kms("cert", "auto-renew", issued["id"], "maybe", *common, check=False)
    assert bad.returncode == 2
