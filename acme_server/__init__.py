"""The Starlette application, ACME and REST interfaces, workers and the `kms` CLI."""
