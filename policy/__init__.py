"""Certificate policy: pure functions from request facts and a policy to a verdict.

No I/O, no clock, no randomness; the standard library, `pki_types` (the closed sets it shares
with ca_core and store: KeyAlgorithm, SanType, ...; stdlib only itself) and this package only.

- `rules`: `CertificatePolicy` and its JSON document (`policy_from_dict`, `policy_to_dict`).
- `facts`: `RequestFacts`, what a request asks for, as plain values.
- `evaluate`: `evaluate(facts, policy)` and `check_identifiers(identifiers, policy)` ->
  `Verdict` with every `Violation`.
- `names` (pattern syntax and matching), `subject`, `sans`, `usages`: the rules by concern.
- `messages`: every sentinel text and display name; `errors`: `PolicyError`.
"""
