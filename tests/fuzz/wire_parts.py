"""The parts of a hostile HTTP/1.1 request, as hypothesis strategies of raw bytes: path
segments (control bytes, DEL, NUL, percent-encoded non-Latin-1 and invalid UTF-8, raw bytes
a parser must refuse), query strings, Host values, extra headers, and the framing of a body
(a right, short, long or unreadable Content-Length, chunked or broken chunked).

    request = assemble(draw, method, target, host, headers, body)   # in an @st.composite
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.strategies import KEYED_JSON


@dataclass(frozen=True)
class RawRequest:
    data: bytes
    head: bool = False  # a HEAD request: the response has no body
    half_close: bool = False  # more body announced than sent: the client shuts its side


def pct(data: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte for byte in data)


# Bytes that have broken URL and header handling somewhere: C0 controls, DEL, NUL, the
# delimiters %, /, ?, #, space, dot, and bytes that are not UTF-8 on their own.
HOSTILE_BYTE = st.sampled_from(
    [0x00, 0x01, 0x08, 0x09, 0x0A, 0x0D, 0x13, 0x1B, 0x1F, 0x7F, 0x80, 0x9B, 0xA0, 0xC0,
     0xC3, 0xED, 0xF2, 0xFF, 0x25, 0x2F, 0x3F, 0x23, 0x20, 0x2E, 0x5C, 0x22, 0x3C, 0x3B]
)  # fmt: skip
NON_LATIN1 = st.text(
    st.characters(min_codepoint=0x100, max_codepoint=0x10FFFF, exclude_categories=["Cs"]),
    min_size=1,
    max_size=4,
)
_SAFE = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@"
SAFE_TEXT = st.binary(min_size=1, max_size=24).map(
    lambda b: bytes(_SAFE[c % len(_SAFE)] for c in b)
)
_FIXED_SEGMENTS = [
    b"", b".", b"..", b"%2e%2e", b"%2F", b"%", b"%G1", b"%0", b"%%", b"%u0041", b"%C0%AF",
    b"%ED%A0%80", b"%EF%BF%BF", b"%F4%90%80%80", b"%F2%BB%B1%9B", b"%13", b"%00", b"%7F",
    b"%0D%0A", b"%0Aset-cookie:x", b"DEFAULT", b"default%00", b"default%20", b"x" * 300,
]  # fmt: skip


_SPOILER = st.builds(lambda b: pct(bytes([b])), HOSTILE_BYTE) | SAFE_TEXT
_ENCODED: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(_FIXED_SEGMENTS),
    st.lists(HOSTILE_BYTE, min_size=1, max_size=4).map(lambda b: pct(bytes(b))),
    st.binary(min_size=1, max_size=12).map(pct),  # mostly invalid UTF-8
    NON_LATIN1.map(lambda t: pct(t.encode())),
    SAFE_TEXT,
    st.integers(1000, 9000).map(lambda n: b"a" * n),
)
_UNENCODED: st.SearchStrategy[bytes] = st.one_of(
    st.lists(HOSTILE_BYTE, min_size=1, max_size=2).map(bytes),
    NON_LATIN1.map(lambda t: t.encode()),  # raw UTF-8 in the request line
)


def segment(draw: st.DrawFn, known: tuple[bytes, ...], raw: bool = False) -> bytes:
    """One path segment as sent: half the time a `known` value (a real slug or id), else
    one of them spoiled, or hostile bytes percent-encoded; with `raw`, also unencoded (a
    parser must then refuse the request). (The draw functions here take `draw` and use
    strategies built once: building them per example would cost more than the request.)"""
    choice = draw(st.integers(0, 7))
    if choice < 4:
        return draw(st.sampled_from(known))
    if choice == 4:
        value, extra = draw(st.sampled_from(known)), draw(_SPOILER)
        return extra + value if draw(st.booleans()) else value + extra
    if raw and choice == 5:
        return draw(_UNENCODED)
    return draw(_ENCODED)


_QUERY_NAMES = [
    b"limit", b"offset", b"cursor", b"status", b"profileId", b"caId", b"search",
    b"expiresWithinDays", b"sortBy", b"sortOrder", b"format", b"actor", b"targetId",
    b"targetType", b"metadata[team]", b"metadata[]", b"metadata[", b"%00", b"",
]  # fmt: skip
QUERY_VALUE = st.one_of(
    st.sampled_from([b"", b"0", b"1", b"-1", b"100", b"99999999999999999999", b"1e3",
                     b"%00", b"%C2%B2", b"%D9%A3", b"pem", b"der", b"active", b"revoked",
                     b"notAfter", b"desc", b"x" * 300, b"%FF%FE"]),
    SAFE_TEXT,
    st.binary(max_size=8).map(pct),
    NON_LATIN1.map(lambda t: pct(t.encode())),
)  # fmt: skip


_QUERY_PAIRS = st.lists(
    st.tuples(st.sampled_from(_QUERY_NAMES) | SAFE_TEXT, QUERY_VALUE), max_size=4
)


def query(draw: st.DrawFn) -> bytes:
    """ "" two times in three, else ?name=value&... with the names handlers read."""
    if draw(st.integers(0, 2)):
        return b""
    pairs = draw(_QUERY_PAIRS)
    return b"?" + b"&".join(name + b"=" + value for name, value in pairs)


_ODD_HOST = st.sampled_from(
    [b"", b"[", b"[::1]", b"[::1", b"a b", b"\xe9vil.test", "\u0431.test".encode(),
     b"127.0.0.1:99999999", b"127.0.0.1:abc", b"127.0.0.1:", b":80", b"user@127.0.0.1",
     b"host/path", b"host?q", b"host#f", b"x" * 5000, b"..", b"xn--", b"%00", b"*",
     b"localhost\\", b"[fe80::1%25eth0]:80", b"0x7f.1", b"999.999.999.999"]
) | SAFE_TEXT  # fmt: skip


def hosts(draw: st.DrawFn, good: bytes, raw: bool = False) -> list[bytes]:
    """Host header values (one, or with `raw` none or two); `good` is the server's own."""
    if not raw:
        return [good] if draw(st.integers(0, 2)) else [draw(_ODD_HOST)]
    count = draw(st.integers(0, 2))
    return [good if draw(st.booleans()) else draw(_ODD_HOST) for _ in range(count)]


KNOWN_HEADER_NAME = st.sampled_from(
    [b"Accept", b"Accept-Encoding", b"Accept-Language", b"Cookie", b"X-Forwarded-For",
     b"X-Forwarded-Proto", b"X-Forwarded-Host", b"Forwarded", b"X-Real-IP", b"Origin",
     b"Referer", b"User-Agent", b"If-None-Match", b"If-Modified-Since", b"Range",
     b"Upgrade", b"Expect", b"Content-Encoding", b"Authorization",
     b"X-Request-Id", b"Traceparent", b"Sec-WebSocket-Key", b"Sec-WebSocket-Version"]
)  # fmt: skip
_TCHAR = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
TOKEN = st.binary(min_size=1, max_size=16).map(lambda b: bytes(_TCHAR[c % len(_TCHAR)] for c in b))


def field_value(data: bytes) -> bytes:
    """`data` without the bytes RFC 9110 5.5 keeps out of a field value (CTLs but tab)."""
    return bytes(c for c in data if c == 0x09 or 0x20 <= c != 0x7F)


HEADER_VALUE = st.one_of(
    st.sampled_from(
        [b"", b"*/*", b"application/pem-certificate-chain", b"application/pkix-cert",
         b"gzip, br", b"1.2.3.4", b"::1, 127.0.0.1", b"unknown", b"999.1.1.1, x", b"[",
         b"https", b"ftp", b"%00", b"websocket", b"h2c", b"100-continue", b"bytes=0-1",
         b"bytes=-1", b"gzip", b"\xff\xfe", "\u043f\u0440\u0438".encode(), b"x" * 2000,
         b"for=\"[::1]\";proto=https", b"a\tb", b"a b ", b"\x80"]
    ),
    SAFE_TEXT,
    st.binary(max_size=16).map(field_value),
)  # fmt: skip
RAW_HEADER_VALUE = st.sampled_from([b"a\x01b", b"a\x7fb", b"\x00", b"x\ry", b"\x1b[31m"])
RAW_HEADER_NAME = st.sampled_from(
    [b"", b"Bad Name", b"(x)", b"\xff", b"X\x00", b"Content-Length", b"Transfer-Encoding",
     b"Host", b"Connection", b"Content-Type"]
)  # fmt: skip


_HEADERS = st.lists(st.tuples(KNOWN_HEADER_NAME | TOKEN, HEADER_VALUE), max_size=4)
_RAW_HEADERS = st.lists(
    st.tuples(KNOWN_HEADER_NAME | TOKEN | RAW_HEADER_NAME, HEADER_VALUE | RAW_HEADER_VALUE),
    max_size=4,
)


def extra_headers(draw: st.DrawFn, raw: bool = False) -> list[tuple[bytes, bytes]]:
    """Up to four more headers: valid syntax with odd values; with `raw`, also bytes a
    parser must refuse in names and values."""
    return draw(_RAW_HEADERS if raw else _HEADERS)


CONTENT_TYPES = st.sampled_from(
    [b"application/jose+json", b"application/json", b"application/jose+json; charset=utf-8",
     b"application/jose", b"text/plain", b"multipart/form-data; boundary=x",
     b"application/x-www-form-urlencoded", b"", b"application/jose+json\t", b"\xff",
     b"APPLICATION/JOSE+JSON", b"application/jose+json, application/json", b";;;", b"*/*"]
)  # fmt: skip
METHODS = st.sampled_from(
    [b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS", b"TRACE", b"CONNECT",
     b"PROPFIND", b"get", b"Post", b"BREW", b"X" * 200]
)  # fmt: skip
RAW_METHODS = st.sampled_from([b"G\x00T", b"GET ", b"", b"\xc3\xa9", b"GE(T"])
BODY_BYTES: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda v: json.dumps(v).encode(), KEYED_JSON),
    st.just(b"[" * 5000),
    st.just(b'{"a":' * 2000),
    st.just(b'"\\u0000"'),
    st.just(b"\xef\xbb\xbf{}"),  # a UTF-8 byte-order mark
)


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()


_BAD_LENGTHS = st.sampled_from([b"abc", b"-1", b"1e3", b"0x10", b"\xd9\xa3", b"", b"1 2", b"1,2"])
_KINDS = st.sampled_from(("length",) * 8 + ("short", "chunked"))
_RAW_KINDS = st.sampled_from(
    ("length", "none", "short", "long", "bad", "twice", "chunked", "badchunk")
)
_RAW_TE = st.sampled_from((b"chunked", b"Chunked", b"gzip, chunked", b"identity"))
_VERSIONS = st.sampled_from((b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1x", b""))


def framed(
    draw: st.DrawFn, body: bytes, bodyless: bool, raw: bool
) -> tuple[list[tuple[bytes, bytes]], bytes, bool]:
    """(framing headers, the bytes after the head, half_close) for `body`: a right
    Content-Length, a short one, chunks; with `raw`, also framing a parser must refuse or
    that announces more than is sent."""
    if bodyless and not body and draw(st.integers(0, 3)):
        return [], b"", False
    n = len(body)
    kind = draw(_RAW_KINDS if raw else _KINDS)
    if kind == "length":
        return [(b"Content-Length", str(n).encode())], body, False
    if kind == "none":
        return [], body, False
    if kind == "short":
        cut = draw(st.integers(0, max(0, n - 1)))
        return [(b"Content-Length", str(cut).encode())], body, False
    if kind == "long":
        more = draw(st.integers(1, 10_000))
        return [(b"Content-Length", str(n + more).encode())], body, True
    if kind == "bad":
        value = draw(_BAD_LENGTHS) if draw(st.integers(0, 8)) else b"+%d" % n
        return [(b"Content-Length", value)], body, False
    if kind == "twice":
        other = (n, n + 1, 0)[draw(st.integers(0, 2))] if n else 1
        lengths = [(b"Content-Length", str(n).encode()), (b"Content-Length", str(other).encode())]
        return lengths, body, other > n
    chunk = draw(st.integers(1, max(1, n)))
    parts = [body[i : i + chunk] for i in range(0, n, chunk)]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)
    te = b"chunked"
    if raw:
        te = draw(_RAW_TE)
    headers = [(b"Transfer-Encoding", te)]
    if kind == "chunked":
        if raw and draw(st.booleans()):  # both: RFC 9112 6.1 says Transfer-Encoding wins
            headers.append((b"Content-Length", str(n).encode()))
        return headers, chunks + b"0\r\n\r\n", te == b"identity"
    broken = [
        b"zz\r\n" + body + b"\r\n0\r\n\r\n", chunks, b"%x\r\n%s" % (n + 5, body),
        b"-1\r\n\r\n", b"ffffffffffffffffffff\r\n", chunks + b"0\r\nX-Trailer: \x01\r\n\r\n",
        b"1;ext=\x00\r\nx\r\n0\r\n\r\n",
    ]  # fmt: skip
    return headers, broken[draw(st.integers(0, len(broken) - 1))], True


def assemble(
    draw: st.DrawFn,
    method: bytes,
    target: bytes,
    host: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    raw: bool = False,
) -> RawRequest:
    """The request as bytes: request line, Host header, `headers`, framing and body,
    Connection: close (or keep-alive and a second, pipelined request). With `raw`, an HTTP
    version, line ending, framing or header line a parser must refuse, now and then."""
    version = b"HTTP/1.1"
    if raw:
        version = draw(_VERSIONS)
    line = method + b" " + target + (b" " + version if version else b"")
    framing, after, half_close = framed(draw, body, method in (b"GET", b"HEAD"), raw)
    lines = [line]
    lines += [b"Host: " + value for value in hosts(draw, host, raw)]
    lines += [name + b": " + value for name, value in headers]
    lines += [name + b": " + value for name, value in framing]
    odd = draw(st.integers(0, 9)) if raw else -1
    if odd == 0:
        lines.append(b" folded-continuation")  # obs-fold, refused by RFC 9112 5.2
    elif odd == 1:
        lines.append(b"No-Colon-Header")
    elif odd == 2:
        lines.append(b"Space-Before-Colon : x")
    elif odd == 3:
        lines.append(b"X-Big: " + b"b" * 70_000)
    elif odd == 4:
        lines += [b"X-Many-%d: x" % i for i in range(300)]
    pipelined = draw(st.integers(0, 9)) == 0
    lines.append(b"Connection: keep-alive" if pipelined else b"Connection: close")
    eol = b"\n" if raw and draw(st.integers(0, 9)) == 0 else b"\r\n"
    data = eol.join(lines) + eol + eol + after
    if pipelined and not half_close:
        data += b"GET /healthz HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
    return RawRequest(data, head=method == b"HEAD", half_close=half_close)
