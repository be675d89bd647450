"""Server CPU per stage of an ACME issuance: newOrder, challenge + validation, finalize +
download, read from /proc around each stage over N sequential flows.

    .venv/bin/python -m bench.stages [N]

A diagnostic beside the benchmark: where one certificate's CPU goes, polls included.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient, b64
from testkit.dns_server import DNSServer
from testkit.event_loop import BackgroundLoop
from testkit.flows import make_csr, poll
from testkit.http01_responder import HTTP01Responder
from testkit.kms_process import running_server


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(count: int) -> None:
    loop = BackgroundLoop()
    responder = loop.run(HTTP01Responder().__aenter__())
    dns = loop.run(DNSServer().__aenter__())
    os.environ["KMS_RATE_LIMIT_ORDERS_PER_HOUR"] = "1000000"
    data_dir = Path(tempfile.mkdtemp(prefix="kms-stages-")) / "data"
    flags = ["--plain-http", "--http01-port", str(responder.port), "--allow-private-validation",
             "--dns-resolver", f"{dns.nameserver[0]}:{dns.nameserver[1]}"]  # fmt: skip
    totals = {"newOrder": 0.0, "challenge+validation": 0.0, "finalize+download": 0.0}
    with running_server(data_dir, *flags) as server, httpx.Client() as http:
        client = AcmeClient(
            http,
            f"{server.base_url}/acme/default/directory",
            ec.generate_private_key(ec.SECP256R1()),
        )
        client.new_account()
        pid = server.process.pid
        for i in range(count):
            name = f"n{i}.stages.test"
            dns.add(name, "A", "127.0.0.1")
            start = process_cpu_seconds(pid)
            response = client.new_order(name)
            totals["newOrder"] += process_cpu_seconds(pid) - start
            order_url, order = response.headers["Location"], response.json()
            challenge = client.get(order["authorizations"][0]).json()["challenges"][0]
            responder.add_token(challenge["token"], client.key_authorization(challenge["token"]))
            start = process_cpu_seconds(pid)
            client.post(challenge["url"], {})
            poll(client, order["authorizations"][0], ("valid", "invalid"))
            time.sleep(0.05)  # let the worker finish its bookkeeping inside the window
            totals["challenge+validation"] += process_cpu_seconds(pid) - start
            start = process_cpu_seconds(pid)
            client.post(order["finalize"], {"csr": b64(make_csr(name))})
            client.get(poll(client, order_url, ("valid",))["certificate"])
            totals["finalize+download"] += process_cpu_seconds(pid) - start
    loop.run(responder.__aexit__(None, None, None))
    loop.run(dns.__aexit__(None, None, None))
    loop.close()
    for stage, seconds in totals.items():
        print(f"{stage:22s} {1000 * seconds / count:6.1f} ms server CPU per certificate")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
