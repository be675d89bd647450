"""The load of a chaos run: threads doing whole ACME flows (account, order, http-01,
finalize, download) against a server that keeps dying. Every answer is counted; a flow
that hits an error starts over, and every order it made is kept for the census."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient, b64
from testkit.dns_server import DNSServer
from testkit.flows import make_csr
from testkit.http01_responder import HTTP01Responder

POLL_SECONDS = 20.0


class FlowBroken(Exception):
    """This flow cannot go on (dropped connection, error answer): start a new one."""


@dataclass
class Tally:
    """Shared by the load threads (one lock; the counts are small)."""

    statuses: Counter[int] = field(default_factory=Counter)
    dropped: int = 0  # a connection that broke after the request went out
    refused: int = 0  # no server listening (between a kill and the restart)
    server_errors: list[str] = field(default_factory=list)  # "METHOD url -> status body"
    orders: list[tuple[AcmeClient, str]] = field(default_factory=list)
    flows_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, method: str, url: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500 and response.status_code != 503:
                self.server_errors.append(
                    f"{method} {url} -> {response.status_code} {response.text[:200]}"
                )

    def drop(self, error: httpx.TransportError) -> None:
        with self.lock:
            if isinstance(error, httpx.ConnectError):
                self.refused += 1
            else:
                self.dropped += 1


@dataclass
class Load:
    directory_url: str
    responder: HTTP01Responder
    dns: DNSServer
    dns_loop: asyncio.AbstractEventLoop
    tally: Tally = field(default_factory=Tally)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, threads: int) -> list[threading.Thread]:
        started = [
            threading.Thread(target=self._thread, args=(n,), daemon=True) for n in range(threads)
        ]
        for thread in started:
            thread.start()
        return started

    def _thread(self, number: int) -> None:
        serial = 0
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                serial += 1
                try:
                    self._flow(http, f"t{number}-{serial}.chaos.test")
                except FlowBroken:
                    time.sleep(0.2)
                except httpx.TransportError as error:
                    self.tally.drop(error)
                    time.sleep(0.2)

    def _call(self, client: AcmeClient, url: str, payload: Any = None) -> httpx.Response:
        response = client.get(url) if payload is None else client.post(url, payload)
        self.tally.seen("POST", url, response)
        if response.status_code >= 400:
            raise FlowBroken(response.text)
        return response

    def _flow(self, http: httpx.Client, name: str) -> None:
        try:
            client = AcmeClient(http, self.directory_url, ec.generate_private_key(ec.SECP256R1()))
        except httpx.HTTPStatusError as exc:
            self.tally.seen("GET", self.directory_url, exc.response)
            raise FlowBroken(str(exc)) from None
        account = client.new_account()
        self.tally.seen("POST", "newAccount", account)
        if account.status_code != 201:
            raise FlowBroken(account.text)
        created = client.new_order(name)
        self.tally.seen("POST", "newOrder", created)
        if created.status_code != 201:
            raise FlowBroken(created.text)
        order_url = created.headers["Location"]
        with self.tally.lock:
            self.tally.orders.append((client, order_url))
        order = created.json()
        authz_url = order["authorizations"][0]
        authz = self._call(client, authz_url).json()
        challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
        # on the DNS server's own loop: it iterates its records while answering
        self.dns_loop.call_soon_threadsafe(self.dns.add, name, "A", "127.0.0.1")
        self.responder.add_token(challenge["token"], client.key_authorization(challenge["token"]))
        self._call(client, challenge["url"], {})
        self._until(client, authz_url, ("valid", "invalid"))
        self._until(client, order_url, ("ready", "invalid"))
        self._call(client, order["finalize"], {"csr": b64(make_csr(name))})
        done = self._until(client, order_url, ("valid", "invalid"))
        if done["status"] == "valid":
            self._call(client, done["certificate"])
            with self.tally.lock:
                self.tally.flows_done += 1

    def _until(self, client: AcmeClient, url: str, states: tuple[str, ...]) -> dict[str, Any]:
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            body: dict[str, Any] = self._call(client, url).json()
            if body["status"] in states or time.monotonic() > deadline or self.stop.is_set():
                return body
            time.sleep(0.2)
