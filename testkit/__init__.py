"""Support that tests/, bench/ and conformance/ share: an ACME client and its issuance flows, a
background event loop, the real app in-process and a `kms serve` subprocess runner, a DNS
server, HTTP-01 and TLS-ALPN-01 responders, and the test databases (SQLite, PostgreSQL).

It may import the packages of the project, never tests/, bench/ or conformance/."""
