"""The RFC 8555 layer: JWS, nonces, EAB, URLs, problem documents, identifiers, the ACME JSON
messages, the middleware and the handlers (parse -> service -> render)."""
