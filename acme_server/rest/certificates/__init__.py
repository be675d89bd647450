"""The REST certificate endpoints under /api/v1/cert-manager, one module per concern:
issue (issuance, renewal), inventory (list, details, metadata, auto-renew, delete,
certificate requests), revoke, export (bundles, PKCS#12, a profile's latest bundle), crls;
bodies reads request input, render writes the JSON answers, schemas describes them for
openapi.py. Each route module exposes `routes()` (acme_server/rest/routes.py lists them)."""
