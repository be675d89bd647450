"""The one error the policy package raises: a policy document or value that cannot be used."""

from __future__ import annotations


class PolicyError(ValueError):
    """A bad policy: unknown key, bad pattern, bad enum value, contradictory rules.

    The message names where the problem is (e.g. `sans.dns_name.allowed[2]`) and what is wrong,
    so that the REST API and the CLI can show it as is.
    """
