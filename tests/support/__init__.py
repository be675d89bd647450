"""Loopback servers for tests: an authoritative DNS server and an HTTP-01 responder."""
