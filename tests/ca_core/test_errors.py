"""The error tree: every specific refusal is a CAError."""

from __future__ import annotations

import pytest

from ca_core.errors import BadCSR, BadKey, CAError, InvalidTTL, KEKError


@pytest.mark.parametrize("kind", [BadCSR, BadKey, InvalidTTL, KEKError])
def test_every_error_is_a_ca_error(kind: type[CAError]) -> None:
    assert issubclass(kind, CAError)
    assert str(kind("exact message")) == "exact message"
