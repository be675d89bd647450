"""The load generator's ACME client: one account and one keep-alive connection per worker,
and the full issuance flow the benchmark times.

One flow, as a certificate costs it (RFC 8555 section 7):

    newOrder -> POST-as-GET authorization -> publish the key authorization with the HTTP-01
    responder -> challenge POST {} -> poll the order until `ready` -> finalize with a CSR
    -> poll the order until `valid` (only if finalize answers `processing`) -> download the
    certificate chain.

Nonces come from each response's Replay-Nonce, so newNonce is asked only when a response
carried none; a badNonce answer is retried with the nonce it brought (RFC 8555 section 6.5).
Polls are POST-as-GET after a short fixed sleep; they are counted separately, since every
poll is one more signed request the server pays for.

HTTP is aiohttp's client (its C parser): the generator shares the machine's cores with the
server, so the less CPU each request costs it, the less it slows the server it measures
(httpx, before, cost the generator about as much CPU per certificate as the server spent).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.jws import ES256Key, b64url

JOSE_JSON: Final = "application/jose+json"
PEM_CHAIN: Final = "application/pem-certificate-chain"
BAD_NONCE: Final = "urn:ietf:params:acme:error:badNonce"
NONCE_RETRIES: Final = 3
PROBLEM_DETAIL_CHARS: Final = 300

TokenSink = Callable[[str, str], None]
"""Publishes (token, key authorization) with the HTTP-01 responder."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP response, read whole."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class Http:
    """One keep-alive HTTP/1.1 connection (aiohttp, at most one connection, no proxy)."""

    def __init__(self, ssl_context: ssl.SSLContext | bool, timeout_s: float) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1, ssl=ssl_context),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            trust_env=False,  # never a proxy: only the loopback server is contacted
        )

    async def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: dict[str, str]
    ) -> Reply:
        async with self._session.request(method, url, data=body, headers=headers) as response:
            return Reply(response.status, response.headers, await response.read())

    async def get(self, url: str) -> Reply:
        return await self.request("GET", url, headers={})

    async def head(self, url: str) -> Reply:
        return await self.request("HEAD", url, headers={})

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Reply:
        return await self.request("POST", url, body=content, headers=headers)

    async def aclose(self) -> None:
        await self._session.close()


class AcmeError(Exception):
    """An ACME request failed: an HTTP error status with its problem document, or a flow
    that ended in a state it should not (an invalid order, a missing certificate)."""

    def __init__(self, what: str, status: int | None = None, problem: str | None = None) -> None:
        self.what = what
        self.status = status
        self.problem = problem
        super().__init__(f"{what}: {status} {problem}" if status is not None else what)


@dataclass(slots=True)
class FlowResult:
    """One certificate's flow: wall time from newOrder to the downloaded chain."""

    name: str
    latency_s: float
    requests: int  # HTTP requests the flow made (signed POSTs, polls and any newNonce)
    polls: int  # of which were polls
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class Directory:
    new_nonce: str
    new_account: str
    new_order: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Directory:
        try:
            return cls(data["newNonce"], data["newAccount"], data["newOrder"])
        except KeyError as exc:
            raise AcmeError(f"the directory lacks {exc}") from None


@dataclass
class AcmeClient:
    """One worker of the load generator: an account, its key and one HTTP/1.1 connection."""

    http: Http
    directory_url: str
    poll_interval: float
    publish: TokenSink
    flow_timeout: float = 60.0
    key: ES256Key = field(default_factory=ES256Key)
    directory: Directory | None = field(default=None, init=False)
    kid: str | None = field(default=None, init=False)
    requests: int = field(default=0, init=False)  # HTTP requests made so far
    _nonce: str | None = field(default=None, init=False)

    async def register(self) -> None:
        """Read the directory and create this worker's account (not part of a timed flow)."""
        response = await self.http.get(self.directory_url)
        self.requests += 1
        if response.status_code != 200:
            raise AcmeError("directory", response.status_code, response.text[:200])
        self.directory = Directory.from_json(response.json())
        self._remember_nonce(response)
        account = await self.post(
            self.directory.new_account, {"termsOfServiceAgreed": True}, use_jwk=True
        )
        location = account.headers.get("location")
        if account.status_code not in (200, 201) or not location:
            raise AcmeError("newAccount gave no account URL", account.status_code)
        self.kid = location

    async def issue(self, name: str) -> FlowResult:
        """Run one full issuance flow for the DNS name `name`; errors (and running past
        `flow_timeout` seconds) become the result's `error`: the benchmark counts them, it
        does not stop."""
        start_requests = self.requests
        polls = 0
        error: str | None = None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.flow_timeout):
                polls = await self._flow(name)
        except TimeoutError:
            error = f"flow timed out after {self.flow_timeout:g} s"
        except AcmeError as exc:
            error = str(exc)
        except (aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        return FlowResult(
            name=name,
            latency_s=time.perf_counter() - started,
            requests=self.requests - start_requests,
            polls=polls,
            error=error,
        )

    async def _flow(self, name: str) -> int:
        directory = self._directory()
        polls = 0
        created = await self.post(
            directory.new_order, {"identifiers": [{"type": "dns", "value": name}]}
        )
        order_url = created.headers.get("location")
        if created.status_code != 201 or not order_url:
            raise AcmeError("newOrder gave no order URL", created.status_code)
        order = created.json()
        for authz_url in order["authorizations"]:
            authz = (await self.post(authz_url, None)).json()
            if authz["status"] == "valid":
                continue  # reused; the benchmark's distinct names should never get here
            challenge = next((c for c in authz["challenges"] if c["type"] == "http-01"), None)
            if challenge is None:
                raise AcmeError(f"no http-01 challenge for {name}")
            self.publish(challenge["token"], self.key.key_authorization(challenge["token"]))
            await self.post(challenge["url"], {})
        while order["status"] in ("pending", "processing"):
            await asyncio.sleep(self.poll_interval)
            order = (await self.post(order_url, None)).json()
            polls += 1
        if order["status"] != "ready":
            raise AcmeError(f"order for {name} became {order['status']}: {order.get('error')}")
        order = (await self.post(order["finalize"], {"csr": make_csr(name)})).json()
        while order["status"] == "processing":
            await asyncio.sleep(self.poll_interval)
            order = (await self.post(order_url, None)).json()
            polls += 1
        if order["status"] != "valid" or "certificate" not in order:
            raise AcmeError(f"finalized order for {name} is {order['status']}")
        chain = await self.post(order["certificate"], None, accept=PEM_CHAIN)
        if not chain.content.startswith(b"-----BEGIN CERTIFICATE-----"):
            raise AcmeError(f"the certificate download for {name} is not a PEM chain")
        return polls

    async def post(
        self,
        url: str,
        payload: dict[str, Any] | None,
        *,
        use_jwk: bool = False,
        accept: str | None = None,
    ) -> Reply:
        """A signed POST (payload None: POST-as-GET); badNonce is retried with the fresh nonce
        the error brought. Any other status >= 400 raises AcmeError with the problem."""
        headers = {"content-type": JOSE_JSON}
        if accept is not None:
            headers["accept"] = accept
        for attempt in range(NONCE_RETRIES + 1):
            nonce = await self._take_nonce()
            body = self.key.sign(url, nonce, payload, kid=None if use_jwk else self.kid)
            response = await self.http.post(url, content=body, headers=headers)
            self.requests += 1
            self._remember_nonce(response)
            if response.status_code < 400:
                return response
            problem = _problem(response)
            if problem.get("type") == BAD_NONCE and attempt < NONCE_RETRIES:
                continue
            detail = f"{problem.get('type', '')} {problem.get('detail', response.text)}"
            raise AcmeError(_short(url), response.status_code, detail[:PROBLEM_DETAIL_CHARS])
        raise AcmeError(_short(url), None, "badNonce after retries")  # pragma: no cover

    async def _take_nonce(self) -> str:
        nonce, self._nonce = self._nonce, None
        if nonce is not None:
            return nonce
        response = await self.http.head(self._directory().new_nonce)
        self.requests += 1
        fresh: str | None = response.headers.get("replay-nonce")
        if not fresh:
            raise AcmeError("newNonce gave no Replay-Nonce", response.status_code)
        return fresh

    def _remember_nonce(self, response: Reply) -> None:
        nonce = response.headers.get("replay-nonce")
        if nonce:
            self._nonce = nonce

    def _directory(self) -> Directory:
        if self.directory is None:
            raise AcmeError("register() first")
        return self.directory


def make_csr(name: str) -> str:
    """A CSR for `name` on a fresh P-256 key, as base64url DER (RFC 8555 section 7.4)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return b64url(csr.public_bytes(serialization.Encoding.DER))


def _problem(response: Reply) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _short(url: str) -> str:
    """The ACME resource kind of a URL, for error messages (new-order, order, chall...)."""
    parts = [p for p in url.split("/") if p]
    for kind in ("new-order", "new-account", "finalize", "order", "authz", "chall", "cert"):
        if kind in parts:
            return kind
    return url
