"""The CA core's error tree; messages are shown to users as they are.

CAError            any refusal by the CA core
 +-- BadCSR        a CSR that cannot be parsed or whose signature does not verify
 +-- BadKey        a key of an unsupported type, size or curve, or unreadable key data
 +-- InvalidTTL    a validity period that is not "<positive whole number><unit>"
 +-- KEKError      a missing, malformed or wrong key-encryption key
 +-- KeyBlocklistError  an unreadable or malformed blocklist of compromised keys
"""

from __future__ import annotations


class CAError(Exception):
    """Base of every error the CA core raises on purpose."""


class BadCSR(CAError):
    """The certificate signing request is unusable."""


class BadKey(CAError):
    """The key is unsupported or unreadable."""


class InvalidTTL(CAError):
    """The validity period text is malformed."""


class KEKError(CAError):
    """The key-encryption key is missing, malformed, exposed or wrong."""


class KeyBlocklistError(CAError):
    """The operator's blocklist of compromised keys cannot be read or parsed."""
