"""DNS-01 hooks for the ACME clients: publish and remove TXT records in the test DNS server.

The server (testkit/dns_server.py, in the pytest process) takes RFC 2136 UPDATEs; its
address comes from KMS_TEST_DNS_SERVER ("127.0.0.1:PORT"), which the tests set.

    dns_hook.py lego present|cleanup FQDN VALUE     lego's `exec` provider (EXEC_PATH)
    dns_hook.py certbot-auth|certbot-cleanup        certbot --manual-auth-hook/-cleanup-hook:
                                                    CERTBOT_DOMAIN and CERTBOT_VALIDATION

Exit status 2 with a one-line message on bad use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run as a script by the clients: make the project importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.dns_server import send_update

ENV_SERVER = "KMS_TEST_DNS_SERVER"
USAGE = "usage: dns_hook.py lego present|cleanup FQDN VALUE | certbot-auth | certbot-cleanup"


def nameserver() -> tuple[str, int]:
    host, _, port = os.environ.get(ENV_SERVER, "").rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"dns_hook.py: set {ENV_SERVER} to HOST:PORT")
    return host, int(port)


def main(argv: list[str]) -> int:
    match argv:
        case ["lego", "present" | "cleanup" as step, fqdn, value]:
            action = "add" if step == "present" else "delete"
            send_update(nameserver(), action, fqdn, "TXT", value)
        case ["certbot-auth" | "certbot-cleanup" as step]:
            domain = os.environ.get("CERTBOT_DOMAIN", "").removeprefix("*.")
            value = os.environ.get("CERTBOT_VALIDATION", "")
            if not domain or not value:
                print("dns_hook.py: CERTBOT_DOMAIN and CERTBOT_VALIDATION unset", file=sys.stderr)
                return 2
            action = "add" if step == "certbot-auth" else "delete"
            send_update(nameserver(), action, f"_acme-challenge.{domain}", "TXT", value)
        case _:
            print(USAGE, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
