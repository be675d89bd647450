"""Closed sets and value syntaxes shared by policy, ca_core, store and acme_server.

Imports nothing of this project, so every package may import it (see
tests/test_import_directions.py).

- `model`: the X.509 and inventory enums (KeyAlgorithm, SanType, RevocationReason,
  CertificateStatus, ...), with the values the REST API, the CLI and the database use.
- `durations`: the one grammar of TTLs written as text ("90d", "12h", "1y").
- `serials`: the one text form serial numbers are shown in, openssl's ("0E85DF...").
"""
