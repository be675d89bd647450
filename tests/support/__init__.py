"""Support only the tests use (a crashing server, a PostgreSQL cluster of their own, a webhook
receiver, weak keys, ...); what bench/ and conformance/ share with them is in testkit/."""
